export {
  type AssembledImage,
  assembleImage,
  diffFiles,
  type FileRecord,
  type LockedPackage,
} from "./assemble.js";
export {
  type ArchiveIndex,
  cachedReleaseFields,
  type DebPackage,
  fetchBytes,
  loadArchiveIndex,
  parseStanzas,
  type ReleaseFields,
} from "./debian.js";
export {
  BASE_FILES,
  OS_RELEASE_PATH,
  type OsReleaseSource,
  osReleaseFromRelease,
} from "./os-release.js";
export { parseRelations, resolvePackages } from "./resolve.js";
export {
  type BuildSpec,
  DEFAULT_ARCHIVE,
  parseSpec,
  type SpecFile,
  type SpecPackage,
} from "./spec.js";
