import { describe, expect, it } from "vitest";
import { normalizeLicenses } from "./license.js";

describe("normalizeLicenses", () => {
  it.each([
    [["GPL-2+"], "GPL-2.0-or-later"],
    [["GPLv2+"], "GPL-2.0-or-later"],
    [["GPL-2"], "GPL-2.0-only"],
    [["LGPL-2.1+"], "LGPL-2.1-or-later"],
    [["Apache 2.0"], "Apache-2.0"],
    [["Expat"], "MIT"],
    [["MIT or Apache-2.0"], "MIT OR Apache-2.0"],
    [["MIT", "BSD-3-clause"], "BSD-3-Clause AND MIT"],
    [["(MIT OR Apache-2.0)", "ISC"], "(MIT OR Apache-2.0) AND ISC"],
    [
      ["GPL-2.0+ with openvpn openssl exception"],
      "GPL-2.0-or-later WITH openvpn-openssl-exception",
    ],
    [["public-domain"], "LicenseRef-public-domain"],
  ])("%j -> %s", (input, expected) => {
    expect(normalizeLicenses(input)).toBe(expected);
  });

  it("gives no expression rather than a guess when an exception has no SPDX id", () => {
    // Debian's "OpenSSL exception" is not on the SPDX exception list
    expect(normalizeLicenses(["GPL-2+ with OpenSSL exception"])).toBeUndefined();
  });

  it("gives no expression when nothing is declared", () => {
    expect(normalizeLicenses([])).toBeUndefined();
    expect(normalizeLicenses([" "])).toBeUndefined();
  });
});
