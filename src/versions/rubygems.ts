import { VersionError } from "../core/errors.js";
import { type Comparator, compareDigits } from "./comparator.js";

// Gem::Version::ANCHORED_VERSION_PATTERN; Ruby's \s is ASCII whitespace only ([ \t\r\n\f\v]).
const VALID =
  /^[ \t\r\n\f\v]*([0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?[ \t\r\n\f\v]*$/;

/** Gem::Version segments: numbers and letter runs; "-" starts a prerelease (".pre."). */
function segments(v: string): (bigint | string)[] {
  const s = v.trim() === "" ? "0" : v.trim().replace(/-/g, ".pre.");
  const out: (bigint | string)[] = [];
  for (const m of s.matchAll(/[0-9]+|[a-z]+/gi)) {
    out.push(/^\d/.test(m[0]) ? BigInt(m[0]) : m[0]); // Ruby Integers have no size limit
  }
  return out;
}

/** Gem::Version#canonical_segments: trailing zeros dropped from the release and prerelease parts. */
function canonical(v: string): (bigint | string)[] {
  const segs = segments(v);
  const firstString = segs.findIndex((x) => typeof x === "string");
  const release = firstString < 0 ? segs : segs.slice(0, firstString);
  const pre = firstString < 0 ? [] : segs.slice(firstString);
  while (release.length > 1 && release[release.length - 1] === 0n) {
    release.pop();
  }
  while (pre.length > 0 && pre[pre.length - 1] === 0n) {
    pre.pop();
  }
  return [...release, ...pre];
}

function check(v: string): void {
  if (!VALID.test(v)) {
    throw new VersionError("VERSION_INVALID", `invalid RubyGems version "${v}"`);
  }
}

/** Gem::Version#<=> */
export function compareGemVersions(a: string, b: string): -1 | 0 | 1 {
  check(a);
  check(b);
  const x = canonical(a);
  const y = canonical(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const l = x[i] ?? 0n;
    const r = y[i] ?? 0n;
    if (l === r) {
      continue;
    }
    if (typeof l === "string" && typeof r === "bigint") {
      return -1;
    }
    if (typeof l === "bigint" && typeof r === "string") {
      return 1;
    }
    if (typeof l === "bigint" && typeof r === "bigint") {
      return compareDigits(String(l), String(r));
    }
    return l < r ? -1 : 1;
  }
  return 0;
}

/** Gem::Version#release: the version without its prerelease segments. */
function release(v: string): string {
  const segs = segments(v);
  const firstString = segs.findIndex((x) => typeof x === "string");
  return firstString < 0 ? v : segs.slice(0, firstString).join(".") || "0";
}

/** Gem::Version#bump, used by the pessimistic operator ~>. */
function bump(v: string): string {
  const segs = segments(v);
  const firstString = segs.findIndex((x) => typeof x === "string");
  const release = (firstString < 0 ? segs : segs.slice(0, firstString)) as bigint[];
  if (release.length > 1) {
    release.pop();
  }
  release[release.length - 1] = (release[release.length - 1] ?? 0n) + 1n;
  return release.join(".");
}

/**
 * Gem::Requirement#satisfied_by?: comma-separated constraints (=, !=, >, <, >=, <=, ~>), all
 * of which must hold.
 * @throws VersionError VERSION_INVALID_RANGE
 */
export function gemSatisfies(version: string, requirement: string): boolean {
  const parts = requirement
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return (parts.length ? parts : [">= 0"]).every((p) => {
    const m = /^(=|!=|>=|<=|>|<|~>)?\s*(.+)$/.exec(p);
    if (!m?.[2]) {
      throw new VersionError(
        "VERSION_INVALID_RANGE",
        `invalid RubyGems requirement "${requirement}"`,
      );
    }
    const op = m[1] ?? "=";
    const r = m[2].trim();
    const c = compareGemVersions(version, r);
    switch (op) {
      case "=":
        return c === 0;
      case "!=":
        return c !== 0;
      case ">":
        return c > 0;
      case "<":
        return c < 0;
      case ">=":
        return c >= 0;
      case "<=":
        return c <= 0;
      default:
        // ~> r: v >= r and v.release < r.bump (Gem::Requirement's OPS["~>"])
        return c >= 0 && compareGemVersions(release(version), bump(r)) < 0;
    }
  });
}

/** RubyGems version order. */
export const rubygemsComparator: Comparator = {
  ecosystem: "RubyGems",
  compare: compareGemVersions,
  isValid: (v) => VALID.test(v),
};
