export { keySigner, loadPrivateKey, loadPublicKey } from "../attest/index.js";
export { parsePlatform, writeFileAtomic } from "../oci/index.js";
export {
  renderVex,
  VEX_FORMATS,
  type VexFormat,
  type VexStatement,
} from "../vex/index.js";
export { renderCycloneDxVulnerabilities, renderSarif } from "../vuln/index.js";
export {
  type AppContext,
  type AppContextOptions,
  createAppContext,
  type ProgressFn,
  resolveHome,
} from "./context.js";
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
  listLocalImages,
  removeLocalImage,
  tagLocalImage,
} from "./images.js";
export { parseKeyType, verifyBundleFile, writeKeyPair } from "./keys.js";
export { generateSbom, parseSbomFormat, type SbomOptions, type SbomResult, TOOL } from "./sbom.js";
export {
  findingsAtOrAbove,
  parseSeverity,
  SCAN_MEDIA_TYPE,
  type ScanResult,
  SEVERITIES,
  scan,
  VEX_AUTHOR,
} from "./scan.js";
export { compareBatchLine, compareVersionStrings } from "./versions.js";
export { addVexDecision, VEX_DECISION_KIND, type VexDecision } from "./vex.js";
export {
  exportVulnDb,
  importVulnData,
  openVulnDb,
  untarMembers,
  VULNDB_BUNDLE_TYPE,
  vulnDbStatus,
} from "./vulndb.js";
