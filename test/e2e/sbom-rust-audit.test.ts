import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createAppContext, generateSbom } from "../../src/app/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { tempDir } from "../support/tmp.js";

/**
 * Debian builds ripgrep without cargo-auditable, so the test embeds what cargo-auditable would:
 * the crates Debian built rg from (its X-Cargo-Built-Using field), as zlib-compressed JSON in a
 * `.dep-v0` section that objcopy adds to the real binary. The section is read back the way
 * cargo-auditable documents for shell users (objcopy --dump-section, then inflate).
 */
function auditedRipgrep(level: number): {
  binary: Buffer;
  json: string;
  plain: Buffer;
  compressed: Buffer;
} {
  const [deb] = fetchDebs(["ripgrep"]);
  const dir = tempDir();
  execFileSync("dpkg-deb", ["-x", deb as string, dir]);
  const control = execFileSync(
    "dpkg-deb",
    ["-f", deb as string, "X-Cargo-Built-Using", "Version"],
    {
      encoding: "utf8",
    },
  );
  const crates = [...control.matchAll(/rust-([a-z0-9-]+?)(?:-\d+)? \(= ([^)\s]+)\)/g)].map((m) => ({
    name: m[1] as string,
    version: (m[2] as string).replace(/-[^-]+$/, ""),
  }));
  const version = (/^Version: (\S+)/m.exec(control)?.[1] ?? "").replace(/-[^-]+$/, "");
  const packages = [
    {
      name: "ripgrep",
      version,
      source: "local",
      dependencies: crates.map((_, i) => i + 1),
      root: true,
    },
    ...crates.map((c) => ({ ...c, source: "crates.io" })),
    // a build script's dependency: compiled into the build, not into the binary
    { name: "cc", version: "1.0.73", source: "crates.io", kind: "build" },
  ];
  const json = JSON.stringify({ packages });
  const section = join(dir, "dep-v0");
  const compressed = deflateSync(json, { level });
  writeFileSync(section, compressed);
  const out = join(dir, "rg-audited");
  execFileSync("objcopy", [
    "--add-section",
    `.dep-v0=${section}`,
    "--set-section-flags",
    ".dep-v0=noload,readonly",
    join(dir, "usr/bin/rg"),
    out,
  ]);
  return {
    binary: readFileSync(out),
    json,
    plain: readFileSync(join(dir, "usr/bin/rg")),
    compressed,
  };
}

describe("Rust binaries built with cargo auditable", () => {
  it("reports the runtime crates of the embedded audit data, at every zlib level", async () => {
    for (const level of [1, 6, 9]) {
      const { binary, json, plain } = auditedRipgrep(level);
      const dir = tempDir();
      writeFileSync(join(dir, "rg"), binary, { mode: 0o755 });
      // the section is where cargo-auditable's own documented reader finds it
      const dumpedFile = join(tempDir(), "dep-v0");
      execFileSync("objcopy", [
        "--dump-section",
        `.dep-v0=${dumpedFile}`,
        join(dir, "rg"),
        join(tempDir(), "copy"),
      ]);
      const truth = JSON.parse(
        execFileSync(
          "/usr/bin/python3",
          [
            "-c",
            "import sys,zlib;sys.stdout.write(zlib.decompress(open(sys.argv[1],'rb').read()).decode())",
            dumpedFile,
          ],
          { encoding: "utf8" },
        ),
      ) as { packages: { name: string; version: string; kind?: string }[] };
      expect(JSON.stringify(truth)).toBe(json);
      const runtime = new Set(
        truth.packages.filter((p) => p.kind !== "build").map((p) => `${p.name} ${p.version}`),
      );
      expect(runtime.size).toBeGreaterThan(20);

      const layout = join(tempDir(), "img");
      await buildImageLayout({
        dir: layout,
        tag: "rg",
        layers: [
          {
            kind: "files",
            files: [
              { name: "usr/local/bin/rg", type: "file", mode: 0o755, body: binary },
              // the same program without audit data: no crates, no issue
              { name: "usr/bin/rg", type: "file", mode: 0o755, body: plain },
            ],
          },
        ],
      });
      const ctx = createAppContext({ home: tempDir(), env: {} });
      const { sbom } = await generateSbom(ctx, `oci:${layout}:rg`, {
        record: false,
        created: new Date(0),
      });
      await ctx.close();
      const crates = sbom.packages.filter((p) => p.foundBy === "rust-cargo-auditable-cataloger");
      expect(new Set(crates.map((p) => `${p.name} ${p.version}`)), `level ${level}`).toEqual(
        runtime,
      );
      expect(crates.every((p) => p.locations[0]?.path === "/usr/local/bin/rg")).toBe(true);
      expect(crates.some((p) => p.name === "cc")).toBe(false);
      const root = crates.find((p) => p.name === "ripgrep");
      expect(root?.properties?.["cargo:root"]).toBe("true");
      expect(root?.dependsOn.length).toBe(runtime.size - 1);
      const memchr = crates.find((p) => p.name === "memchr");
      expect(memchr?.purl).toBe(`pkg:cargo/memchr@${memchr?.version}`);
      expect(sbom.issues.filter((i) => i.code === "SBOM_RUST_AUDIT_UNREAD")).toEqual([]);
    }
  });

  it("a truncated section is a recorded issue naming the binary", async () => {
    const { binary, compressed } = auditedRipgrep(6);
    // cut the file inside the compressed data: the JSON cannot be completed
    const at = binary.indexOf(compressed.subarray(0, 64));
    expect(at).toBeGreaterThan(0);
    const dir = tempDir();
    // past the bytes a match is judged on, short of the end of the stream
    expect(compressed.length).toBeGreaterThan(600);
    writeFileSync(join(dir, "rg"), binary.subarray(0, at + 560), { mode: 0o755 });
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const { sbom } = await generateSbom(ctx, `dir:${dir}`, { record: false, created: new Date(0) });
    await ctx.close();
    expect(sbom.packages.filter((p) => p.type === "cargo")).toEqual([]);
    expect(sbom.issues.map((i) => [i.code, i.path])).toContainEqual([
      "SBOM_RUST_AUDIT_UNREAD",
      "/rg",
    ]);
  });
});
