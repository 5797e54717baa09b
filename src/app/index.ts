export { keySigner, loadPrivateKey, loadPublicKey } from "../attest/index.js";
export {
  ATTESTATION_KIND,
  AUDIT_LOG,
  type AuditEvent,
  type AuditSummary,
  type AuditVerification,
  actor,
  appendToTransparencyLog,
  auditEvents,
  auditSummary,
  BUNDLE_MEDIA_TYPE,
  type ChainLinkPredicate,
  type ChainReport,
  type EvidenceTrust,
  evidenceTrust,
  identities,
  imageAuditEvents,
  type LinkReport,
  type LinkState,
  type LogIdentity,
  latestLink,
  type RecordedLink,
  readTransparencyLog,
  recordAuditEvent,
  recordChainLink,
  type SigningIdentity,
  STAGES,
  type Stage,
  signStatement,
  TLOG,
  type TransparencyLogVerification,
  trustedKeys,
  trustedLogs,
  verifyAuditTrail,
  verifyChain,
  verifyEvidence,
  verifyTransparencyLog,
} from "../chain/index.js";
export {
  controlLabel,
  type FailOn,
  findingsAtOrAbove,
  parseSeverity,
  REPORT_FORMATS,
  REPORT_FRAMEWORKS,
  REPORT_RENDERERS,
  SEVERITIES,
} from "../compliance/index.js";
export { parsePlatform, writeFileAtomic } from "../oci/index.js";
export { evaluatePolicy, type Policy, type PolicyDecision } from "../policy/index.js";
export {
  findingKey,
  keyOfFinding,
  keyOfStatement,
  renderVex,
  VEX_FORMATS,
  type VexFormat,
  type VexStatement,
} from "../vex/index.js";
export type { FeedFamily } from "../vuln/index.js";
export {
  freshnessText,
  parseDuration,
  renderCycloneDxVulnerabilities,
  renderSarif,
} from "../vuln/index.js";
export {
  ADMISSION_KINDS,
  AdmissionController,
  type AdmissionReviewResponse,
  admissionSettings,
  type ImageVerdict,
  pinnedDigest,
  workloadImages,
} from "./admission.js";
export {
  deriveStandardAttestation,
  OPENVEX_PREDICATE,
  STANDARD_ATTESTATION_KIND,
  STANDARD_STAGES,
  type StandardAttestation,
  type StandardStage,
  VULNS_PREDICATE,
  vulnsPredicate,
} from "./attestations.js";
export {
  BUILD_TYPE,
  BUILDER_ID,
  type BuildLock,
  type BuildOptions,
  type BuildResult,
  buildImage,
  REPRODUCIBLE_PREDICATE,
  SLSA_PROVENANCE_V1,
} from "./build.js";
export { importCatalog, resolveFramework } from "./catalog.js";
export { type CleanimgConfig, loadConfig } from "./config.js";
export {
  type AppContext,
  type AppContextOptions,
  createAppContext,
  type ProgressFn,
  resolveHome,
} from "./context.js";
export { DEPLOYMENT_MEDIA_TYPE, recordDeployment } from "./deploy.js";
export {
  type EvidenceExport,
  type EvidenceItem,
  exportEvidence,
  itemsOf,
  pushEvidence,
} from "./distribute.js";
export {
  discoverEvidence,
  type ImportResult,
  importEvidence,
  pullEvidence,
} from "./evidence-import.js";
export {
  copyImageBetween,
  exportImage,
  FILE_INVENTORY_MEDIA_TYPE,
  type FileListing,
  fileRecord,
  type ImageInspection,
  type ImageOptions,
  inspectImage,
  listEvidence,
  listImageFiles,
  resolveSubject,
} from "./images.js";
export {
  INTOTO_VERIFICATION_KIND,
  intotoRecordStart,
  intotoRecordStop,
  intotoRun,
  intotoSign,
  intotoVerify,
  loadPublicKeys as loadInTotoPublicKeys,
  loadSigner as loadInTotoSigner,
  type RunOptions as InTotoRunOptions,
  recordInTotoVerification,
  VSA_PREDICATE,
} from "./intoto.js";
export { createLayoutFile, layoutFromYaml } from "./intoto-layout.js";
export {
  parseKeyType,
  type SignBundleOptions,
  signBundleFile,
  TRUSTED_PEOPLE_DIR,
  trustedPersonKeys,
  trustPersonKey,
  verifyBundleFile,
  writeKeyPair,
} from "./keys.js";
export { listLocalImages, removeLocalImage, tagLocalImage } from "./local-images.js";
export {
  evaluateImagePolicy,
  loadPolicy,
  POLICY_DECISION_MEDIA_TYPE,
  type PolicyEvaluation,
  policyInput,
} from "./policy.js";
export { type ProvenanceVerification, verifyProvenanceFile } from "./provenance.js";
export { complianceReport, evidenceSummary, REPORT_MEDIA_TYPE } from "./report.js";
export { generateSbom, parseSbomFormat, type SbomOptions, type SbomResult, TOOL } from "./sbom.js";
export {
  MAX_DB_AGE_LIMIT_DAYS,
  parseMaxDbAge,
  SCAN_MEDIA_TYPE,
  type ScanResult,
  scan,
  VEX_AUTHOR,
} from "./scan.js";
export {
  ChainCache,
  type CheckResult,
  type ComplianceCheck,
  type ComplianceStatus,
  complianceStatus,
  type FleetRow,
  fleetStatus,
  type PostureDay,
  postureOverTime,
} from "./status.js";
export { type StoreHealth, type StorePart, storeHealth } from "./store-health.js";
export {
  createToken,
  listTokens,
  ROLES,
  type Role,
  revokeToken,
  roleAllows,
  TokenAuthority,
  type TokenRecord,
} from "./tokens.js";
export { compareBatchLine, compareVersionStrings } from "./versions.js";
export {
  addVexDecision,
  checkVexDecision,
  type DecisionKey,
  type DecisionTrust,
  decisionTrust,
  VEX_DECISION_KIND,
  VEX_DECISION_PREDICATE,
  type VexDecision,
  verifiedVexDecisions,
} from "./vex.js";
export {
  exportVulnDb,
  importVulnData,
  isExportBundle,
  openVulnDb,
  signedVulnDbExport,
  untarMembers,
  VULNDB_BUNDLE_TYPE,
  vulnDbStatus,
} from "./vulndb.js";
export { pullVulnDb, pushVulnDb, VULNDB_ARTIFACT_TYPE } from "./vulndb-oci.js";
export {
  type FeedOutcome,
  type UpdateOptions,
  type UpdateResult,
  updateVulnDb,
} from "./vulndb-update.js";
