import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/core/atomic-write.js";
import { tempDir } from "../support/tmp.js";

// A file name of 250 bytes is legal on Linux (NAME_MAX is 255): the temporary file the atomic
// write goes through must not push the name over that limit (it appended ".tmp-<12 hex>" to the
// user's name, 267 bytes: ENAMETOOLONG).

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

describe("atomic writes of files with long names", { timeout: 120_000 }, () => {
  it("writeFileAtomic writes a 250-byte name (and a 255-byte one), leaving only that file", async () => {
    const dir = tempDir();
    for (const len of [250, 255]) {
      const name = `${"n".repeat(len - 5)}.json`;
      expect(Buffer.byteLength(name)).toBe(len);
      await writeFileAtomic(join(dir, name), `{"len":${len}}\n`);
      expect(readFileSync(join(dir, name), "utf8")).toBe(`{"len":${len}}\n`);
      await writeFileAtomic(join(dir, name), "replaced\n");
      expect(readFileSync(join(dir, name), "utf8")).toBe("replaced\n");
    }
    expect(readdirSync(dir).sort()).toEqual(
      [`${"n".repeat(245)}.json`, `${"n".repeat(250)}.json`].sort(),
    );
  });

  it("sbom -o with a 250-byte name of multibyte characters works on the command line", () => {
    const dir = tempDir();
    const src = tempDir();
    writeFileSync(join(src, "hello"), "hi\n");
    const name = `${"é".repeat(122)}.json`;
    expect(Buffer.byteLength(name)).toBe(249);
    const out = join(dir, `${name}x`);
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        MAIN,
        "--home",
        tempDir(),
        "sbom",
        `dir:${src}`,
        "-o",
        out,
        "--no-evidence",
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.stderr).not.toMatch(/ENAMETOOLONG|\.tmp-|a file cannot be created/);
    expect(r.status).toBe(0);
    expect(readdirSync(dir)).toEqual([`${name}x`]);
    expect(JSON.parse(readFileSync(out, "utf8"))).toBeTruthy();
  });
});
