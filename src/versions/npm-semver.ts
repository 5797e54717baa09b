import { VersionError } from "../core/errors.js";
import { type Comparator, compareDigits } from "./comparator.js";
import { comparePrerelease } from "./semver-core.js";

/** node-semver options. */
export interface SemverOptions {
  readonly loose?: boolean;
  readonly includePrerelease?: boolean;
}

// The grammar of node-semver's internal/re.js.
const NUM = "0|[1-9]\\d*";
const NUML = "\\d+";
const NONNUM = "\\d*[a-zA-Z-][a-zA-Z0-9-]*";
const PRE_ID = `(?:${NUM}|${NONNUM})`;
const PRE_IDL = `(?:${NUML}|${NONNUM})`;
const PRE = `(?:-(${PRE_ID}(?:\\.${PRE_ID})*))`;
const PREL = `(?:-?(${PRE_IDL}(?:\\.${PRE_IDL})*))`;
const BUILD = "(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))";
const FULLPLAIN = `v?(${NUM})\\.(${NUM})\\.(${NUM})${PRE}?${BUILD}?`;
const LOOSEPLAIN = `[v=\\s]*(${NUML})\\.(${NUML})\\.(${NUML})${PREL}?${BUILD}?`;
const XID = `${NUM}|x|X|\\*`;
const XIDL = `${NUML}|x|X|\\*`;
const XPLAIN = `[v=\\s]*(${XID})(?:\\.(${XID})(?:\\.(${XID})(?:${PRE})?${BUILD}?)?)?`;
const XPLAINL = `[v=\\s]*(${XIDL})(?:\\.(${XIDL})(?:\\.(${XIDL})(?:${PREL})?${BUILD}?)?)?`;
const GTLT = "((?:<|>)?=?)";

const re = (loose: boolean | undefined) => ({
  full: new RegExp(`^${loose ? LOOSEPLAIN : FULLPLAIN}$`),
  xrange: new RegExp(`^${GTLT}\\s*${loose ? XPLAINL : XPLAIN}$`),
  hyphen: new RegExp(
    `^\\s*(${loose ? XPLAINL : XPLAIN})\\s+-\\s+(${loose ? XPLAINL : XPLAIN})\\s*$`,
  ),
  comparator: new RegExp(`^${GTLT}\\s*(${loose ? LOOSEPLAIN : FULLPLAIN})$|^$`),
  comparatorTrim: new RegExp(
    `(\\s*)${GTLT}\\s*(${loose ? LOOSEPLAIN : FULLPLAIN}|${loose ? XPLAINL : XPLAIN})`,
    "g",
  ),
  tilde: new RegExp(`^(?:~>?)${loose ? XPLAINL : XPLAIN}$`),
  caret: new RegExp(`^(?:\\^)${loose ? XPLAINL : XPLAIN}$`),
});

/** node-semver's MAX_LENGTH: a longer string is not a version (its constructor throws). */
const MAX_LENGTH = 256;

export interface SemVer {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  readonly prerelease: readonly string[];
}

/**
 * Parses a version as node-semver does (strict, or loose with options.loose).
 * @throws VersionError VERSION_INVALID
 */
export function parseSemver(v: string, opts: SemverOptions = {}): SemVer {
  if (v.length > MAX_LENGTH) {
    throw new VersionError(
      "VERSION_INVALID",
      `semver version longer than ${MAX_LENGTH} characters`,
    );
  }
  const m = re(opts.loose).full.exec(v.trim());
  if (!m || [m[1], m[2], m[3]].some((n) => Number(n) > Number.MAX_SAFE_INTEGER)) {
    throw new VersionError("VERSION_INVALID", `invalid semver version "${v}"`);
  }
  return {
    major: String(Number(m[1])),
    minor: String(Number(m[2])),
    patch: String(Number(m[3])),
    prerelease: m[4]
      ? m[4].split(".").map((id) => (/^\d+$/.test(id) ? String(Number(id)) : id))
      : [],
  };
}

/** semver.compare (build metadata ignored). */
export function compareSemver(a: SemVer, b: SemVer): -1 | 0 | 1 {
  return (
    compareDigits(a.major, b.major) ||
    compareDigits(a.minor, b.minor) ||
    compareDigits(a.patch, b.patch) ||
    comparePrerelease(a.prerelease, b.prerelease)
  );
}

const isX = (id: string | undefined): boolean => !id || id.toLowerCase() === "x" || id === "*";
const inc = (n: string | undefined): number => Number(n) + 1;

/** Applies a rewrite to each space-separated comparator of a range set. */
function eachComparator(comp: string, fn: (c: string) => string): string {
  return comp.trim().split(/\s+/).map(fn).join(" ");
}

