import { VersionError } from "../core/errors.js";
import { type Comparator, compareDigits } from "./comparator.js";

const isAlnum = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9]/.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isAlpha = (c: string | undefined): boolean => c !== undefined && /[A-Za-z]/.test(c);

/** rpmvercmp (rpm's lib/rpmvercmp.c): segment comparison with ~ (pre) and ^ (post) markers. */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) {
    return 0;
  }
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== "~" && a[i] !== "^") {
      i++;
    }
    while (j < b.length && !isAlnum(b[j]) && b[j] !== "~" && b[j] !== "^") {
      j++;
    }
    // tilde sorts before everything, even the end of the string
    if (a[i] === "~" || b[j] === "~") {
      if (a[i] !== "~") {
        return 1;
      }
      if (b[j] !== "~") {
        return -1;
      }
      i++;
      j++;
      continue;
    }
    // caret sorts after the end of the string but before any other segment
    if (a[i] === "^" || b[j] === "^") {
      if (i >= a.length) {
        return -1;
      }
      if (j >= b.length) {
        return 1;
      }
      if (a[i] !== "^") {
        return 1;
      }
      if (b[j] !== "^") {
        return -1;
      }
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) {
      break;
    }
    const numeric = isDigit(a[i]);
    const take = numeric ? isDigit : isAlpha;
    let si = i;
    while (i < a.length && take(a[i])) {
      i++;
    }
    let sj = j;
    while (j < b.length && take(b[j])) {
      j++;
    }
    const x = a.slice(si, i);
    const y = b.slice(sj, j);
    if (y.length === 0) {
      // segments of different types: numeric is newer
      return numeric ? 1 : -1;
    }
    if (numeric) {
      const c = compareDigits(x, y);
      if (c) {
        return c;
      }
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
    si = i;
    sj = j;
  }
  if (i >= a.length && j >= b.length) {
    return 0;
  }
  return i < a.length ? 1 : -1;
}

/**
 * An rpm EVR, split as librpm's parseEVR does (rpmver.c): a run of leading digits followed by ":"
 * is the epoch (an empty one is "0"), anything else has no epoch; the text after the last "-" is
 * the release, which is absent (undefined) without a "-" and empty after a trailing one. Nothing
 * is trimmed: rpmvercmp skips separators itself.
 * @throws VersionError VERSION_INVALID for the empty string, the only input rpm refuses
 */
export function parseEvr(s: string): {
  epoch: string | undefined;
  version: string;
  release: string | undefined;
} {
  if (s === "") {
    throw new VersionError("VERSION_INVALID", "empty rpm version");
  }
  const digits = /^\d*/.exec(s)?.[0] ?? "";
  let epoch: string | undefined;
  let rest = s;
  if (s[digits.length] === ":") {
    epoch = digits || "0";
    rest = s.slice(digits.length + 1);
  }
  const dash = rest.lastIndexOf("-");
  return dash >= 0
    ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) }
    : { epoch, version: rest, release: undefined };
}

/**
 * RPM order on epoch:version-release (OSV "Red Hat", "Rocky Linux", "AlmaLinux", "SUSE", …), as
 * librpm's rpmverCmp (rpm.vercmp): a missing epoch is 0; a missing release sorts below any
 * release, even an empty one ("1.0" < "1.0-" < "1.0-1"). Every string but the empty one is an
 * rpm version, so every other string is ordered exactly as rpm orders it.
 */
export const rpmComparator: Comparator = {
  ecosystem: "Red Hat",
  compare(a, b) {
    const x = parseEvr(a);
    const y = parseEvr(b);
    const e = rpmvercmp(x.epoch ?? "0", y.epoch ?? "0");
    if (e) {
      return e;
    }
    const v = rpmvercmp(x.version, y.version);
    if (v) {
      return v;
    }
    if (x.release === undefined || y.release === undefined) {
      return x.release !== undefined ? 1 : y.release !== undefined ? -1 : 0;
    }
    return rpmvercmp(x.release, y.release);
  },
  isValid(v) {
    return v !== "";
  },
};
