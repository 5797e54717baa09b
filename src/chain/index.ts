export {
  AUDIT_EVENT_KIND,
  AUDIT_EVENT_MEDIA_TYPE,
  AUDIT_LOG,
  type AuditAction,
  type AuditEvent,
  type AuditProblem,
  type AuditVerification,
  actor,
  auditEvents,
  auditLogCut,
  recordAuditEvent,
  verifyAuditTrail,
} from "./audit.js";
export {
  type ImageAuditRecord,
  imageAuditEvents,
  imageAuditRecord,
} from "./audit-index.js";
export {
  type AssessmentGap,
  type AuditSummary,
  AuditWatcher,
  auditSummary,
} from "./audit-summary.js";
export { basisHolds, type EvidenceBasis, evidenceBasis, unchangedBetween } from "./basis.js";
export type {
  ChainContext,
  ChainSettings,
} from "./context.js";
export {
  type ExpectedChain,
  expectedChain,
  indexDiscrepancy,
} from "./expected.js";
export {
  identities,
  type LogIdentity,
  type SigningIdentity,
  trustedKeys,
  trustedLogs,
} from "./keys.js";
export {
  ATTESTATION_KIND,
  type ChainLinkPredicate,
  indexedPrevious,
  latestLink,
  linkAnnotations,
  linkInEffect,
  type RecordedLink,
  recordChainLink,
  STAGES,
  type Stage,
  staleInIndex,
} from "./links.js";
export { signStatement } from "./sign.js";
export {
  appendToTransparencyLog,
  BUNDLE_MEDIA_TYPE,
  logDsseBody,
  readTransparencyLog,
  TLOG,
  type TransparencyLogVerification,
  transparencyLogGap,
  verifyTransparencyLog,
} from "./tlog.js";
export {
  type EvidenceTrust,
  evidenceTrust,
  identityList,
  verifyEvidence,
} from "./trust.js";
export {
  type ChainReport,
  type LinkReport,
  type LinkState,
  verifiedStageLinks,
  verifyChain,
} from "./verify.js";
export {
  raiseWitness,
  readWitness,
  type WitnessKind,
  witnessDir,
} from "./witness.js";
