/**
 * The names `report` takes, without the code behind them, so the command line can show them in
 * its help before it loads anything (docs/adr/0014). frameworks.ts and render/index.ts are typed
 * against these lists: a framework or format without its entry here does not compile.
 */

/** Frameworks with a shipped OSCAL baseline. */
export const BASELINE_FRAMEWORKS = [
  "fedramp-high",
  "fedramp-moderate",
  "fedramp-low",
  "nist-800-53",
  "nist-800-53-moderate",
  "nist-800-53-low",
] as const;
export type BaselineFramework = (typeof BASELINE_FRAMEWORKS)[number];

/** Every framework `report` takes by name (an imported catalog is taken by its id as well). */
export const REPORT_FRAMEWORKS: readonly string[] = [
  ...BASELINE_FRAMEWORKS,
  "ssdf",
  "eu-cra",
  "iso27001",
  "soc2",
];

/** Every report output format, in the order help and errors list them. */
export const REPORT_FORMATS = ["json", "oscal-ar", "oscal-poam", "html", "md"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
