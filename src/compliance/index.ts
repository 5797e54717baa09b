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
export { kevDueBy, type RemediationDeadline, remediationDeadline } from "./deadlines.js";
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
export {
  builtinFramework,
  controlLabel,
  type Framework,
  nistControlTitle,
  parseFramework,
  REPORT_FRAMEWORKS,
} from "./frameworks.js";
export {
  type ComplianceReport,
  type ControlResult,
  type ControlStatus,
  type EvidenceItem,
  type EvidenceSummary,
  type EvidenceType,
  MAPPINGS,
  type Mapping,
  type ReportCheck,
  type ReportCheckId,
  type RiskItem,
} from "./mapping.js";
export { policyInputOf } from "./policy-input.js";
export {
  REPORT_FORMATS,
  REPORT_RENDERERS,
  type ReportRenderer,
  renderOscalAssessmentResults,
  renderOscalPoam,
  renderReportHtml,
  renderReportJson,
  renderReportMarkdown,
} from "./render/index.js";
export { buildReport } from "./report.js";
export { type FailOn, findingsAtOrAbove, parseSeverity, SEVERITIES } from "./severity.js";
export { type VulnerabilityView, vulnerabilityView } from "./vulnerabilities.js";
