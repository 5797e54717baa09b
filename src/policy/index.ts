export {
  DEFAULT_POLICY,
  evaluatePolicy,
  type Policy,
  type PolicyDecision,
  type PolicyRule,
  parsePolicy,
  type RuleResult,
} from "./policy.js";
