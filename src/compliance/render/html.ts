import { controlLabel } from "../frameworks.js";
import type { ComplianceReport } from "../mapping.js";

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** One self-contained HTML page an assessor can read offline: summary, charts, controls, findings, evidence. */
export function renderReportHtml(r: ComplianceReport): string {
  const bar = (parts: { label: string; n: number; color: string }[], total: number): string => {
    let x = 0;
    const w = 600;
    const rects = parts
      .map((p) => {
        const width = total ? (p.n / total) * w : 0;
        const rect = `<rect x="${x.toFixed(1)}" y="0" width="${width.toFixed(1)}" height="28" fill="${p.color}"><title>${esc(p.label)}: ${p.n}</title></rect>`;
        x += width;
        return rect;
      })
      .join("");
    const legend = parts
      .map(
        (p) =>
          `<span class="key"><i style="background:${p.color}"></i>${esc(p.label)} ${p.n}</span>`,
      )
      .join(" ");
    return `<svg width="${w}" height="28" role="img" aria-label="${esc(parts.map((p) => `${p.label} ${p.n}`).join(", "))}">${rects}</svg><div>${legend}</div>`;
  };
  const sev = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"];
  const colors: Record<string, string> = {
    CRITICAL: "#7b1fa2",
    HIGH: "#c62828",
    MEDIUM: "#ef6c00",
    LOW: "#f9a825",
    UNKNOWN: "#9e9e9e",
  };
  const digests = [
    ...new Set(
      r.controls.flatMap((c) => c.evidence.flatMap((e) => e.digests.map((d) => `${e.type} ${d}`))),
    ),
  ].sort();
  const automated = r.controls.filter((c) => c.status !== "requires organizational evidence");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.framework.name)}: ${esc(r.image.reference)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555} .summary{background:#f3f6fa;border-left:4px solid #1565c0;padding:.8rem 1rem;margin:1rem 0}
table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#fafafa} code{font-size:12px;word-break:break-all} .key{margin-right:1rem;white-space:nowrap}
.key i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
.s-satisfied{color:#2e7d32;font-weight:600} .s-partial{color:#ef6c00;font-weight:600}
</style></head><body>
<h1>${esc(r.framework.name)}</h1>
<div class="meta">Image <b>${esc(r.image.reference)}</b> <code>${esc(r.image.digest)}</code> · generated ${esc(r.generated)}${r.dbSnapshot ? ` · vulnerability data <code>${esc(r.dbSnapshot)}</code>` : ""}</div>
<p class="summary">${esc(r.summary.text)}</p>
<h2>Control posture (${r.framework.controls} controls)</h2>
${bar(
  [
    { label: "satisfied (scoped)", n: r.summary.satisfiedScoped, color: "#2e7d32" },
    { label: "partial", n: r.summary.partial, color: "#ef6c00" },
    { label: "requires organizational evidence", n: r.summary.organizational, color: "#b0bec5" },
  ],
  r.framework.controls,
)}
<h2>Findings by severity (${r.riskAssessment.length}; ${r.remediation.length} open)</h2>
${bar(
  sev.map((s) => ({
    label: s.toLowerCase(),
    n: r.riskAssessment.filter((x) => x.severity === s).length,
    color: colors[s] as string,
  })),
  r.riskAssessment.length,
)}
<h2>Controls with automated evidence (${automated.length})</h2>
<table><thead><tr><th>Control</th><th>Title</th><th>Status</th><th>Evidence</th><th>Note</th></tr></thead><tbody>
${automated
  .map(
    (c) =>
      `<tr><td>${esc(controlLabel(c.id))}</td><td>${esc(c.title)}</td><td class="${c.status === "partial" ? "s-partial" : "s-satisfied"}">${esc(c.status)}</td><td>${c.evidence
        .map(
          (e) =>
            `${e.type} ${e.digests.map((d) => `<a href="#${esc(d)}"><code>${esc(d.slice(7, 19))}</code></a>`).join(" ")}`,
        )
        .join("<br>")}</td><td>${esc(c.note)}</td></tr>`,
  )
  .join("\n")}
</tbody></table>
<p>${r.summary.organizational} further controls require organizational evidence.</p>
<h2>Checks run by this report (${r.checks.length})</h2>
<table><thead><tr><th>Check</th><th>Verified</th><th>Result</th><th>Detail</th><th>Evidence</th></tr></thead><tbody>
${r.checks
  .map(
    (k) =>
      `<tr><td>${esc(k.id)}</td><td>${esc(k.verified)}</td><td class="${k.result === "PASS" ? "s-satisfied" : "s-partial"}">${esc(k.result)}</td><td>${esc(k.detail)}</td><td>${k.evidence.map((d) => `<code>${esc(d)}</code>`).join("<br>")}</td></tr>`,
  )
  .join("\n")}
</tbody></table>
<h2>Vulnerability risk assessment and remediation</h2>
<table><thead><tr><th>Finding</th><th>Package</th><th>Severity</th><th>VEX status</th><th>First detected</th><th>Due (FedRAMP)</th></tr></thead><tbody>
${r.riskAssessment
  .map((x) => {
    const open = r.remediation.find((y) => y.id === x.id && y.package === x.package);
    return `<tr><td>${esc(x.id)}</td><td>${esc(x.package)} ${esc(x.version)}</td><td>${esc(x.severity)}</td><td>${esc(x.status)}${x.justification ? ` (${esc(x.justification)})` : ""}</td><td>${esc(x.firstDetected)}</td><td>${open ? esc(open.dueBy) : "-"}</td></tr>`;
  })
  .join("\n")}
</tbody></table>
<h2>Evidence</h2>
<p>Content-addressed records in the evidence store; each can be fetched, re-hashed and its signature verified.</p>
<ul>${digests
    .map((t) => {
      const [type, d] = t.split(" ") as [string, string];
      return `<li id="${esc(d)}">${esc(type)} <code>${esc(d)}</code></li>`;
    })
    .join("")}</ul>
</body></html>
`;
}
