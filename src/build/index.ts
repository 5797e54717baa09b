export {
  type AssembledImage,
  assembleImage,
  diffFiles,
  type FileRecord,
  type LockedPackage,
} from "./assemble.js";
export {
  type ArchiveIndex,
  type DebPackage,
  loadArchiveIndex,
  parseRelations,
  parseStanzas,
  resolvePackages,
} from "./debian.js";
export {
  type BuildSpec,
  DEFAULT_ARCHIVE,
  parseSpec,
  type SpecFile,
  type SpecPackage,
} from "./spec.js";
