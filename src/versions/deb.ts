import { VersionError } from "../core/errors.js";
import { type Comparator, compareDigits } from "./comparator.js";

/** A Debian version: [epoch:]upstream[-revision] (deb-version(7)). */
export interface DebVersion {
  readonly epoch: number;
  readonly upstream: string;
  readonly revision: string;
}

/**
 * Parses a Debian version as dpkg's parseversion does (leading and trailing whitespace ignored).
 * What dpkg refuses outright is refused (empty, embedded spaces, a bad or too big epoch, nothing
 * after the colon, an empty revision after a trailing "-"); what dpkg only warns about and then
 * orders anyway (an upstream version not starting with a digit, characters outside the allowed
 * sets) is refused too, rather than ordered: see README.md.
 * @throws VersionError VERSION_INVALID
 */
export function parseDebVersion(input: string): DebVersion {
  const s = input.trim();
  const fail = (why: string): never => {
    throw new VersionError("VERSION_INVALID", `invalid Debian version "${input}": ${why}`);
  };
  if (!s) {
    fail("empty");
  }
  if (/\s/.test(s)) {
    fail("contains whitespace");
  }
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(":");
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (!/^\d+$/.test(e)) {
      fail("epoch is not a number");
    }
    epoch = Number(e);
    if (epoch > 2147483647) {
      fail("epoch is too big"); // dpkg keeps epochs in an int
    }
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf("-");
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : "";
  if (dash >= 0 && !revision) {
    fail("revision is empty");
  }
  if (!upstream) {
    fail("empty upstream version");
  }
  if (!/^\d/.test(upstream)) {
    fail("upstream version does not start with a digit");
  }
  if (!/^[A-Za-z0-9.+~:-]*$/.test(upstream) || !/^[A-Za-z0-9.+~]*$/.test(revision)) {
    fail("invalid character");
  }
  return { epoch, upstream, revision };
}

function order(c: string | undefined): number {
  if (c === undefined) {
    return 0;
  }
  if (c === "~") {
    return -1;
  }
  if (/[A-Za-z]/.test(c)) {
    return c.charCodeAt(0);
  }
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternating non-digit (with ~ sorting first) and digit runs. */
export function verrevcmp(a: string, b: string): -1 | 0 | 1 {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while (
      (i < a.length && !/\d/.test(a[i] as string)) ||
      (j < b.length && !/\d/.test(b[j] as string))
    ) {
      const ac = i < a.length && !/\d/.test(a[i] as string) ? order(a[i]) : 0;
      const bc = j < b.length && !/\d/.test(b[j] as string) ? order(b[j]) : 0;
      if (ac !== bc) {
        return ac < bc ? -1 : 1;
      }
      i++;
      j++;
    }
    let da = "";
    let db = "";
    while (i < a.length && /\d/.test(a[i] as string)) {
      da += a[i++];
    }
    while (j < b.length && /\d/.test(b[j] as string)) {
      db += b[j++];
    }
    firstDiff = compareDigits(da || "0", db || "0");
    if (firstDiff) {
      return firstDiff as -1 | 1;
    }
  }
  return 0;
}

/** Debian (dpkg) version order. */
export const debComparator: Comparator = {
  ecosystem: "Debian",
  compare(a, b) {
    const x = parseDebVersion(a);
    const y = parseDebVersion(b);
    if (x.epoch !== y.epoch) {
      return x.epoch < y.epoch ? -1 : 1;
    }
    return verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision);
  },
  isValid(v) {
    try {
      parseDebVersion(v);
      return true;
    } catch {
      return false;
    }
  },
};
