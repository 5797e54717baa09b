import { VersionError } from "../core/errors.js";
import type { Comparator } from "./comparator.js";

const MODIFIER = String.raw`[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?`;
const CLASSICAL = new RegExp(String.raw`^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?${MODIFIER}$`, "i");
const DATED = new RegExp(
  String.raw`^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?)${MODIFIER}$`,
  "i",
);

function stabilityName(s: string): string {
  const l = s.toLowerCase();
  return l === "a" || l === "alpha"
    ? "alpha"
    : l === "b" || l === "beta"
      ? "beta"
      : l === "p" || l === "pl" || l === "patch"
        ? "patch"
        : l === "rc"
          ? "RC"
          : s;
}

/**
 * A Composer version in the normal form Composer compares ("v1.2-beta.2" -> "1.2.0.0-beta2"):
 * four numeric parts (or a date), then the stability and its number. Aliases ("1.0 as 2.0"),
 * stability flags ("@dev") and build metadata are dropped; branches (dev-main, 1.x-dev) have no
 * order among releases and are refused.
 */
export function normalizeComposerVersion(raw: string): string {
  let v = raw.trim();
  const alias = /^(\S+) +as +\S+$/.exec(v);
  if (alias?.[1]) {
    v = alias[1];
  }
  v = v.replace(/@(?:stable|RC|beta|alpha|dev)$/i, "");
  v = v.replace(/^([^,\s+]+)\+\S+$/, "$1");
  const c = CLASSICAL.exec(v);
  const d = c ? undefined : DATED.exec(v);
  const m = c ?? d;
  if (!m) {
    throw new VersionError("VERSION_INVALID", `invalid Composer version "${raw}"`, {
      hint: "branches (dev-main, 1.x-dev) have no place in the release order",
    });
  }
  let out: string;
  let at: number;
  if (c) {
    out = `${c[1]}${c[2] || ".0"}${c[3] || ".0"}${c[4] || ".0"}`;
    at = 5;
  } else {
    out = (m[1] as string).replace(/\D/g, ".");
    at = 2;
  }
  const stability = m[at];
  if (stability) {
    if (stability === "stable") {
      return out;
    }
    out += `-${stabilityName(stability)}${(m[at + 1] ?? "").replace(/^[.-]+/, "")}`;
  }
  if (m[at + 2]) {
    out += "-dev";
  }
  return out;
}

// PHP version_compare's special forms, matched in this order by prefix ("patch" is "p"): any
// other word < dev < alpha < beta < RC < a number < pl.
const FORMS: readonly [string, number][] = [
  ["dev", 0],
  ["alpha", 1],
  ["a", 1],
  ["beta", 2],
  ["b", 2],
  ["RC", 3],
  ["rc", 3],
  ["#", 4],
  ["pl", 5],
  ["p", 5],
];

function rank(part: string): number {
  if (/^\d+$/.test(part)) {
    return 4;
  }
  return FORMS.find(([name]) => part.startsWith(name))?.[1] ?? -6;
}

/** PHP's canonical form: separators to ".", a "." between digits and letters. */
function canonical(v: string): string[] {
  return v
    .replace(/[-_+]/g, ".")
    .replace(/(\d)(?=[^\d.])|([^\d.])(?=\d)/g, "$1$2.")
    .split(".")
    .filter((p) => p !== "");
}

/** PHP version_compare on two strings (what Composer runs on normalized versions). */
export function phpVersionCompare(a: string, b: string): -1 | 0 | 1 {
  const x = canonical(a);
  const y = canonical(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = x[i] as string;
    const q = y[i] as string;
    let c: number;
    if (/^\d+$/.test(p) && /^\d+$/.test(q)) {
      const bp = BigInt(p);
      const bq = BigInt(q);
      c = bp < bq ? -1 : bp > bq ? 1 : 0;
    } else {
      c = Math.sign(rank(p) - rank(q));
    }
    if (c !== 0) {
      return c as -1 | 1;
    }
  }
  // what is left of the longer one is compared with a bare number ("#")
  if (x.length > n) {
    const p = x[n] as string;
    return /^\d+$/.test(p) ? 1 : (Math.sign(rank(p) - 4) as -1 | 0 | 1);
  }
  if (y.length > n) {
    const q = y[n] as string;
    return /^\d+$/.test(q) ? -1 : (Math.sign(4 - rank(q)) as -1 | 0 | 1);
  }
  return 0;
}

/** Composer's version order (composer/semver): normalize, then PHP's version_compare. */
export const composerComparator: Comparator = {
  ecosystem: "Packagist",
  compare(a, b) {
    return phpVersionCompare(normalizeComposerVersion(a), normalizeComposerVersion(b));
  },
  isValid(v) {
    try {
      normalizeComposerVersion(v);
      return true;
    } catch {
      return false;
    }
  },
};
