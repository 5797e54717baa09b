import { type Comparator, compareDigits } from "./comparator.js";
import { comparePrerelease } from "./semver-core.js";

interface GoSemver {
  major: string;
  minor: string;
  patch: string;
  pre: string[];
}

const NUM = "(0|[1-9]\\d*)";
const IDENT = "[0-9A-Za-z-]+";
const RE = new RegExp(
  `^v${NUM}(?:\\.${NUM}(?:\\.${NUM}(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+(${IDENT}(?:\\.${IDENT})*))?)?)?$`,
);

/** Parses a Go module version (golang.org/x/mod/semver); undefined when invalid. */
export function parseGoSemver(v: string): GoSemver | undefined {
  const m = RE.exec(v);
  if (!m) {
    return undefined;
  }
  const pre = m[4] ? m[4].split(".") : [];
  // numeric prerelease identifiers must not have leading zeros
  if (pre.some((p) => /^0\d+$/.test(p))) {
    return undefined;
  }
  return { major: m[1] as string, minor: m[2] ?? "0", patch: m[3] ?? "0", pre };
}

/**
 * Go module version order, as golang.org/x/mod/semver.Compare: an invalid version is lower
 * than every valid one and equal to every other invalid one (Go's own rule; the matcher treats
 * invalid versions as unknown before it ever compares).
 */
export const goComparator: Comparator = {
  ecosystem: "Go",
  compare(a, b) {
    const x = parseGoSemver(a);
    const y = parseGoSemver(b);
    if (!x || !y) {
      return x ? 1 : y ? -1 : 0;
    }
    return (
      compareDigits(x.major, y.major) ||
      compareDigits(x.minor, y.minor) ||
      compareDigits(x.patch, y.patch) ||
      comparePrerelease(x.pre, y.pre)
    );
  },
  isValid(v) {
    return parseGoSemver(v) !== undefined;
  },
};
