import type { LinkReport } from "../chain/index.js";
import type { VexStatement } from "../vex/index.js";
import type { Finding } from "../vuln/index.js";
import { type EvidenceBundle, linkOf, usable } from "./evidence.js";

/** The verified scan and VEX of an image, as the vulnerability checks read them. */
export interface VulnerabilityView {
  readonly scan: LinkReport;
  readonly vex: LinkReport;
  /** The verified scan's findings (undefined when the scan link does not verify). */
  readonly findings?: readonly Finding[];
  /** The verified VEX statements (undefined when the VEX link does not verify). */
  readonly statements?: readonly VexStatement[];
  readonly unassessed: readonly { readonly ecosystem: string; readonly packages: number }[];
  readonly notAssessed: number;
  /** The scan's data age and the distribution's end of life, shown beside the vulnerability lines. */
  readonly dataNote?: string;
}

export function vulnerabilityView(b: EvidenceBundle): VulnerabilityView {
  const scan = linkOf(b, "scan");
  const vex = linkOf(b, "vex");
  const scanDoc = usable(scan) ? b.scan : undefined;
  const vexDoc = usable(vex) ? b.vex : undefined;
  const f = scanDoc?.dataFreshness;
  const now = f?.built
    ? Math.max(0, Math.floor((b.now.getTime() - Date.parse(f.built)) / 86_400_000))
    : undefined;
  const eol = scanDoc?.distroSupport;
  const notes = [
    ...(f
      ? [
          f.built
            ? `vulnerability data built ${f.built}: ${now} days old now, ${f.ageDays} at the scan${f.stale ? ` (over the maximum ${f.maxAgeDays} days)` : ""}`
            : "vulnerability data age unknown (no record dates)",
        ]
      : []),
    ...(eol && eol.state !== "supported" ? [eol.detail] : []),
  ];
  const unassessed = scanDoc?.unassessed ?? [];
  return {
    scan,
    vex,
    ...(scanDoc ? { findings: scanDoc.findings } : {}),
    ...(vexDoc ? { statements: vexDoc.statements } : {}),
    unassessed,
    notAssessed: unassessed.reduce((n, u) => n + u.packages, 0),
    ...(notes.length ? { dataNote: notes.join("; ") } : {}),
  };
}
