import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildImageLayout } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";

// `image copy SRC oci:FILE/lay` (or an archive under FILE) where FILE is a regular file: one
// line naming the user's path and the part of it that is not a directory (exit 3, an output that
// cannot be written), never a raw "ENOTDIR: not a directory, mkdir '…/blobs/sha256'".

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
const firstLine = (s: string) => s.split("\n")[0] ?? "";
let src = "";

describe("image copy to a path under a regular file", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    const dir = join(tempDir(), "img");
    await buildImageLayout({
      dir,
      tag: "1",
      layers: [{ kind: "files", files: [{ name: "hello", type: "file", body: "hi" }] }],
    });
    src = `oci:${dir}:1`;
  }, 120_000);

  it("names the path and the file in the way, and leaves the file alone", () => {
    const dir = tempDir();
    const file = join(dir, "FILE");
    writeFileSync(file, "keep");
    for (const [dest, path] of [
      [`oci:${file}/lay`, `${file}/lay`],
      [`oci:${file}/a/b`, `${file}/a/b`],
      [`oci:${file}`, file],
      [`oci-archive:${file}/x.tar`, `${file}/x.tar`],
      [`docker-archive:${file}/x.tar`, `${file}/x.tar`],
    ] as const) {
      const r = cli("image", "copy", src, dest);
      expect(r.status, dest).toBe(3);
      expect(firstLine(r.stderr), dest).toContain(`cannot write ${path}`);
      expect(firstLine(r.stderr), dest).toContain(`${file} is not a directory`);
      expect(r.stderr, dest).not.toMatch(/ENOTDIR|EEXIST|looks like a bug/);
    }
    expect(readFileSync(file, "utf8")).toBe("keep");
  });

  it("a new directory under a directory still works", () => {
    const dir = tempDir();
    expect(cli("image", "copy", src, `oci:${dir}/new/lay`).status).toBe(0);
    expect(cli("image", "copy", src, `oci-archive:${dir}/new2/x.tar`).status).toBe(0);
  });
});
