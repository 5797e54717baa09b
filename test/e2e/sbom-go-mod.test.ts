import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext, generateSbom, type SbomResult } from "../../src/app/index.js";
import { parseGoMod } from "../../src/sbom/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { buildGoModuleBinary, goToolchain } from "../support/go-fixture.js";
import { tempDir } from "../support/tmp.js";

interface EditJson {
  Module?: { Path: string };
  Require: { Path: string; Version: string; Indirect?: boolean }[] | null;
  Replace:
    | { Old: { Path: string; Version?: string }; New: { Path: string; Version?: string } }[]
    | null;
}

/** The go command's own reading of a go.mod (`go mod edit -json`, Debian's Go 1.19). */
function goModEditJson(file: string): EditJson {
  const { go, goroot } = goToolchain();
  return JSON.parse(
    execFileSync(go, ["mod", "edit", "-json", file], {
      encoding: "utf8",
      env: { ...process.env, GOROOT: goroot, GOFLAGS: "-mod=mod" },
    }),
  );
}

function goModFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    const st = statSync(p);
    return st.isDirectory() ? goModFiles(p) : f === "go.mod" ? [p] : [];
  });
}

describe("go.mod files", () => {
  const { goroot } = goToolchain();
  // goroot is .../usr/lib/go-1.19; its sources are in .../usr/share/go-1.19
  const src = join(dirname(dirname(goroot)), "share/go-1.19");
  const fixture = join(dirname(buildGoModuleBinary()), "hello/go.mod");
  const files = [...goModFiles(src), fixture];

  it("parses every go.mod of Go's own source tree and the module fixture as the go command does", () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) {
      const want = goModEditJson(f);
      const got = parseGoMod(readFileSync(f, "utf8"));
      expect(got.module, f).toBe(want.Module?.Path);
      expect(got.require, f).toEqual(
        (want.Require ?? []).map((r) => ({
          path: r.Path,
          version: r.Version,
          indirect: r.Indirect === true,
        })),
      );
      expect(got.replace, f).toEqual(
        (want.Replace ?? []).map((r) => ({
          old: { path: r.Old.Path, ...(r.Old.Version ? { version: r.Old.Version } : {}) },
          new: { path: r.New.Path, ...(r.New.Version ? { version: r.New.Version } : {}) },
        })),
      );
    }
    expect(files.some((f) => (goModEditJson(f).Require ?? []).some((r) => r.Indirect))).toBe(true);
  });

  it("handles quoted paths, single-line blocks and module-version replacements", () => {
    const got = parseGoMod(
      [
        'module "example.com/m"',
        "require (",
        "\tgolang.org/x/net v0.1.0 // indirect",
        '\t"example.com/q" v1.0.0',
        ")",
        "replace golang.org/x/net v0.1.0 => golang.org/x/net v0.7.0",
        "exclude example.com/q v0.9.0",
      ].join("\n"),
    );
    expect(got).toEqual({
      module: "example.com/m",
      require: [
        { path: "golang.org/x/net", version: "v0.1.0", indirect: true },
        { path: "example.com/q", version: "v1.0.0", indirect: false },
      ],
      replace: [
        {
          old: { path: "golang.org/x/net", version: "v0.1.0" },
          new: { path: "golang.org/x/net", version: "v0.7.0" },
        },
      ],
    });
  });

  describe("in an image", () => {
    let r: SbomResult;
    const cmdMod = join(src, "src/cmd/go.mod");
    beforeAll(async () => {
      const layout = join(tempDir(), "img");
      await buildImageLayout({
        dir: layout,
        tag: "gomod",
        layers: [
          {
            kind: "files",
            files: [
              { name: "src/", type: "dir" },
              { name: "src/cmd/", type: "dir" },
              { name: "src/cmd/go.mod", type: "file", body: readFileSync(cmdMod) },
              {
                name: "src/cmd/go.sum",
                type: "file",
                body: readFileSync(join(src, "src/cmd/go.sum")),
              },
              { name: "src/hello/", type: "dir" },
              { name: "src/hello/go.mod", type: "file", body: readFileSync(fixture) },
              { name: "src/x/", type: "dir" },
              { name: "src/x/testdata/", type: "dir" },
              { name: "src/x/testdata/go.mod", type: "file", body: readFileSync(cmdMod) },
            ],
          },
        ],
      });
      const ctx = createAppContext({ home: tempDir("cleanimg-gomod-"), env: {} });
      r = await generateSbom(ctx, `oci:${layout}:gomod`, { created: new Date(0), record: false });
    });

    it("reports each required module once per go.mod, with go.sum's h1 hash, skipping testdata", () => {
      const mods = r.sbom.packages.filter((p) => p.foundBy === "go-mod-file-cataloger");
      const want = goModEditJson(cmdMod).Require ?? [];
      const fromCmd = mods.filter((p) => p.locations[0]?.path === "/src/cmd/go.mod");
      expect(fromCmd.map((p) => `${p.name} ${p.version}`).sort()).toEqual(
        want.map((x) => `${x.Path} ${x.Version}`).sort(),
      );
      const sum = readFileSync(join(src, "src/cmd/go.sum"), "utf8");
      for (const p of fromCmd) {
        const line = sum.split("\n").find((l) => l.startsWith(`${p.name} ${p.version} `));
        expect(p.properties?.["go:h1"], p.name).toBe(line?.split(" ")[2]);
        expect(p.purl).toBe(`pkg:golang/${p.name}@${p.version}`);
      }
      expect(fromCmd.filter((p) => p.properties?.["go:indirect"] === "true").length).toBe(
        want.filter((x) => x.Indirect).length,
      );
      // a directory replacement keeps the required version, and says what replaced it
      const greet = mods.find((p) => p.name === "example.com/greet");
      expect(greet?.version).toBe("v1.2.3");
      expect(greet?.properties?.["go:replacedBy"]).toBe("../greet");
      expect(mods.some((p) => p.locations[0]?.path.includes("/testdata/"))).toBe(false);
    });
  });
});
