// The public library API: use cases, domain types and error classes.
export {
  type AppContext,
  type AppContextOptions,
  copyImageBetween,
  createAppContext,
  exportImage,
  FILE_INVENTORY_MEDIA_TYPE,
  type FileListing,
  type ImageInspection,
  type ImageOptions,
  inspectImage,
  listEvidence,
  listImageFiles,
  listLocalImages,
  parsePlatform,
  removeLocalImage,
  tagLocalImage,
} from "./app/index.js";
export { type Digest, parseDigest, sha256 } from "./core/digest.js";
export {
  type ErrorCode,
  isToolError,
  OciError,
  SourceError,
  StoreError,
  ToolError,
  UsageError,
} from "./core/errors.js";
export type { Issue } from "./core/issues.js";
export {
  copyImage,
  type Descriptor,
  type ImageDestination,
  type ImageRef,
  type ImageSource,
  openDestination,
  openSource,
  parseImageLocation,
  parseImageRef,
  type ResolvedImage,
  resolveImage,
} from "./oci/index.js";
export { exportFilesystem, type FileNode, ImageFilesystem } from "./source/index.js";
export {
  type EvidenceLink,
  type EvidenceQuery,
  type EvidenceStore,
  MemoryEvidenceStore,
  SqliteEvidenceStore,
} from "./store/index.js";
