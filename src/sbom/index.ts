export {
  CATALOGERS,
  type CatalogOptions,
  catalogFilesystem,
  catalogInterest,
  catalogReduce,
  catalogSniffers,
} from "./catalog.js";
export type { CatalogContext, Cataloger, CatalogResult } from "./cataloger.js";
export { DEBIAN_BUILT_USING, parseDep5Licenses } from "./catalogers/debian/index.js";
export {
  type GoBuildInfo,
  type GoModFile,
  parseGoBuildInfo,
  parseGoMod,
  parseModInfo,
} from "./catalogers/golang/index.js";
export { parseOsRelease } from "./catalogers/os-release.js";
export { normalizePypiName, parseCoreMetadata } from "./catalogers/python/index.js";
export { type CatalogerCase, describeCatalogerContract, EMPTY_RESOLVER } from "./contract.js";
export {
  type ClosureFilesystem,
  ELF_DYNAMIC_SNIFFER,
  type ElfDynamic,
  ESCAPE_SYMBOLS,
  type ExecutionClosure,
  executionClosure,
  parseElfDynamic,
} from "./elf.js";
export { imagePurl } from "./formats/common.js";
export {
  CYCLONEDX_1_5,
  CYCLONEDX_1_6,
  CYCLONEDX_1_7,
  type CycloneDxSpec,
  renderCycloneDx,
} from "./formats/cyclonedx.js";
export { renderSpdx3, SPDX3_CONTEXT } from "./formats/spdx3.js";
export { renderSpdx23 } from "./formats/spdx23.js";
export { normalizeLicenses } from "./license.js";
export type {
  BuildInfo,
  Checksum,
  Distro,
  Location,
  Package,
  Relationship,
  RelationshipType,
  RuntimeContext,
  Sbom,
  SbomSubject,
} from "./model.js";
export { checkNtiaMinimumElements, type NtiaIssue } from "./ntia.js";
export { type ImportedFormat, type ReadResult, readSbom } from "./read/index.js";
export {
  renderSbom,
  SBOM_FORMAT_ALIASES,
  SBOM_FORMATS,
  type SbomFormat,
  sbomMediaType,
} from "./render.js";
