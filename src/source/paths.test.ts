import { describe, expect, it } from "vitest";
import { normalizeEntryPath } from "./paths.js";

/** The definition: split on `/`, drop empty and `.` parts, `..` pops (and fails at the root). */
function byDefinition(name: string): string | undefined {
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "" || p === ".") {
      continue;
    }
    if (p === "..") {
      if (parts.length === 0) {
        return undefined;
      }
      parts.pop();
      continue;
    }
    parts.push(p);
  }
  return parts.length === 0 ? "/" : `/${parts.join("/")}`;
}

describe("normalizeEntryPath", () => {
  it("agrees with its definition on every name built from tricky pieces (the fast path included)", () => {
    const pieces = ["a", ".", "..", "", "/", "./", "../", "x.y", ".a", "a.", "..b", "...", "//"];
    let n = 0;
    const differ: string[] = [];
    const visit = (s: string, depth: number): void => {
      n++;
      if (normalizeEntryPath(s) !== byDefinition(s)) {
        differ.push(s);
      }
      if (depth > 0) {
        for (const p of pieces) {
          visit(s + p, depth - 1);
          visit(`${s}/${p}`, depth - 1);
        }
      }
    };
    visit("", 3);
    expect(n).toBeGreaterThan(18_000);
    expect(differ).toEqual([]);
  });

  it("normalises the names tar writers use", () => {
    expect(normalizeEntryPath("./usr/bin/env")).toBe("/usr/bin/env");
    expect(normalizeEntryPath("usr/lib/")).toBe("/usr/lib");
    expect(normalizeEntryPath("/etc/os-release")).toBe("/etc/os-release");
    expect(normalizeEntryPath("./")).toBe("/");
    expect(normalizeEntryPath("a/../../etc/passwd")).toBeUndefined();
  });
});
