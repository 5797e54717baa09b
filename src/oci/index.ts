export {
  OciArchiveDestination,
  openOciArchive,
} from "./archive.js";
export { decompressLayer } from "./compress.js";
export {
  describeImageSourceContract,
  type ImageSourceCase,
  type Validated,
  validateImageSource,
} from "./contract.js";
export { type CopyOptions, type CopyResult, copyImage } from "./copy.js";
export { DockerArchiveDestination, DockerArchiveSource } from "./docker-archive.js";
export { EMPTY_DESCRIPTOR, EMPTY_JSON, streamOf } from "./empty.js";
export { DirectoryFiles, type FileAccess, TarFiles } from "./files.js";
export {
  fetchParsed,
  type ResolvedImage,
  type ResolvedLayer,
  type ResolveOptions,
  resolveImage,
} from "./image.js";
export {
  blobPath,
  LayoutDestination,
  LayoutSource,
  REF_NAME_ANNOTATION,
  readLayoutIndex,
  writeFileAtomic,
} from "./layout.js";
export { type LocalImage, LocalImageStore } from "./local-store.js";
export {
  type ImageLocation,
  type OpenContext,
  openDestination,
  openSource,
  parseImageLocation,
} from "./location.js";
export {
  type Compression,
  isIndexMediaType,
  isManifestMediaType,
  layerCompression,
  MediaType,
} from "./media-types.js";
export {
  familiarImageRef,
  formatImageRef,
  type ImageRef,
  isLoopbackHost,
  parseImageRef,
  repositoryName,
} from "./ref.js";
export {
  type Challenge,
  type CredentialLookup,
  type Credentials,
  dockerConfigCredentials,
  dockerConfigPath,
  parseChallenge,
} from "./registry/auth.js";
export {
  RegistryClient,
  RegistryDestination,
  type RegistryOptions,
  RegistrySource,
  referrersTag,
} from "./registry/client.js";
export {
  parsePax,
  readTar,
  type TarBodySink,
  type TarEntry,
  type TarEntryType,
} from "./tar.js";
export {
  encodeTarHeader,
  TAR_END,
  type TarEntryInput,
  TarWriter,
  tarPadding,
} from "./tar-write.js";
export type { ImageDestination, ImageSource } from "./transport.js";
export {
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type ParsedManifest,
  type Platform,
  parseDescriptor,
  parseImageConfig,
  parseManifest,
  parsePlatform,
} from "./types.js";
