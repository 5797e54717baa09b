/**
 * The names the command line shows before it loads the application (docs/adr/0014): the tool,
 * the standard attestation stages and the report frameworks and formats. Like every names.ts, it
 * holds constants only and imports nothing but other modules' names.ts.
 */
export { REPORT_FORMATS, REPORT_FRAMEWORKS } from "../compliance/names.js";

export const TOOL = { name: "cleanimg", version: "0.1.0" } as const;

/** The stages whose evidence has a standard predicate type. */
export const STANDARD_STAGES = ["provenance", "sbom", "scan", "vex"] as const;
export type StandardStage = (typeof STANDARD_STAGES)[number];
