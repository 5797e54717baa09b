import type { ComplianceReport } from "../mapping.js";
import { REPORT_FORMATS, type ReportFormat } from "../names.js";
import { renderReportHtml } from "./html.js";
import { renderReportJson } from "./json.js";
import { renderReportMarkdown } from "./markdown.js";
import { renderOscalAssessmentResults } from "./oscal-ar.js";
import { renderOscalPoam } from "./poam.js";

export {
  renderOscalAssessmentResults,
  renderOscalPoam,
  renderReportHtml,
  renderReportJson,
  renderReportMarkdown,
};

/** A report renderer: the report and the tool that made it (named in OSCAL metadata) to text. */
export type ReportRenderer = (r: ComplianceReport, tool: string) => string;

/** Every report output format, by the name `report --format` takes. A new format is one line. */
export const REPORT_RENDERERS: Readonly<Record<ReportFormat, ReportRenderer>> = {
  json: renderReportJson,
  "oscal-ar": renderOscalAssessmentResults,
  "oscal-poam": renderOscalPoam,
  html: renderReportHtml,
  md: renderReportMarkdown,
};

export { REPORT_FORMATS };
