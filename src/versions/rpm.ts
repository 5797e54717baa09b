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

/** An rpm EVR: [epoch:]version[-release]. */
export function parseEvr(s: string): { epoch: number; version: string; release: string } {
  const t = s.trim();
  if (!t) {
    throw new VersionError("VERSION_INVALID", "empty rpm version");
  }
  const colon = t.indexOf(":");
  let epoch = 0;
  let rest = t;
  if (colon >= 0) {
    const e = t.slice(0, colon);
    if (!/^\d+$/.test(e)) {
      throw new VersionError("VERSION_INVALID", `invalid rpm epoch in "${s}"`);
    }
    epoch = Number(e);
    rest = t.slice(colon + 1);
  }
  const dash = rest.lastIndexOf("-");
  return dash >= 0
    ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) }
    : { epoch, version: rest, release: "" };
}

/** RPM order on epoch:version-release (OSV "Red Hat", "Rocky Linux", "AlmaLinux", "SUSE", …). */
export const rpmComparator: Comparator = {
  ecosystem: "Red Hat",
  compare(a, b) {
    const x = parseEvr(a);
    const y = parseEvr(b);
    if (x.epoch !== y.epoch) {
      return x.epoch < y.epoch ? -1 : 1;
    }
    const v = rpmvercmp(x.version, y.version);
    if (v) {
      return v;
    }
    // a missing release matches any release (as rpm's rpmdsCompare treats an unset release)
    if (!x.release || !y.release) {
      return 0;
    }
    return rpmvercmp(x.release, y.release);
  },
  isValid(v) {
    return v.trim().length > 0;
  },
};
