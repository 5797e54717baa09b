import { execFileSync } from "node:child_process";
import {
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { OciError, SourceError } from "../../src/core/errors.js";
import {
  DirectoryFiles,
  LayoutSource,
  type ResolvedImage,
  resolveImage,
} from "../../src/oci/index.js";
import { exportFilesystem, ImageFilesystem } from "../../src/source/index.js";
import { type BuiltImage, buildImageLayout, type LayerSpec } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { expectToolError } from "../support/errors.js";
import { tempDir } from "../support/tmp.js";

async function open(dir: string): Promise<ResolvedImage> {
  return resolveImage(new LayoutSource(new DirectoryFiles(dir, `oci layout ${dir}`), undefined));
}

async function build(
  layers: LayerSpec[],
  compression: "gzip" | "none" = "gzip",
): Promise<BuiltImage> {
  return buildImageLayout({ dir: join(tempDir(), "img"), layers, compression });
}

describe("merged filesystem of an image built from Debian packages", () => {
  let img: BuiltImage;
  let fs: ImageFilesystem;
  beforeAll(async () => {
    const [baseFiles, busybox, zlib] = fetchDebs(["base-files", "busybox-static", "zlib1g"]) as [
      string,
      string,
      string,
    ];
    img = await build([
      { kind: "debs", debs: [baseFiles, busybox] },
      { kind: "debs", debs: [zlib], dpkgStatus: false },
      {
        kind: "files",
        files: [
          { name: "etc/.wh.debian_version", type: "file" },
          // opaque directory listed after a new entry of the same layer: the new entry stays
          { name: "usr/share/doc/", type: "dir" },
          { name: "usr/share/doc/README.cleanimg", type: "file", body: "kept\n" },
          { name: "usr/share/doc/.wh..wh..opq", type: "file" },
          { name: "etc/motd", type: "file", body: "replaced in layer 2\n", mode: 0o600 },
        ],
      },
    ]);
    fs = await ImageFilesystem.open(await open(img.dir));
  });

  it("attributes each file to the layer it came from", () => {
    expect(fs.lstat("/bin/busybox")?.layer).toBe(0);
    expect(fs.lstat("/bin/busybox")?.type).toBe("file");
    const zlibSo = fs.list().find((f) => /\/libz\.so\.1\.\d/.test(f.path));
    expect(zlibSo?.layer).toBe(1);
    expect(fs.lstat("/etc/motd")).toMatchObject({ layer: 2, size: 20, mode: 0o600 });
  });

  it("applies whiteouts: a deleted file is gone from the merged view", () => {
    expect(fs.lstat("/etc/debian_version")).toBeUndefined();
    // but the per-layer view still shows it in layer 0
    expect(
      fs.layers[0]?.some((e) => e.kind === "file" && e.node.path === "/etc/debian_version"),
    ).toBe(true);
  });

  it("applies opaque directories to lower layers only", () => {
    const docs = fs.list().filter((f) => f.path.startsWith("/usr/share/doc/"));
    expect(docs.map((f) => f.path)).toEqual(["/usr/share/doc/README.cleanimg"]);
  });

  it("follows symlinks inside the root", () => {
    expect(fs.lstat("/etc/os-release")?.type).toBe("symlink");
    expect(fs.realpath("/etc/os-release")).toBe("/usr/lib/os-release");
  });

  it("lists paths in sorted order without duplicates", () => {
    const paths = fs.list().map((f) => f.path);
    expect([...paths].sort()).toEqual(paths);
    expect(new Set(paths).size).toBe(paths.length);
    expect(fs.issues).toEqual([]);
  });

  it("exports the merged view with contents identical to the packages", async () => {
    const out = join(tempDir(), "rootfs");
    const r = await exportFilesystem(fs, out);
    expect(r.issues).toEqual([]);
    expect(readFileSync(join(out, "etc/motd"), "utf8")).toBe("replaced in layer 2\n");
    expect(readlinkSync(join(out, "etc/os-release"))).toBe("../usr/lib/os-release");
    // busybox in the export is byte-identical to the one in the .deb
    const ref = join(tempDir(), "deb");
    execFileSync("dpkg-deb", ["-x", fetchDebs(["busybox-static"])[0] as string, ref]);
    expect(
      readFileSync(join(out, "bin/busybox")).equals(readFileSync(join(ref, "bin/busybox"))),
    ).toBe(true);
    expect(lstatSync(join(out, "bin/busybox")).mode & 0o777).toBe(0o755);
    expect(() => lstatSync(join(out, "etc/debian_version"))).toThrow();
  });
});

describe("hostile images", () => {
  it("skips ../ entries and never writes outside the export target", async () => {
    const img = await build([
      {
        kind: "files",
        files: [
          { name: "../../escape.txt", type: "file", body: "x" },
          { name: "ok/../../../escape2.txt", type: "file", body: "x" },
          { name: "fine.txt", type: "file", body: "ok" },
        ],
      },
    ]);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.list().map((f) => f.path)).toEqual(["/fine.txt"]);
    expect(fs.issues.filter((i) => i.code === "SOURCE_PATH_UNSAFE")).toHaveLength(2);
    const parent = tempDir();
    await exportFilesystem(fs, join(parent, "a", "b"));
    expect(readdirSync(parent)).toEqual(["a"]);
    expect(readdirSync(join(parent, "a"))).toEqual(["b"]);
  });

  it("reads absolute entry names relative to the root, recording an issue", async () => {
    const img = await build([
      { kind: "files", files: [{ name: "/etc/abs", type: "file", body: "a" }] },
    ]);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.lstat("/etc/abs")?.size).toBe(1);
    expect(fs.issues.map((i) => i.code)).toContain("SOURCE_PATH_UNSAFE");
  });

  it("never writes through a symlink planted to point outside the root", async () => {
    const victim = tempDir();
    const img = await build([
      {
        kind: "files",
        files: [
          { name: "evil", type: "symlink", linkname: victim },
          { name: "evil/pwned", type: "file", body: "x" },
          { name: "up", type: "symlink", linkname: "../../../../../../../../../../" },
        ],
      },
    ]);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.lstat("/evil/pwned")).toBeUndefined();
    expect(fs.realpath("/up")).toBe("/");
    // like containerd, the link is followed inside the root: the entry lands under the
    // image's own copy of that path, never in the host directory
    expect(fs.lstat(`${victim}/pwned`)?.type).toBe("file");
    const out = join(tempDir(), "x");
    await exportFilesystem(fs, out);
    expect(readdirSync(victim)).toEqual([]);
    expect(readlinkSync(join(out, "evil"))).toBe(victim);
    expect(readFileSync(join(out, victim, "pwned"), "utf8")).toBe("x");
  });

  it("places entries under a symlinked directory where the link points (merged /usr)", async () => {
    const img = await build([
      {
        kind: "files",
        files: [
          { name: "usr/", type: "dir" },
          { name: "usr/lib/", type: "dir" },
          { name: "lib", type: "symlink", linkname: "usr/lib" },
        ],
      },
      {
        kind: "files",
        files: [
          { name: "lib/x86_64-linux-gnu/", type: "dir" },
          { name: "lib/x86_64-linux-gnu/libfoo.so.1", type: "file", body: "elf" },
          { name: "lib/libbar.so", type: "hardlink", linkname: "lib/x86_64-linux-gnu/libfoo.so.1" },
        ],
      },
    ]);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.issues).toEqual([]);
    expect(fs.lstat("/usr/lib/x86_64-linux-gnu/libfoo.so.1")).toMatchObject({ layer: 1, size: 3 });
    expect(fs.lstat("/usr/lib/libbar.so")).toMatchObject({ type: "hardlink", size: 3 });
    expect(fs.lstat("/lib")?.type).toBe("symlink");
    const out = join(tempDir(), "x");
    const r = await exportFilesystem(fs, out);
    expect(r.issues).toEqual([]);
    expect(readFileSync(join(out, "lib/x86_64-linux-gnu/libfoo.so.1"), "utf8")).toBe("elf");
    expect(lstatSync(join(out, "usr/lib/libbar.so")).ino).toBe(
      lstatSync(join(out, "usr/lib/x86_64-linux-gnu/libfoo.so.1")).ino,
    );
  });

  it("skips an entry whose parent is a regular file", async () => {
    const img = await build([
      { kind: "files", files: [{ name: "f", type: "file", body: "x" }] },
      { kind: "files", files: [{ name: "f/child", type: "file", body: "y" }] },
    ]);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.lstat("/f")?.type).toBe("file");
    expect(fs.issues.map((i) => i.code)).toEqual(["SOURCE_PATH_UNSAFE"]);
  });

  it("refuses hard links that point outside the root or at nothing", async () => {
    const img = await build([
      {
        kind: "files",
        files: [
          { name: "etc/", type: "dir" },
          { name: "etc/shadow-link", type: "hardlink", linkname: "../../../../etc/shadow" },
          { name: "real", type: "file", body: "data" },
          { name: "good-link", type: "hardlink", linkname: "real" },
        ],
      },
    ]);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.lstat("/good-link")).toMatchObject({ type: "hardlink", size: 4 });
    const out = join(tempDir(), "x");
    const r = await exportFilesystem(fs, out);
    expect(r.hardlinks).toBe(1);
    expect(r.issues.map((i) => i.code)).toContain("SOURCE_HARDLINK_UNRESOLVED");
    expect(() => lstatSync(join(out, "etc/shadow-link"))).toThrow();
    expect(lstatSync(join(out, "good-link")).ino).toBe(lstatSync(join(out, "real")).ino);
  });

  it("detects symlink loops when resolving", async () => {
    const img = await build([
      {
        kind: "files",
        files: [
          { name: "a", type: "symlink", linkname: "b" },
          { name: "b", type: "symlink", linkname: "a" },
          { name: "self", type: "symlink", linkname: "self/x" },
        ],
      },
    ]);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.list()).toHaveLength(3);
    expect(() => fs.realpath("/a")).toThrow(SourceError);
    expect(() => fs.realpath("/self/y")).toThrowError(/too many levels/);
  });

  it("keeps the last of duplicate entries and records an issue", async () => {
    const img = await build([
      {
        kind: "files",
        files: [
          { name: "dup", type: "file", body: "first" },
          { name: "dup", type: "file", body: "second!" },
        ],
      },
    ]);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.lstat("/dup")?.size).toBe(7);
    expect(fs.issues.map((i) => i.code)).toEqual(["SOURCE_DUPLICATE_ENTRY"]);
    const out = join(tempDir(), "x");
    await exportFilesystem(fs, out);
    expect(readFileSync(join(out, "dup"), "utf8")).toBe("second!");
  });

  it("lists device files but does not create them on export", async () => {
    const img = await build([
      {
        kind: "files",
        files: [
          { name: "dev/", type: "dir" },
          { name: "dev/sda", type: "block", devmajor: 8, devminor: 0 },
          { name: "dev/null", type: "char", devmajor: 1, devminor: 3 },
          { name: "dev/fifo", type: "fifo" },
        ],
      },
    ]);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.list().map((f) => f.type)).toEqual(["dir", "fifo", "char", "block"]);
    const out = join(tempDir(), "x");
    const r = await exportFilesystem(fs, out);
    expect(r.issues.filter((i) => i.code === "SOURCE_SPECIAL_FILE_SKIPPED")).toHaveLength(3);
    expect(readdirSync(join(out, "dev"))).toEqual([]);
  });

  it("stops at the entry limit (huge entry counts)", async () => {
    const files = Array.from({ length: 3000 }, (_, i) => ({
      name: `f${i}`,
      type: "file" as const,
      body: "",
    }));
    const img = await build([{ kind: "files", files }]);
    await expectToolError(
      ImageFilesystem.open(await open(img.dir), { limits: { maxEntries: 1000 } }),
      "CORE_LIMIT_EXCEEDED",
    );
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.list()).toHaveLength(3000);
  });

  it("stops a gzip bomb at the decompressed-size limit", async () => {
    // 256 MiB of zeros in one file compresses to about 250 KiB.
    const size = 256 * 1024 * 1024;
    const tar = Buffer.concat([
      (await import("../../src/oci/index.js")).encodeTarHeader({
        name: "zeros",
        type: "file",
        size,
      }),
      Buffer.alloc(size),
      Buffer.alloc(1024),
    ]);
    const img = await build([{ kind: "raw", tar }]);
    const blobSize = Number(JSON.parse(img.manifestBytes.toString()).layers[0].size);
    expect(blobSize).toBeLessThan(1024 * 1024);
    await expectToolError(
      ImageFilesystem.open(await open(img.dir), { limits: { maxLayerBytes: 64 * 1024 * 1024 } }),
      "CORE_LIMIT_EXCEEDED",
    );
  });

  it("names the blob and source of a truncated layer", async () => {
    const img = await build([
      { kind: "files", files: [{ name: "f", type: "file", body: "x".repeat(10000) }] },
    ]);
    const blob = join(img.dir, "blobs/sha256", (img.layerDigests[0] as string).slice(7));
    truncateSync(blob, 50);
    const e = await expectToolError(
      ImageFilesystem.open(await open(img.dir)),
      "CORE_SIZE_MISMATCH",
    );
    expect(e.message).toContain(img.layerDigests[0]);
    expect(e.message).toContain(img.dir);
  });

  it("names the blob of a layer whose bytes do not match its digest", async () => {
    const img = await build([
      { kind: "files", files: [{ name: "f", type: "file", body: "original" }] },
    ]);
    const blob = join(img.dir, "blobs/sha256", (img.layerDigests[0] as string).slice(7));
    const other = gzipSync(Buffer.alloc(readFileSync(blob).length));
    writeFileSync(
      blob,
      Buffer.concat([other, Buffer.alloc(readFileSync(blob).length - other.length)]).subarray(
        0,
        readFileSync(blob).length,
      ),
    );
    const e = await expectToolError(
      ImageFilesystem.open(await open(img.dir)),
      "CORE_DIGEST_MISMATCH",
    );
    expect(e.message).toContain(img.layerDigests[0]);
  });

  it("rejects a layer whose uncompressed content does not match its diff id", async () => {
    const img = await build(
      [{ kind: "files", files: [{ name: "f", type: "file", body: "a" }] }],
      "none",
    );
    // rewrite the config with a wrong diff id and re-point the manifest at it
    const { rewriteConfig } = await import("../support/mutate.js");
    rewriteConfig(img.dir, (c) => ({
      ...c,
      rootfs: { type: "layers", diff_ids: [`sha256:${"0".repeat(64)}`] },
    }));
    await expectToolError(ImageFilesystem.open(await open(img.dir)), "CORE_DIGEST_MISMATCH");
  });

  it("reports a manifest naming a missing blob", async () => {
    const img = await build([{ kind: "files", files: [{ name: "f", type: "file", body: "a" }] }]);
    const { rmSync } = await import("node:fs");
    rmSync(join(img.dir, "blobs/sha256", (img.layerDigests[0] as string).slice(7)));
    await expectToolError(ImageFilesystem.open(await open(img.dir)), "OCI_BLOB_UNKNOWN", OciError);
    rmSync(join(img.dir, "blobs/sha256", img.configDigest.slice(7)));
    await expectToolError(open(img.dir), "OCI_BLOB_UNKNOWN", OciError);
  });

  it("reports a tar truncated inside a valid compressed stream", async () => {
    const { encodeTarHeader } = await import("../../src/oci/index.js");
    const tar = Buffer.concat([
      encodeTarHeader({ name: "f", type: "file", size: 4096 }),
      Buffer.alloc(1000),
    ]);
    const img = await build([{ kind: "raw", tar }]);
    await expectToolError(ImageFilesystem.open(await open(img.dir)), "OCI_TAR_TRUNCATED", OciError);
  });

  it("reports corrupt gzip data", async () => {
    const img = await build([{ kind: "raw", tar: Buffer.alloc(0) }], "none");
    const { rewriteLayer } = await import("../support/mutate.js");
    rewriteLayer(
      img.dir,
      0,
      Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4]),
      "application/vnd.oci.image.layer.v1.tar+gzip",
    );
    await expectToolError(
      ImageFilesystem.open(await open(img.dir)),
      "OCI_DECOMPRESS_FAILED",
      OciError,
    );
  });

  it("names an unsupported layer media type", async () => {
    const img = await build([{ kind: "raw", tar: Buffer.alloc(1024) }], "none");
    const { rewriteLayer } = await import("../support/mutate.js");
    rewriteLayer(img.dir, 0, Buffer.alloc(1024), "application/vnd.example.layer.v1.tar+lz4");
    const e = await expectToolError(open(img.dir), "OCI_UNSUPPORTED_MEDIA_TYPE", OciError);
    expect(e.message).toContain("application/vnd.example.layer.v1.tar+lz4");
  });

  it("reads zstd-compressed layers", async () => {
    const { layerFromFiles } = await import("../support/build-image.js");
    const tar = await layerFromFiles([{ name: "hello", type: "file", body: "zstd works\n" }]);
    const zst = execFileSync("zstd", ["-q", "-c"], { input: tar });
    const img = await build([{ kind: "raw", tar: Buffer.alloc(1024) }], "none");
    const { rewriteLayer } = await import("../support/mutate.js");
    rewriteLayer(img.dir, 0, zst, "application/vnd.oci.image.layer.v1.tar+zstd", tar);
    const fs = await ImageFilesystem.open(await open(img.dir));
    expect(fs.lstat("/hello")?.size).toBe(11);
  });
});
