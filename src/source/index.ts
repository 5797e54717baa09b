export { type ExportResult, exportFilesystem } from "./export.js";
export { type FileNode, ImageFilesystem, type LayerEntry, readLayerEntries } from "./image-fs.js";
export { normalizeEntryPath, resolveLinkTarget } from "./paths.js";
