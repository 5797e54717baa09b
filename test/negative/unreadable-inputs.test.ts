import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

/**
 * Wrong exit codes corrected: a missing or garbage input file (a person's key, a Sigstore bundle,
 * an artifact to sign, an OSCAL catalog) was a usage error (exit 2, CORE_INVALID_ARGUMENT), where
 * docs/cli.md makes missing and corrupt input operational (exit 3), as scan, VEX and db import
 * already answer. Each error names the user's path.
 */
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, "--json", ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
const errorOf = (stderr: string) =>
  (
    JSON.parse(stderr.trim().split("\n").at(-1) ?? "{}") as {
      error?: { code?: string; message?: string };
    }
  ).error ?? {};

describe("missing and garbage input files are operational errors", { timeout: 300_000 }, () => {
  const dir = tempDir();
  const garbage = join(dir, "garbage.txt");
  writeFileSync(garbage, "this is not a key, a bundle or a catalog\n");
  const missing = join(dir, "missing.json");

  it.each([
    ["key trust --person (missing)", ["key", "trust", "--person", missing], missing],
    ["key trust --person (garbage)", ["key", "trust", "--person", garbage], garbage],
    [
      "sigstore verify-bundle --bundle (missing)",
      ["sigstore", "verify-bundle", "--bundle", missing, "--key", garbage, garbage],
      missing,
    ],
    [
      "sigstore verify-bundle --bundle (garbage)",
      ["sigstore", "verify-bundle", "--bundle", garbage, "--key", garbage, garbage],
      garbage,
    ],
    ["catalog import (missing)", ["catalog", "import", missing], missing],
    ["catalog import (garbage)", ["catalog", "import", garbage], garbage],
  ])("%s: exit 3, naming the file", (_name, args, path) => {
    const r = cli(...args);
    const e = errorOf(r.stderr);
    expect(r.status, r.stderr).toBe(3);
    expect(e.message).toContain(path);
    expect(e.code).not.toBe("CORE_INVALID_ARGUMENT");
  });
});
