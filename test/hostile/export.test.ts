import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildImageLayout, type LayerFile, layerFromFiles } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";

// Hostile layers on `image export`, generated here: a decompression bomb and a path deeper than
// the kernel takes. Each must stop with a short error and leave nothing behind.

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

function exportCli(image: string, target: string, ...extra: string[]) {
  return spawnSync(
    process.execPath,
    ["--import", "tsx", MAIN, "--home", tempDir(), "image", "export", image, target, ...extra],
    { encoding: "utf8", timeout: 300_000 },
  );
}

describe("hostile layers on image export", { timeout: 400_000 }, () => {
  it("stops a decompression bomb at the default limit, removes what it wrote, exits 3", async () => {
    const dir = join(tempDir("cleanimg-bomb-"), "img");
    // 320 MiB of zeros: about 320 KB of gzip, far past 40x and the 256 MiB floor
    const tar = await layerFromFiles([
      { name: "zeros", type: "file", body: new Uint8Array(320 * 1024 * 1024) },
    ]);
    await buildImageLayout({ dir, layers: [{ kind: "raw", tar }], compression: "gzip" });
    const target = join(tempDir(), "out");
    const r = exportCli(`oci:${dir}`, target);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/expands past the default limit of \d+ bytes/);
    expect(r.stderr).toMatch(/--max-bytes/);
    expect(existsSync(target)).toBe(false);
  });

  it("--max-bytes lowers and raises the limit; an existing empty target is left empty", async () => {
    const dir = join(tempDir("cleanimg-maxb-"), "img");
    await buildImageLayout({
      dir,
      layers: [
        {
          kind: "files",
          files: [
            { name: "a/", type: "dir" },
            { name: "a/one", type: "file", body: "x".repeat(10_000) },
            { name: "a/two", type: "file", body: "y".repeat(10_000) },
          ],
        },
      ],
    });
    const target = tempDir();
    chmodSync(target, 0o751);
    const low = exportCli(`oci:${dir}`, target, "--max-bytes", "15000");
    expect(low.status).toBe(3);
    expect(low.stderr).toMatch(/--max-bytes limit of 15000 bytes/);
    expect(readdirSync(target)).toEqual([]);
    expect(statSync(target).mode & 0o777).toBe(0o751);
    const ok = exportCli(`oci:${dir}`, target, "--max-bytes", "30000");
    expect(ok.status).toBe(0);
    expect(readdirSync(join(target, "a")).sort()).toEqual(["one", "two"]);
    const bad = exportCli(`oci:${dir}`, join(tempDir(), "n"), "--max-bytes", "lots");
    expect(bad.status).toBe(2);
  });

  it("counts directories against the budget, and removes the parents it made", async () => {
    const dir = join(tempDir("cleanimg-dirs-"), "img");
    const files: LayerFile[] = Array.from({ length: 2000 }, (_, i) => ({
      name: `d${i}/`,
      type: "dir",
    }));
    await buildImageLayout({ dir, layers: [{ kind: "files", files }] });
    const parent = join(tempDir(), "new", "deeper");
    const r = exportCli(`oci:${dir}`, join(parent, "out"), "--max-bytes", "1000000");
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/--max-bytes limit of 1000000 bytes/);
    expect(existsSync(join(parent, "..")), "the parents the export made are gone").toBe(false);
  });

  it("counts symlink targets and every inode: symlinks with long targets and empty files stop at --max-bytes", async () => {
    const links = join(tempDir("cleanimg-links-"), "img");
    await buildImageLayout({
      dir: links,
      layers: [
        {
          kind: "files",
          files: Array.from({ length: 300 }, (_, i) => ({
            name: `l${i}`,
            type: "symlink" as const,
            linkname: `${"t/".repeat(1999)}x`,
          })),
        },
      ],
    });
    const empty = join(tempDir("cleanimg-empty-"), "img");
    await buildImageLayout({
      dir: empty,
      layers: [
        {
          kind: "files",
          files: Array.from({ length: 2000 }, (_, i) => ({ name: `e${i}`, type: "file" as const })),
        },
      ],
    });
    for (const image of [links, empty]) {
      const target = join(tempDir(), "out");
      const r = exportCli(`oci:${image}`, target, "--max-bytes", "100000");
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/--max-bytes limit of 100000 bytes/);
      expect(existsSync(target)).toBe(false);
    }
  });

  it("a full filesystem stops the export with a short message and removes what it wrote", async (t) => {
    // 600 one-byte files: within the budget (free space), but each takes a 4 KiB page of a
    // 1 MiB tmpfs; then a tmpfs with fewer inodes than the image has files
    const dir = join(tempDir("cleanimg-full-"), "img");
    await buildImageLayout({
      dir,
      layers: [
        {
          kind: "files",
          files: Array.from({ length: 600 }, (_, i) => ({
            name: `f${i}`,
            type: "file" as const,
            body: "x",
          })),
        },
      ],
    });
    const mnt = tempDir("cleanimg-tmpfs-");
    for (const [opts, message] of [
      ["size=1m", /the target's filesystem is full \(ENOSPC\)/],
      ["size=64m,nr_inodes=100", /more files than the \d+ inodes free on the target's filesystem/],
    ] as const) {
      const m = spawnSync("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", mnt]);
      if (m.status !== 0) {
        t.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)");
      }
      try {
        const target = join(mnt, "out");
        const r = exportCli(`oci:${dir}`, target);
        expect(r.status, r.stderr).toBe(3);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/looks like a bug|--max-bytes/);
        expect(r.stderr.length).toBeLessThan(600);
        expect(existsSync(target)).toBe(false);
      } finally {
        spawnSync("umount", [mnt]);
      }
    }
  });

  it("a read-only target is named as such, not reported as a bug", async (t) => {
    const dir = join(tempDir("cleanimg-ro-"), "img");
    await buildImageLayout({
      dir,
      layers: [{ kind: "files", files: [{ name: "f", type: "file", body: "x" }] }],
    });
    const mnt = tempDir("cleanimg-rofs-");
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]).status !== 0) {
      t.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)");
    }
    try {
      mkdirSync(join(mnt, "empty"));
      expect(spawnSync("mount", ["-o", "remount,ro", mnt]).status).toBe(0);
      const r = exportCli(`oci:${dir}`, join(mnt, "empty"));
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/the target cannot be written \(EROFS\)/);
      expect(r.stderr).not.toMatch(/looks like a bug/);
    } finally {
      spawnSync("umount", [mnt]);
    }
  });

  it("refuses a path longer than the kernel takes before writing anything, in one short line", async () => {
    const dir = join(tempDir("cleanimg-deep-"), "img");
    const depth = 1900; // "d/" x 1900 = 3800 bytes: under the image path limit, over PATH_MAX below
    const parts = Array.from({ length: depth }, () => "d");
    const files: LayerFile[] = parts.map((_, i) => ({
      name: `${parts.slice(0, i + 1).join("/")}/`,
      type: "dir",
    }));
    files.push({ name: `${parts.join("/")}/leaf`, type: "file" });
    await buildImageLayout({ dir, layers: [{ kind: "files", files }] });
    const parent = join(tempDir(), "p".repeat(200), "q".repeat(200));
    mkdirSync(parent, { recursive: true });
    const target = join(parent, "out");
    const r = exportCli(`oci:${dir}`, target);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/path of \d+ bytes .* \(the limit is 4095\), \d+ levels deep/);
    expect(r.stderr.length).toBeLessThan(600);
    expect(existsSync(target)).toBe(false);
  });
});
