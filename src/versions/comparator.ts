/** A total order on one ecosystem's versions. Pure: no IO, no state. */
export interface Comparator {
  /** OSV ecosystem name: "Debian", "Alpine", "Red Hat", "PyPI", "npm", "Go", "Maven", … */
  readonly ecosystem: string;
  /**
   * -1, 0 or 1 as a is lower, equal or higher than b.
   * @throws VersionError VERSION_INVALID when a version cannot be parsed, except where the
   * ecosystem's own tool orders every string (Go, Alpine, Maven): there `isValid` is the gate,
   * and callers (the range matcher) check it before comparing. Kept by `describeComparatorContract`.
   */
  compare(a: string, b: string): -1 | 0 | 1;
  /** True when the ecosystem would accept the version; false for what `compare` cannot place. */
  isValid(v: string): boolean;
}

/** Clamps any number to the comparator result domain. */
export function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Compares two non-negative decimal digit strings of any length. */
export function compareDigits(a: string, b: string): -1 | 0 | 1 {
  const x = a.replace(/^0+/, "");
  const y = b.replace(/^0+/, "");
  if (x.length !== y.length) {
    return x.length < y.length ? -1 : 1;
  }
  return x < y ? -1 : x > y ? 1 : 0;
}
