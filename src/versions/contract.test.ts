import { describe, expect, it } from "vitest";
import type { Comparator } from "./comparator.js";
import { type ComparatorSample, describeComparatorContract } from "./contract.js";
import { comparatorFor, ECOSYSTEMS } from "./registry.js";

/**
 * Every comparator the registry hands out keeps the Comparator contract, on versions ordered as
 * each ecosystem's documentation orders them (dpkg(5), apk's version rules, rpm's rpmvercmp,
 * PEP 440, SemVer 2.0.0, Go's module versions, Maven's ComparableVersion, Gem::Version, NuGet
 * SemVer 2, Composer's VersionParser).
 */
const SAMPLES: Readonly<Record<string, ComparatorSample>> = {
  Debian: {
    ascending: ["0.9", "1.0~rc1", "1.0", "1.0-1", "1.0+b1", "1.0.1", "1:0.1"],
    invalid: ["", "abc", "1:", "1.0 beta"],
  },
  Alpine: {
    ascending: ["1.0_alpha1", "1.0_rc1", "1.0", "1.0-r1", "1.0.1", "1.1"],
    invalid: ["", "abc", "1..0"],
    ordersAnyString: true,
  },
  "Red Hat": {
    ascending: ["0.9", "1.0~rc1", "1.0", "1.0^post1", "1.0.1", "1.1"],
    invalid: [""],
  },
  PyPI: {
    ascending: ["1.0.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1", "1.1", "1!0.1"],
    equal: [["1.0", "1.0.0"]],
    invalid: ["abc", "1..0", "latest"],
  },
  npm: {
    ascending: ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0", "1.0.1", "1.10.0", "2.0.0"],
    invalid: ["1.0", "abc", ""],
  },
  "crates.io": {
    ascending: ["0.1.0", "1.0.0-alpha", "1.0.0-beta.2", "1.0.0", "1.2.0", "1.10.0"],
    invalid: ["1.0", "v1.0.0", ""],
  },
  Go: {
    ascending: ["v0.0.0-20191109021931-daa7c04131f5", "v1.0.0-rc.1", "v1.0.0", "v1.2.3", "v1.10.0"],
    equal: [["v2.0.0", "v2.0.0+incompatible"]],
    invalid: ["", "1.0", "abc"],
    ordersAnyString: true,
  },
  Maven: {
    ascending: [
      "1.0-alpha-1",
      "1.0-beta-1",
      "1.0-M1",
      "1.0-RC1",
      "1.0-SNAPSHOT",
      "1.0",
      "1.0-sp1",
      "1.0.1",
      "1.1",
    ],
    equal: [["1.0", "1.0.0"]],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an unresolved Maven property, literally
    invalid: ["", "${project.version}"],
    ordersAnyString: true,
  },
  RubyGems: {
    ascending: ["1.0.a", "1.0.b1", "1.0", "1.0.1", "1.1"],
    equal: [["1.0", "1.0.0"]],
    invalid: ["abc", "1..0"],
  },
  NuGet: {
    ascending: ["1.0.0-alpha", "1.0.0-beta", "1.0.0", "1.0.0.1", "1.0.1"],
    equal: [
      ["1.0", "1.0.0"],
      ["1.0.0-Beta", "1.0.0-beta"],
    ],
    invalid: ["abc", ""],
  },
  Packagist: {
    ascending: ["1.0.0-alpha1", "1.0.0-beta2", "1.0.0-RC1", "1.0.0", "1.0.1", "1.1.0"],
    equal: [["1.0", "1.0.0"]],
    invalid: ["abc", "1..0"],
  },
};

const seen = new Set<Comparator>();
for (const e of ECOSYSTEMS) {
  const c = comparatorFor(e);
  if (seen.has(c)) {
    continue;
  }
  seen.add(c);
  const sample = SAMPLES[c.ecosystem];
  if (!sample) {
    describe(`Comparator ${c.ecosystem}`, () => {
      it("has a contract sample", () => {
        expect(`no sample for ${c.ecosystem}`).toBe("a sample in SAMPLES");
      });
    });
    continue;
  }
  describeComparatorContract(c, sample, { describe, it, expect });
}
