import type { Issue } from "../core/issues.js";
import type { VexStatement, VexStatus } from "./model.js";
import type { ReadStatement } from "./read.js";

/** A purl without qualifiers and subpath, digest colons decoded, for comparison. */
function normPurl(p: string): string {
  return decodeURIComponent(p.split(/[?#]/)[0] ?? p).toLowerCase();
}

function withoutVersion(p: string): string {
  const at = p.lastIndexOf("@");
  return at > p.indexOf("/") ? p.slice(0, at) : p;
}

function purlMatches(stated: string, actual: string): boolean {
  const a = normPurl(actual);
  const s = normPurl(stated);
  // a versionless purl in a statement covers every version of the package
  return s === a || (!s.slice(s.indexOf("/")).includes("@") && s === withoutVersion(a));
}

function productMatches(r: ReadStatement, s: VexStatement): "image" | "package" | undefined {
  for (const p of r.products) {
    if (p === s.product.digest || purlMatches(p, s.product.purl)) {
      return "image";
    }
    if (p.startsWith("pkg:oci/") && normPurl(p).split("@")[1] === s.product.digest) {
      return "image";
    }
    if (purlMatches(p, s.subcomponent.purl)) {
      return "package"; // a statement about the package itself (as Trivy reads them)
    }
  }
  return undefined;
}

function applies(r: ReadStatement, s: VexStatement): boolean {
  const ids = new Set([s.vulnerability, ...s.aliases]);
  if (!ids.has(r.vulnerability) && !r.aliases.some((a) => a === s.vulnerability)) {
    return false;
  }
  const on = productMatches(r, s);
  if (!on) {
    return false;
  }
  return (
    on === "package" ||
    r.subcomponents.length === 0 ||
    r.subcomponents.some((c) => purlMatches(c, s.subcomponent.purl))
  );
}

/** When documents disagree at the same time, the statement that claims least wins. */
const CAUTION: readonly VexStatus[] = ["affected", "under_investigation", "fixed", "not_affected"];

/**
 * Applies statements read from VEX documents to the automatic ones: per finding, the newest
 * matching statement (by timestamp, as OpenVEX orders them) replaces the automatic one. Documents
 * that disagree at the same time are reported and the most cautious status is kept. A
 * not_affected without justification or impact statement is not a valid statement and is
 * skipped with an issue.
 */
export function applyVex(
  statements: readonly VexStatement[],
  read: readonly ReadStatement[],
): { statements: VexStatement[]; issues: Issue[] } {
  const issues: Issue[] = [];
  const usable = read.filter((r) => {
    if (r.status === "not_affected" && !r.justification && !r.impact) {
      issues.push({
        code: "VEX_STATEMENT_INVALID",
        message: `${r.document}: not_affected for ${r.vulnerability} has neither justification nor impact statement; ignored`,
      });
      return false;
    }
    return true;
  });
  const out = statements.map((s) => {
    const hits = usable.filter((r) => applies(r, s));
    if (hits.length === 0) {
      return s;
    }
    // compared as instants: documents write offsets (-06:00) as well as Z
    const when = (r: ReadStatement): number => Date.parse(r.timestamp ?? "") || 0;
    const newest = Math.max(...hits.map(when));
    const latest = hits.filter((r) => when(r) === newest);
    const statuses = new Set(latest.map((r) => r.status));
    if (statuses.size > 1) {
      issues.push({
        code: "VEX_CONFLICT",
        message: `${s.vulnerability} in ${s.subcomponent.purl}: ${latest.map((r) => `${r.document} says ${r.status}`).join(", ")} at the same time; kept the most cautious`,
      });
    }
    const chosen = [...latest].sort(
      (a, b) => CAUTION.indexOf(a.status) - CAUTION.indexOf(b.status),
    )[0] as ReadStatement;
    const { evidence: _automatic, justification: _j, impact: _i, action: _a, ...rest } = s;
    // an affected statement without an action keeps the automatic one (what version fixes it)
    const action = chosen.action ?? (chosen.status === "affected" ? s.action : undefined);
    const replaced: VexStatement = {
      ...rest,
      status: chosen.status,
      ...(chosen.justification ? { justification: chosen.justification } : {}),
      ...(chosen.impact ? { impact: chosen.impact } : {}),
      ...(action ? { action } : {}),
      timestamp: chosen.timestamp ?? s.timestamp,
      author: chosen.author ?? "unknown",
      origin: { document: chosen.document, ...(chosen.author ? { author: chosen.author } : {}) },
    };
    return replaced;
  });
  return { statements: out, issues };
}
