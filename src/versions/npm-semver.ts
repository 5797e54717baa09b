import { SemVer as NodeSemVer, satisfies } from "semver";
import { VersionError } from "../core/errors.js";
import { type Comparator, sign } from "./comparator.js";
import { comparePrerelease } from "./semver-core.js";

// npm versions are what node-semver (the `semver` package, npm's own) says they are: parsing,
// order and ranges are delegated to it (docs/adr/0010-semver-package-and-zip-reader.md).

/** node-semver options. */
export interface SemverOptions {
  readonly loose?: boolean;
  readonly includePrerelease?: boolean;
}

/** A version parsed by node-semver. */
export type SemVer = NodeSemVer;

/** node-semver's MAX_LENGTH: a longer string is not a version (its constructor throws). */
const MAX_LENGTH = 256;

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
  try {
    return new NodeSemVer(v, opts);
  } catch {
    throw new VersionError("VERSION_INVALID", `invalid semver version "${v}"`);
  }
}

/**
 * SemVer 2.0 precedence (section 11; build metadata ignored), the order of OSV SEMVER ranges.
 * Numeric prerelease identifiers compare exactly at any length: node-semver compares those past
 * 2^53 as rounded doubles (1.0.0-9007199254740993 equal to 1.0.0-9007199254740992), which is
 * npm's order but not the specification's, Go's or Cargo's.
 */
export function compareSemver(a: SemVer, b: SemVer): -1 | 0 | 1 {
  return (
    sign(a.compareMain(b)) || comparePrerelease(a.prerelease.map(String), b.prerelease.map(String))
  );
}

/**
 * semver.satisfies: `||`-separated sets of space-separated comparators, with hyphen, X, tilde
 * and caret ranges; a prerelease matches only a set that names a prerelease of the same
 * [major, minor, patch] (unless includePrerelease). An invalid range or version never matches.
 */
export function semverSatisfies(version: string, range: string, o: SemverOptions = {}): boolean {
  try {
    return satisfies(version, range, o);
  } catch {
    return false;
  }
}

/** Comparison as node-semver's semver.compare, honouring its loose option. */
export function compareNpm(a: string, b: string, o: SemverOptions = {}): -1 | 0 | 1 {
  return sign(parseSemver(a, o).compare(parseSemver(b, o)));
}

/**
 * npm version order: node-semver's; what its SemVer constructor refuses (throws "Invalid
 * Version") is refused.
 */
export const npmComparator: Comparator = {
  ecosystem: "npm",
  compare: (a, b) => compareNpm(a, b),
  isValid: (v) => {
    try {
      parseSemver(v);
      return true;
    } catch {
      return false;
    }
  },
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
