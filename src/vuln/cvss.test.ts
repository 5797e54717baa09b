import { describe, expect, it } from "vitest";
import { cvss3BaseScore, roundup } from "./cvss.js";

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
