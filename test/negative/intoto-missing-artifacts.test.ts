import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const TSX = import.meta.resolve("tsx");
const BOB = resolve(
  import.meta.dirname,
  "../../../shared/corpus/attestations/in-toto/python-demo/demo_files/bob",
);
const cli = (cwd: string, args: string[]) =>
  spawnSync(process.execPath, ["--import", TSX, MAIN, ...args], { cwd, encoding: "utf8" });

/**
 * A material or product path that does not exist is skipped, as in-toto-run skips it, but never
 * silently: the link is signed without it and the run names each missing path as an issue, so a
 * mistyped path does not become a link that "records" nothing.
 */
describe("in-toto steps name the artifact paths that do not exist", () => {
  it("intoto run: a missing material and a missing product are named; the present ones recorded", () => {
    const w = tempDir("cleanimg-intoto-missing-");
    writeFileSync(join(w, "src.c"), "int main(void){return 0;}\n");
    const r = cli(w, [
      "intoto",
      "run",
      "-n",
      "build",
      "-k",
      BOB,
      "-m",
      "src.c",
      "sorce.c",
      "-p",
      "out.bin",
      "--",
      "true",
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`issue: .*material sorce\\.c does not exist \\(under ${w}\\): not recorded`),
    );
    expect(r.stderr).toMatch(/issue: .*product out\.bin does not exist/);
    expect(r.stdout).toMatch(/\(1 materials, 0 products, return value 0\)/);
    const link = JSON.parse(readFileSync(join(w, "build.776a00e2.link"), "utf8"));
    expect(Object.keys(link.signed.materials)).toEqual(["src.c"]);
  });

  it("intoto record start/stop: missing paths are named, in --json as well", () => {
    const w = tempDir("cleanimg-intoto-missing-rec-");
    const start = cli(w, ["intoto", "record", "start", "-n", "s", "-k", BOB, "-m", "nothing"]);
    expect(start.status, start.stderr).toBe(0);
    expect(start.stderr).toMatch(/issue: .*material nothing does not exist/);
    const stop = cli(w, ["--json", "intoto", "record", "stop", "-n", "s", "-k", BOB, "-p", "gone"]);
    expect(stop.status, stop.stderr).toBe(0);
    expect(JSON.parse(stop.stdout).issues).toEqual([
      {
        code: "INTOTO_ARTIFACT_MISSING",
        message: `product gone does not exist (under ${w}): not recorded in the link`,
        path: "gone",
      },
    ]);
  });
});
