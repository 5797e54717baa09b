import type { Comparator } from "./comparator.js";
import { compareSemver, parseSemver } from "./npm-semver.js";
import { comparatorFor } from "./registry.js";

/** An OSV range event. */
export type OsvEvent =
  | { readonly introduced: string }
  | { readonly fixed: string }
  | { readonly last_affected: string }
  | { readonly limit: string };

export interface OsvRange {
  readonly type: "SEMVER" | "ECOSYSTEM" | "GIT" | string;
  readonly events: readonly OsvEvent[];
}

export interface OsvAffected {
  readonly ranges?: readonly OsvRange[];
  readonly versions?: readonly string[];
}

/** The answer to "is this version affected?": never a silent "no" when unsure. */
export type Affected =
  | { readonly kind: "affected"; readonly reason: string }
  | { readonly kind: "not-affected"; readonly reason: string }
  | { readonly kind: "unknown"; readonly reason: string };

type Cmp = (a: string, b: string) => number;

function eventVersion(e: OsvEvent): string {
  return "introduced" in e
    ? e.introduced
    : "fixed" in e
      ? e.fixed
      : "last_affected" in e
        ? e.last_affected
        : e.limit;
}

/**
 * Evaluates one range as the OSV schema defines: events sorted by version ("0" first); a
 * version at or past `introduced` is affected, at or past `fixed` (or past `last_affected`)
 * it is not; at or past a `limit` nothing in the range is affected.
 */
function inRange(version: string, range: OsvRange, cmp: Cmp): { affected: boolean; why: string } {
  const events = [...range.events].sort((a, b) => {
    const va = eventVersion(a);
    const vb = eventVersion(b);
    if (va === "0" || vb === "0") {
      return va === vb ? 0 : va === "0" ? -1 : 1;
    }
    return cmp(va, vb);
  });
  let affected = false;
  let why = "before the first introduced version";
  for (const e of events) {
    if ("introduced" in e) {
      if (e.introduced === "0" || cmp(version, e.introduced) >= 0) {
        affected = true;
        why = `introduced in ${e.introduced}`;
      }
    } else if ("fixed" in e) {
      if (cmp(version, e.fixed) >= 0) {
        affected = false;
        why = `fixed in ${e.fixed}`;
      } else if (affected) {
        why = `${why}, fixed in ${e.fixed}`;
      }
    } else if ("last_affected" in e) {
      if (cmp(version, e.last_affected) > 0) {
        affected = false;
        why = `after last affected ${e.last_affected}`;
      }
    } else if (cmp(version, e.limit) >= 0) {
      return { affected: false, why: `at or past the range limit ${e.limit}` };
    }
  }
  return { affected, why };
}

/**
 * GitHub's advisories write Go module versions in ECOSYSTEM ranges without the "v" the module
 * system requires ("1.13.15" for v1.13.15). golang.org/x/mod/semver, which the Go comparator
 * follows, would order such a bound below every version, putting every version past a fix; so a
 * bound that is valid once a "v" is put before it is read with that "v". Anything else is left as
 * written (and refused if invalid); the installed version must be valid as written.
 */
function goBound(c: Comparator): (v: string) => string {
  if (c.ecosystem !== "Go") {
    return (v) => v;
  }
  return (v) => (!c.isValid(v) && c.isValid(`v${v}`) ? `v${v}` : v);
}

/** How a range's versions are ordered and checked: SemVer 2.0 or the ecosystem's comparator. */
function rangeOrder(
  range: OsvRange,
  ecosystem: string,
): {
  cmp: Cmp;
  valid: (v: string) => boolean;
  strict?: (v: string) => boolean;
  scheme: string;
} {
  if (range.type === "SEMVER") {
    const semver = (v: string) => parseSemver(v.replace(/^v/, ""));
    return {
      valid: (v) => {
        try {
          semver(v);
          return true;
        } catch {
          return false;
        }
      },
      cmp: (a, b) => compareSemver(semver(a), semver(b)),
      scheme: "SemVer",
    };
  }
  const c = comparatorFor(ecosystem);
  // the installed version is read as written; only bounds get goBound's "v"
  const read = goBound(c);
  return {
    strict: (v) => c.isValid(v),
    valid: (v) => c.isValid(read(v)),
    cmp: (a, b) => c.compare(read(a), read(b)),
    scheme: ecosystem,
  };
}

