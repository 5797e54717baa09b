import { describe, expect, it } from "vitest";
import { parseRequirements } from "./python-lock.js";

describe("pip requirements", () => {
  it("reads pins with extras, markers, hashes and continuation lines; skips what names no version", () => {
    const src = [
      "# comment",
      "-r base.txt",
      "-e git+https://example.org/x.git#egg=x",
      "--index-url https://pypi.org/simple",
      "Django==4.2.11  # the web framework",
      "requests[socks]==2.31.0 ; python_version >= '3.8' \\",
      "    --hash=sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f \\",
      "    --hash=sha256:942c5a758f98d790eaed1a29cb6eefc7ffb0d1cf7af05c3d2791656dbd6ad1e1",
      "arrow===1.3.0",
      "flask>=2.0",
      "numpy==1.26.*",
      "pkg @ https://example.org/pkg-1.0.tar.gz",
      "",
    ].join("\n");
    const got = parseRequirements(src);
    expect(got.map((e) => [e.name, e.version, e.purlName])).toEqual([
      ["Django", "4.2.11", "django"],
      ["requests", "2.31.0", "requests"],
      ["arrow", "1.3.0", "arrow"],
    ]);
    expect(got[1]?.checksums?.map((c) => c.value.slice(0, 8))).toEqual(["58cd2187", "942c5a75"]);
  });
});
