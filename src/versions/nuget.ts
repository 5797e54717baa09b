import { VersionError } from "../core/errors.js";
import { type Comparator, compareDigits } from "./comparator.js";
import { comparePrerelease } from "./semver-core.js";

const RE =
  /^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\s*$/;

function parse(v: string): { parts: string[]; pre: string[] } {
  const m = RE.exec(v);
  // NuGet.Versioning reads each part as an Int32
  if (!m || [m[1], m[2], m[3], m[4]].some((n) => n !== undefined && Number(n) > 2147483647)) {
    throw new VersionError("VERSION_INVALID", `invalid NuGet version "${v}"`);
  }
  return {
    parts: [m[1] ?? "0", m[2] ?? "0", m[3] ?? "0", m[4] ?? "0"],
    // NuGet compares prerelease labels case-insensitively
    pre: m[5] ? m[5].toLowerCase().split(".") : [],
  };
}

/** NuGet version order (NuGet.Versioning VersionComparer.Default): build metadata ignored. */
export const nugetComparator: Comparator = {
  ecosystem: "NuGet",
  compare(a, b) {
    const x = parse(a);
    const y = parse(b);
    for (let i = 0; i < 4; i++) {
      const c = compareDigits(x.parts[i] as string, y.parts[i] as string);
      if (c) {
        return c;
      }
    }
    return comparePrerelease(x.pre, y.pre);
  },
  isValid(v) {
    try {
      parse(v);
      return true;
    } catch {
      return false;
    }
  },
};
