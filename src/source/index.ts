export { type ExportResult, exportFilesystem } from "./export.js";
export {
  type CachedLayer,
  type FileNode,
  ImageFilesystem,
  type LayerCache,
  type LayerEntry,
  type OpenOptions,
  readLayerEntries,
  type Sniffer,
  sniffSink,
} from "./image-fs.js";
export { normalizeEntryPath, resolveLinkTarget } from "./paths.js";
export { DirectoryResolver, type FileResolver, ImageResolver } from "./resolver.js";
