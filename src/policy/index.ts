export { describePolicyEngineContract, type PolicyEngineCase } from "./contract.js";
export {
  celEngine,
  celPolicy,
  defaultPolicy,
  type LoadedPolicy,
  loadCelPolicy,
  loadPolicyFile,
  type PolicyEngine,
  regoEngine,
} from "./engine.js";
export {
  DEFAULT_POLICY,
  evaluatePolicy,
  type Policy,
  type PolicyDecision,
  type PolicyRule,
  parsePolicy,
  type RuleResult,
} from "./policy.js";
