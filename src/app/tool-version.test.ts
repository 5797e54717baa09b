import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { TOOL } from "./sbom.js";

// The version is written once for the code (TOOL, which every document's tool field and
// `--version` print) and once for npm (package.json): they must be the same release.
describe("the tool's version", () => {
  it("is package.json's version", () => {
    const pkg = JSON.parse(
      readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8"),
    );
    expect(TOOL.name).toBe("cleanimg");
    expect(TOOL.version).toBe(pkg.version);
  });
});