/**
 * The version that fixes `version` under an OSV `affected` entry: in each SEMVER or ECOSYSTEM
 * range that holds `version`, the lowest `fixed` bound above it; of those, the highest (the
 * installed version must leave every range that holds it). Undefined when no range that holds it
 * has a fix, when a version or a bound cannot be placed, or when the ranges' fixes cannot be
 * ordered against each other (never a fix from another release line, such as 3.1.13 for an
 * installed 3.2.4).
 */
export function fixedAfter(
  version: string,
  affected: OsvAffected,
  ecosystem: string,
): string | undefined {
  const fixes: { v: string; cmp: Cmp }[] = [];
  try {
    for (const range of affected.ranges ?? []) {
      if (range.type === "GIT") {
        continue;
      }
      const { cmp, valid, strict } = rangeOrder(range, ecosystem);
      const bounds = range.events.filter((e) => !("introduced" in e && e.introduced === "0"));
      if (!(strict ?? valid)(version) || bounds.some((e) => !valid(eventVersion(e)))) {
        return undefined;
      }
      if (!inRange(version, range, cmp).affected) {
        continue;
      }
      const above = range.events
        .flatMap((e) => ("fixed" in e ? [e.fixed] : []))
        .filter((f) => cmp(version, f) < 0)
        .sort(cmp);
      if (!above[0]) {
        return undefined; // a range that holds it has no fix above it
      }
      fixes.push({ v: above[0], cmp });
    }
    let best: { v: string; cmp: Cmp } | undefined;
    for (const f of fixes) {
      if (!best) {
        best = f;
        continue;
      }
      // ranges of two schemes (SEMVER and ECOSYSTEM) must agree on which fix is higher
      const a = best.cmp(f.v, best.v);
      if (a !== f.cmp(f.v, best.v)) {
        return undefined;
      }
      if (a > 0) {
        best = f;
      }
    }
    return best?.v;
  } catch {
    return undefined;
  }
}

/**
 * Is `version` affected by an OSV `affected` entry? SEMVER ranges use SemVer 2.0 order, ECOSYSTEM
 * ranges the ecosystem's comparator; GIT ranges are not evaluated (commit graphs are not in the
 * database) and, when nothing else decides, make the answer "unknown". An unparsable version, or
 * a range whose bounds are not all valid versions, is "unknown", never "not affected".
 */
export function isAffected(version: string, affected: OsvAffected, ecosystem: string): Affected {
  if (affected.versions?.includes(version)) {
    return { kind: "affected", reason: `${version} is listed as affected` };
  }
  let sawGit = false;
  let sawEvaluated = false;
  for (const range of affected.ranges ?? []) {
    if (range.type === "GIT") {
      sawGit = true;
      continue;
    }
    let cmp: Cmp;
    try {
      const order = rangeOrder(range, ecosystem);
      cmp = order.cmp;
      const { valid, strict, scheme } = order;
      if (!(strict ?? valid)(version)) {
        return { kind: "unknown", reason: `"${version}" is not a valid ${scheme} version` };
      }
      // A bound that is not a version cannot be placed: some comparators (Go's, apk's) would
      // order it anyway, below or among the valid ones, and so could put the package past a fix.
      for (const e of range.events) {
        const bound = eventVersion(e);
        if (!("introduced" in e && bound === "0") && !valid(bound)) {
          return {
            kind: "unknown",
            reason: `the range bound "${bound}" is not a valid ${scheme} version`,
          };
        }
      }
      const r = inRange(version, range, cmp);
      sawEvaluated = true;
      if (r.affected) {
        return { kind: "affected", reason: `${range.type} range: ${r.why}` };
      }
    } catch (e) {
      return {
        kind: "unknown",
        reason: `cannot evaluate ${range.type} range for "${version}": ${(e as Error).message}`,
      };
    }
  }
  if (sawGit && !sawEvaluated && !affected.versions?.length) {
    return { kind: "unknown", reason: "only GIT ranges, which are not evaluated" };
  }
  return {
    kind: "not-affected",
    reason: sawEvaluated ? "outside every affected range" : "not in the affected versions list",
  };
}
