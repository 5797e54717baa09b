import { describe, expect, it } from "vitest";
import { cvss3BaseScore, cvss4Score, roundup } from "./cvss.js";

// Vectors with the base scores FIRST's v3.1 calculator gives for them.
describe("CVSS v3.1 base score", () => {
  it.each([
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"],
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "CRITICAL"],
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "MEDIUM"],
    ["CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4, "MEDIUM"],
    ["CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9, "MEDIUM"],
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, "HIGH"],
    ["CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.4, "HIGH"],
    ["CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8, "MEDIUM"],
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0, "NONE"],
    ["CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"],
  ])("%s = %s", (vector, score, severity) => {
    expect(cvss3BaseScore(vector)).toMatchObject({ baseScore: score, severity });
  });

  it("rounds up as the specification's Roundup does (no floating-point surprises)", () => {
    // the specification's own examples of Roundup
    expect(roundup(4.02)).toBe(4.1);
    expect(roundup(4.0)).toBe(4.0);
    // 1.1 * 3 is 3.3000000000000003 in binary floating point; Roundup must still give 3.3
    expect(roundup(1.1 * 3)).toBe(3.3);
  });

  it("rejects malformed vectors", () => {
    for (const v of [
      "CVSS:2.0/AV:N",
      "AV:N/AC:L",
      "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
      "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    ]) {
      expect(cvss3BaseScore(v)).toBeUndefined();
    }
  });
});

// The vectors of FIRST's "CVSS v4.0 Examples" document with the scores given there (as the test
// suites of other implementations reproduce them), and one vector as NVD scores it.
const V4_EXAMPLES: [string, string, number, string][] = [
  [
    "CVE-2022-41741",
    "CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    7.3,
    "CVSS-B",
  ],
  [
    "CVE-2020-3549",
    "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    7.7,
    "CVSS-B",
  ],
  [
    "CVE-2020-3549",
    "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
    5.2,
    "CVSS-BT",
  ],
  [
    "CVE-2023-3089",
    "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N",
    8.3,
    "CVSS-B",
  ],
  [
    "CVE-2023-3089",
    "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N/CR:H/IR:L/AR:L/MAV:N/MAC:H/MVC:H/MVI:L/MVA:L",
    8.1,
    "CVSS-BE",
  ],
  [
    "CVE-2021-44714",
    "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
    4.6,
    "CVSS-B",
  ],
  [
    "CVE-2022-21830",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
    5.1,
    "CVSS-B",
  ],
  [
    "CVE-2022-22186",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
    6.9,
    "CVSS-B",
  ],
  [
    "CVE-2023-21989",
    "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:N/VI:N/VA:N/SC:H/SI:N/SA:N",
    5.9,
    "CVSS-B",
  ],
  [
    "CVE-2020-3947",
    "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
    9.4,
    "CVSS-B",
  ],
  [
    "CVE-2023-48228",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:H/SI:H/SA:H",
    9.3,
    "CVSS-B",
  ],
  [
    "CVE-2023-30560",
    "CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:H/SA:N/S:P/V:D",
    8.3,
    "CVSS-B",
  ],
  [
    "CVE-2014-0160",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N/E:A",
    8.7,
    "CVSS-BT",
  ],
  [
    "CVE-2021-44228",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A",
    10,
    "CVSS-BT",
  ],
  [
    "CVE-2014-6271",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A",
    9.3,
    "CVSS-BT",
  ],
  [
    "CVE-2013-6014",
    "CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:H/SI:N/SA:H",
    6.4,
    "CVSS-B",
  ],
  [
    "CVE-2021-44228",
    "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P/MAC:L/MAT:N/MVC:N/MVI:N/MVA:L",
    5.5,
    "CVSS-BTE",
  ],
  [
    "CVE-2016-5729",
    "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/R:I",
    8.4,
    "CVSS-B",
  ],
  ["no impact", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0, "CVSS-B"],
  // as NVD scores it (e.g. CVE-2026-40138)
  ["NVD", "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.2, "CVSS-B"],
];

describe("CVSS v4.0 score", () => {
  it.each(V4_EXAMPLES)("%s %s = %s", (_cve, vector, score, nomenclature) => {
    const r = cvss4Score(vector);
    expect(r).toMatchObject({ version: "4.0", score, nomenclature });
    expect(r?.severity).toBe(
      score === 0
        ? "NONE"
        : score < 4
          ? "LOW"
          : score < 7
            ? "MEDIUM"
            : score < 9
              ? "HIGH"
              : "CRITICAL",
    );
  });

  it("rejects vectors that are not valid CVSS v4.0", () => {
    for (const v of [
      "CVSS:4.0/",
      "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N", // SA missing
      "CVSS:4.0/AV:R/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", // no such AV
      "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:R/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", // UI:R is v3
      "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:S/SA:N", // S only for MSI/MSA
      "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N/MAV:Q",
      "CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N",
      "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    ]) {
      expect(cvss4Score(v), v).toBeUndefined();
    }
  });
});
