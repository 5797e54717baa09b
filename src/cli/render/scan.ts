import type { ScanResult } from "../../app/index.js";
import { app } from "../commands/app.js";

/** The scan result as JSON and as `scan --json` prints it. */
export function scanDocument(ref: string, r: ScanResult): Record<string, unknown> {
  return {
    image: ref,
    dbSnapshot: r.snapshot,
    packages: r.sbom.packages.length,
    packagesMatched: r.packagesMatched,
    unassessed: r.unassessed,
    dataFreshness: r.freshness,
    ...(r.distroSupport ? { distroSupport: r.distroSupport } : {}),
    findings: r.findings,
    vex: r.vex,
    issues: r.issues,
    ...(r.evidence ? { evidence: r.evidence } : {}),
    ...(r.vexEvidence ? { vexEvidence: r.vexEvidence } : {}),
  };
}

/**
 * The scan's findings as Grype prints them: one row per finding with its VEX status, severity,
 * package, installed and fixed versions, id, the KEV due date when the catalog lists one of the
 * findings, and the title; then the count and what could not be assessed.
 */
export function scanTable(r: ScanResult, vexNote: string): string {
  const gaps = r.unassessed.length
    ? `; not assessed, no data: ${r.unassessed.map((u) => `${u.packages} ${u.ecosystem}`).join(", ")}`
    : "";
  if (r.findings.length === 0) {
    return [
      `no known vulnerabilities in the ${r.packagesMatched} packages assessed${gaps} (database snapshot ${r.snapshot})`,
      vexNote,
    ]
      .filter(Boolean)
      .join("\n");
  }
  const vexOf = new Map(r.vex.map((v) => [app().keyOfStatement(v), v]));
  // the KEV column only when the catalog lists one of the findings
  const kev = r.findings.some((f) => f.knownExploited);
  const rows = r.findings.map((f) => [
    vexOf.get(app().keyOfFinding(f))?.status ?? "-",
    f.rating?.severity ?? "UNKNOWN",
    f.package.name,
    f.package.version,
    f.fixedIn ?? (f.distroStatus ? `(${f.distroStatus})` : "-"),
    f.id,
    ...(kev ? [f.knownExploited ? `due ${f.knownExploited.dueDate}` : "-"] : []),
    (f.summary ?? f.aliases.join(" ")).slice(0, 60),
  ]);
  const header = [
    "VEX",
    "SEVERITY",
    "PACKAGE",
    "INSTALLED",
    "FIXED IN",
    "ID",
    ...(kev ? ["KNOWN EXPLOITED"] : []),
    "TITLE",
  ];
  const widths = header.map((h, i) =>
    Math.min(40, Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length))),
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  return [
    line(header),
    ...rows.map(line),
    "",
    `${r.findings.length} findings in the ${r.packagesMatched} packages assessed${gaps} (database snapshot ${r.snapshot})`,
    ...(vexNote ? [vexNote] : []),
  ].join("\n");
}