function replaceCaret(comp: string, o: SemverOptions): string {
  const r = re(o.loose);
  return eachComparator(comp, (c) =>
    c.replace(r.caret, (_, M: string, m: string, p: string, pr: string | undefined) => {
      const z = o.includePrerelease ? "-0" : "";
      if (isX(M)) {
        return "";
      }
      if (isX(m)) {
        return `>=${M}.0.0${z} <${inc(M)}.0.0-0`;
      }
      if (isX(p)) {
        return M === "0"
          ? `>=${M}.${m}.0${z} <${M}.${inc(m)}.0-0`
          : `>=${M}.${m}.0${z} <${inc(M)}.0.0-0`;
      }
      if (pr) {
        if (M === "0") {
          return m === "0"
            ? `>=${M}.${m}.${p}-${pr} <${M}.${m}.${inc(p)}-0`
            : `>=${M}.${m}.${p}-${pr} <${M}.${inc(m)}.0-0`;
        }
        return `>=${M}.${m}.${p}-${pr} <${inc(M)}.0.0-0`;
      }
      // node-semver's current line adds no -0 here: ^0.2.3 does not take 0.2.3's prereleases
      if (M === "0") {
        return m === "0"
          ? `>=${M}.${m}.${p} <${M}.${m}.${inc(p)}-0`
          : `>=${M}.${m}.${p} <${M}.${inc(m)}.0-0`;
      }
      return `>=${M}.${m}.${p} <${inc(M)}.0.0-0`;
    }),
  );
}

function replaceTilde(comp: string, o: SemverOptions): string {
  const r = re(o.loose);
  return eachComparator(comp, (c) =>
    c.replace(r.tilde, (_, M: string, m: string, p: string, pr: string | undefined) => {
      const z = o.includePrerelease ? "-0" : "";
      if (isX(M)) {
        return "";
      }
      if (isX(m)) {
        return `>=${M}.0.0${z} <${inc(M)}.0.0-0`;
      }
      if (isX(p)) {
        return `>=${M}.${m}.0${z} <${M}.${inc(m)}.0-0`;
      }
      if (pr) {
        return `>=${M}.${m}.${p}-${pr} <${M}.${inc(m)}.0-0`;
      }
      return `>=${M}.${m}.${p} <${M}.${inc(m)}.0-0`;
    }),
  );
}

function replaceXRange(comp: string, o: SemverOptions): string {
  const r = re(o.loose);
  return eachComparator(comp, (c) =>
    c.trim().replace(r.xrange, (ret, gtlt0: string, M0: string, m0: string, p0: string) => {
      let gtlt = gtlt0;
      let M: string | number = M0;
      let m: string | number = m0;
      let p: string | number = p0;
      const xM = isX(M0);
      const xm = xM || isX(m0);
      const xp = xm || isX(p0);
      const anyX = xp;
      if (gtlt === "=" && anyX) {
        gtlt = "";
      }
      let pr = o.includePrerelease ? "-0" : "";
      if (xM) {
        return gtlt === ">" || gtlt === "<" ? "<0.0.0-0" : "*";
      }
      if (gtlt && anyX) {
        if (xm) {
          m = 0;
        }
        p = 0;
        if (gtlt === ">") {
          gtlt = ">=";
          if (xm) {
            M = Number(M) + 1;
            m = 0;
            p = 0;
          } else {
            m = Number(m) + 1;
            p = 0;
          }
        } else if (gtlt === "<=") {
          gtlt = "<";
          if (xm) {
            M = Number(M) + 1;
          } else {
            m = Number(m) + 1;
          }
        }
        if (gtlt === "<") {
          pr = "-0";
        }
        return `${gtlt + M}.${m}.${p}${pr}`;
      }
      if (xm) {
        return `>=${M}.0.0${pr} <${Number(M) + 1}.0.0-0`;
      }
      if (xp) {
        return `>=${M}.${m}.0${pr} <${M}.${Number(m) + 1}.0-0`;
      }
      return ret;
    }),
  );
}

function hyphenReplace(range: string, o: SemverOptions): string {
  const r = re(o.loose);
  return range.replace(
    r.hyphen,
    (
      _all,
      from: string,
      fM: string,
      fm: string,
      fp: string,
      fpr: string | undefined,
      _fb: string,
      to: string,
      tM: string,
      tm: string,
      tp: string,
      tpr: string | undefined,
    ) => {
      const z = o.includePrerelease ? "-0" : "";
      let lo: string;
      if (isX(fM)) {
        lo = "";
      } else if (isX(fm)) {
        lo = `>=${fM}.0.0${z}`;
      } else if (isX(fp)) {
        lo = `>=${fM}.${fm}.0${z}`;
      } else if (fpr) {
        lo = `>=${from}`;
      } else {
        lo = `>=${from}${z}`;
      }
      let hi: string;
      if (isX(tM)) {
        hi = "";
      } else if (isX(tm)) {
        hi = `<${inc(tM)}.0.0-0`;
      } else if (isX(tp)) {
        hi = `<${tM}.${inc(tm)}.0-0`;
      } else if (tpr) {
        hi = `<=${tM}.${tm}.${tp}-${tpr}`;
      } else if (o.includePrerelease) {
        hi = `<${tM}.${tm}.${inc(tp)}-0`;
      } else {
        hi = `<=${to}`;
      }
      return `${lo} ${hi}`.trim();
    },
  );
}

