export {
  BASE_DIGEST,
  baseImageCheck,
  chainCheck,
  complianceChecks,
  evidenceSignaturesCheck,
  imageSignatureCheck,
  sbomCheck,
  slsaBuildLevelCheck,
  vulnerabilityChecks,
} from "./checks.js";
export {
  type BuildProperties,
  type BuildProperty,
  type CheckResult,
  type ComplianceCheck,
  type EvidenceBundle,
  ev,
  linkOf,
  notUsable,
  type RemediationEvidence,
  type ScanDocument,
  type SignatureEvidence,
  type SignedBase,
  SPDX_3,
  sbomFormat,
  usable,
} from "./evidence.js";
export { fedrampReadyCheck, type Si2Condition } from "./fedramp.js";
export { policyInputOf } from "./policy-input.js";
export { type FailOn, findingsAtOrAbove, parseSeverity, SEVERITIES } from "./severity.js";
export { type VulnerabilityView, vulnerabilityView } from "./vulnerabilities.js";
