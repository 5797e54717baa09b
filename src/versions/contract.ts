import { type ContractTestApi, codeOf, thrownBy } from "../core/contract.js";
import type { Comparator } from "./comparator.js";

/** What a comparator's contract run is given: versions of its ecosystem in a known order. */
export interface ComparatorSample {
  /** Distinct versions in strictly ascending order, as the ecosystem's own tool orders them. */
  readonly ascending: readonly string[];
  /** Pairs the ecosystem calls equal though they are spelled differently (e.g. `1.0` / `1.0.0`). */
  readonly equal?: readonly (readonly [string, string])[];
  /** Strings the ecosystem refuses as versions. */
  readonly invalid?: readonly string[];
  /**
   * The ecosystem's own tool orders every string (Go's semver.Compare, apk, Maven's
   * ComparableVersion): `compare` then orders an invalid version too, antisymmetrically, and
   * `isValid` is the only gate (the matcher calls it before comparing). Otherwise `compare`
   * throws VERSION_INVALID.
   */
  readonly ordersAnyString?: boolean;
}

/**
 * The contract every {@link Comparator} keeps: a total order (reflexive, antisymmetric,
 * transitive over the sample, both argument orders agreeing), pure, accepting what it orders,
 * and refusing through `isValid` what it cannot parse; `compare` then throws VERSION_INVALID
 * unless the ecosystem's own tool orders every string ({@link ComparatorSample.ordersAnyString}).
 * @example describeComparatorContract(debComparator, { ascending: ["1.0~rc1", "1.0", "1:0.1"] }, { describe, it, expect })
 */
export function describeComparatorContract(
  c: Comparator,
  sample: ComparatorSample,
  t: ContractTestApi,
): void {
  const { it, expect } = t;
  const v = sample.ascending;
  t.describe(`Comparator contract: ${c.ecosystem}`, () => {
    it("accepts every version of the sample", async () => {
      expect(v.filter((x) => !c.isValid(x))).toEqual([]);
    });
    it("calls each version equal to itself, and the sample's equal pairs equal both ways", async () => {
      const wrong = v.filter((x) => c.compare(x, x) !== 0);
      for (const [a, b] of sample.equal ?? []) {
        if (c.compare(a, b) !== 0 || c.compare(b, a) !== 0) {
          wrong.push(`${a} = ${b}`);
        }
        // equal versions stand in the same place against every version of the sample
        for (const x of v) {
          if (c.compare(a, x) !== c.compare(b, x)) {
            wrong.push(`${a} and ${b} compare differently with ${x}`);
          }
        }
      }
      expect(wrong).toEqual([]);
    });
    it("orders every pair of the sample as given, both ways (a total order)", async () => {
      const wrong: string[] = [];
      for (let i = 0; i < v.length; i++) {
        for (let j = i + 1; j < v.length; j++) {
          const a = v[i] as string;
          const b = v[j] as string;
          if (c.compare(a, b) !== -1 || c.compare(b, a) !== 1) {
            wrong.push(`${a} < ${b}: got ${c.compare(a, b)} / reversed ${c.compare(b, a)}`);
          }
        }
      }
      expect(wrong).toEqual([]);
    });
    it("is pure: sorting the sample reversed or shuffled gives the sample", async () => {
      const sorted = (xs: string[]): string[] => xs.sort((a, b) => c.compare(a, b));
      expect(sorted([...v].reverse())).toEqual([...v]);
      const shuffled = v.map((x, i) => [x, (i * 7919) % (v.length + 1)] as const);
      shuffled.sort((a, b) => a[1] - b[1]);
      expect(sorted(shuffled.map((s) => s[0]))).toEqual([...v]);
    });
    it("refuses what it cannot parse through isValid, and compare never guesses silently", async () => {
      const wrong: string[] = [];
      const good = v[0] as string;
      for (const bad of sample.invalid ?? []) {
        const shown = JSON.stringify(bad);
        if (c.isValid(bad)) {
          wrong.push(`isValid(${shown}) is true`);
        }
        if (sample.ordersAnyString) {
          for (const other of [good, ...(sample.invalid ?? [])]) {
            if (c.compare(bad, other) !== -c.compare(other, bad)) {
              wrong.push(`compare of ${shown} with ${JSON.stringify(other)} is not antisymmetric`);
            }
          }
          continue;
        }
        for (const f of [() => c.compare(bad, good), () => c.compare(good, bad)]) {
          const code = codeOf(await thrownBy(f));
          if (code !== "VERSION_INVALID") {
            wrong.push(`compare with ${shown}: ${code}`);
          }
        }
      }
      expect(wrong).toEqual([]);
    });
  });
}