interface Comp {
  readonly op: string;
  readonly version?: SemVer;
}

function parseSet(range: string, o: SemverOptions): Comp[] {
  const r = re(o.loose);
  let s = hyphenReplace(range.trim(), o);
  s = s.replace(r.comparatorTrim, "$1$2$3");
  s = s.replace(/(\s*)~>?\s+/g, "$1~").replace(/(\s*)\^\s+/g, "$1^");
  const comps = s
    .split(/\s+/)
    .map((c) =>
      replaceXRange(replaceTilde(replaceCaret(c, o), o), o)
        .trim()
        .replace(/^\*$/, ""),
    )
    .join(" ")
    .split(/\s+/)
    .map((c) => c.replace(o.includePrerelease ? /^>=\s*0\.0\.0-0$/ : /^>=\s*0\.0\.0$/, ""))
    .filter((c, _i, all) => c !== "" || all.length === 1);
  const out: Comp[] = [];
  for (const c of comps) {
    const m = r.comparator.exec(c);
    if (!m) {
      throw new VersionError(
        "VERSION_INVALID_RANGE",
        `invalid comparator "${c}" in range "${range}"`,
      );
    }
    if (!m[2]) {
      out.push({ op: "" });
      continue;
    }
    out.push({ op: m[1] === "=" ? "" : (m[1] ?? ""), version: parseSemver(m[2], o) });
  }
  // a set containing the null comparator <0.0.0-0 can never match
  return out.length ? out : [{ op: "" }];
}

function testComp(c: Comp, v: SemVer): boolean {
  if (!c.version) {
    return true;
  }
  const x = compareSemver(v, c.version);
  switch (c.op) {
    case "":
      return x === 0;
    case ">":
      return x > 0;
    case ">=":
      return x >= 0;
    case "<":
      return x < 0;
    case "<=":
      return x <= 0;
    default:
      return false;
  }
}

/**
 * semver.satisfies: `||`-separated sets of space-separated comparators, with hyphen, X, tilde
 * and caret ranges; a prerelease matches only a set that names a prerelease of the same
 * [major, minor, patch] (unless includePrerelease). An invalid range or version never matches.
 */
export function semverSatisfies(version: string, range: string, o: SemverOptions = {}): boolean {
  let v: SemVer;
  let sets: Comp[][];
  try {
    v = parseSemver(version, o);
    sets = range.split(/\s*\|\|\s*/).map((s) => parseSet(s, o));
  } catch {
    return false;
  }
  return sets.some((set) => {
    if (!set.every((c) => testComp(c, v))) {
      return false;
    }
    if (v.prerelease.length && !o.includePrerelease) {
      return set.some(
        (c) =>
          c.version !== undefined &&
          c.version.prerelease.length > 0 &&
          c.version.major === v.major &&
          c.version.minor === v.minor &&
          c.version.patch === v.patch,
      );
    }
    return true;
  });
}

function isValidSemver(v: string): boolean {
  try {
    parseSemver(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * npm version order (SemVer 2.0 as node-semver implements it); what node-semver's SemVer
 * constructor refuses (throws "Invalid Version") is refused.
 */
export const npmComparator: Comparator = {
  ecosystem: "npm",
  compare: (a, b) => compareSemver(parseSemver(a), parseSemver(b)),
  isValid: isValidSemver,
};

/**
 * Cargo's semver crate (Version::parse) takes the bare SemVer 2.0 grammar: no "v" prefix, no
 * surrounding whitespace (node-semver takes both).
 */
function parseCrate(v: string): SemVer {
  if (!/^\d/.test(v) || v.trim() !== v) {
    throw new VersionError("VERSION_INVALID", `invalid crates.io version "${v}"`);
  }
  return parseSemver(v);
}

/** crates.io version order (Cargo's semver: SemVer 2.0, build metadata ignored). */
export const cratesComparator: Comparator = {
  ecosystem: "crates.io",
  compare: (a, b) => compareSemver(parseCrate(a), parseCrate(b)),
  isValid: (v) => {
    try {
      parseCrate(v);
      return true;
    } catch {
      return false;
    }
  },
};

/** Comparison honouring node-semver's loose option (for the vector tests and the CLI). */
export function compareNpm(a: string, b: string, o: SemverOptions = {}): -1 | 0 | 1 {
  return compareSemver(parseSemver(a, o), parseSemver(b, o));
}
