export {
  ANALYSES,
  type AnalyzeOptions,
  analyzeFindings,
  componentNotPresent,
  goSymbolsAbsent,
  kernelHeadersOnly,
} from "./analyze.js";
export { applyVex } from "./apply.js";
export {
  evidenceNote,
  renderCsafVex,
  renderCycloneDxVex,
  renderOpenVex,
  renderVex,
  VEX_FORMATS,
  type VexDocumentOptions,
  type VexFormat,
} from "./formats.js";
export * from "./model.js";
export { type ReadStatement, readVex, type VexDocument } from "./read.js";
