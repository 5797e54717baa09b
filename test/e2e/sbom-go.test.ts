import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext, generateSbom, type SbomResult } from "../../src/app/index.js";
import { parseGoFunctionNames, stdlibVersion } from "../../src/sbom/catalogers/golang/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { gosymFunctions, isStripped, realGoBinaries } from "../support/go-binaries.js";
import { buildGoModuleBinary, goToolchain, goVersionM } from "../support/go-fixture.js";
import { tempDir } from "../support/tmp.js";

/** Modules `go version -m` lists, as "name version" (stdlib with the Go version). */
function truth(output: string): Set<string> {
  const out = new Set<string>();
  const lines = output.split("\n");
  const go = /: go(\S+)$/.exec(lines[0] ?? "")?.[1];
  if (go) {
    out.add(`stdlib ${go}`);
  }
  for (const l of lines) {
    const f = l.trim().split("\t");
    if (f[0] === "mod" || f[0] === "dep") {
      out.add(`${f[1]} ${f[2]}`);
    }
  }
  return out;
}

describe("Go binaries", () => {
  let result: SbomResult;
  let helloBin: string;
  let umociBin: string;
  beforeAll(async () => {
    helloBin = buildGoModuleBinary();
    const umociDeb = fetchDebs(["umoci"])[0] as string;
    const x = tempDir();
    execFileSync("dpkg-deb", ["-x", umociDeb, x]);
    umociBin = join(x, "usr/bin/umoci");
    const layout = join(tempDir(), "img");
    await buildImageLayout({
      dir: layout,
      tag: "go",
      layers: [
        { kind: "debs", debs: fetchDebs(["base-files", "umoci"]) },
        {
          kind: "files",
          files: [
            { name: "app/", type: "dir" },
            { name: "app/hello", type: "file", mode: 0o755, body: readFileSync(helloBin) },
          ],
        },
      ],
    });
    const ctx = createAppContext({ home: tempDir(), env: {} });
    result = await generateSbom(ctx, `oci:${layout}:go`, { record: false, created: new Date(0) });
    await ctx.close();
  });

  const goPackages = (path: string): Set<string> =>
    new Set(
      result.sbom.packages
        .filter((p) => p.type === "golang" && p.locations[0]?.path === path)
        .map((p) => `${p.name} ${p.version}`),
    );

  it("reads the modules of a module-mode binary as go version -m does (with a replaced dependency)", () => {
    expect(goPackages("/app/hello")).toEqual(truth(goVersionM(helloBin)));
    const greet = result.sbom.packages.find((p) => p.name === "example.com/greet");
    expect(greet?.purl).toBe("pkg:golang/example.com/greet@v1.2.3");
    expect(greet?.properties?.["go:replacedBy"]).toBe("../greet");
    const main = result.sbom.packages.find((p) => p.name === "example.com/hello");
    // the version the build info gives; the commit is a build property, not a module version
    expect(main?.version).toBe("(devel)");
    expect(main?.properties?.["go:build:vcs"]).toBe("git");
    expect(main?.properties?.["go:build:vcs.revision"]).toMatch(/^[0-9a-f]{40}$/);
  });

  it("reads the Go version of a Debian-built binary and links it to its Debian package", () => {
    expect(goPackages("/usr/bin/umoci")).toEqual(truth(goVersionM(umociBin)));
    const stdlib = result.sbom.packages.find(
      (p) => p.name === "stdlib" && p.locations[0]?.path === "/usr/bin/umoci",
    );
    const deb = result.sbom.packages.find((p) => p.type === "deb" && p.name === "umoci");
    expect(result.sbom.relationships).toContainEqual({
      from: deb?.id,
      to: stdlib?.id,
      type: "contains",
    });
    const appStdlib = result.sbom.packages.find(
      (p) => p.name === "stdlib" && p.locations[0]?.path === "/app/hello",
    );
    expect(result.sbom.relationships).toContainEqual({
      from: "root",
      to: appStdlib?.id,
      type: "contains",
    });
  });

  it("skips literal copies of the build-info magic (the go command itself carries one) and finds the real one", async () => {
    const { goroot } = goToolchain();
    const dir = tempDir();
    for (const tool of ["bin/go", "pkg/tool/linux_amd64/link"]) {
      execFileSync("cp", [join(goroot, tool), join(dir, tool.split("/").pop() as string)]);
    }
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const r = await generateSbom(ctx, `dir:${dir}`, { record: false, created: new Date(0) });
    await ctx.close();
    for (const name of ["go", "link"]) {
      const got = new Set(
        r.sbom.packages
          .filter((p) => p.locations[0]?.path === `/${name}`)
          .map((p) => `${p.name} ${p.version}`),
      );
      expect(got, name).toEqual(truth(goVersionM(join(dir, name))));
    }
    expect(r.sbom.issues.filter((i) => i.code === "SBOM_GO_BUILDINFO_UNREAD")).toEqual([]);
  });

  it("finds the same modules in a directory source", async () => {
    const dir = tempDir();
    execFileSync("cp", [helloBin, join(dir, "hello")]);
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const r = await generateSbom(ctx, `dir:${dir}`, { record: false, created: new Date(0) });
    await ctx.close();
    expect(new Set(r.sbom.packages.map((p) => `${p.name} ${p.version}`))).toEqual(
      truth(goVersionM(helloBin)),
    );
  });
});

/**
 * The pclntab's bytes, located through the ELF section headers (readelf): its own section, or in
 * an externally linked binary whose linker merged it, the .data.rel.ro section it is in.
 */
function pclntabSection(file: string): Buffer | undefined {
  const sections = execFileSync("readelf", ["-S", "-W", file], { encoding: "utf8" }).split("\n");
  const section = (re: RegExp): Buffer | undefined => {
    const f = sections
      .find((l) => re.test(l))
      ?.replace(/^.*\]/, "")
      .trim()
      .split(/\s+/);
    const off = Number.parseInt(f?.[3] ?? "", 16);
    return f
      ? readFileSync(file).subarray(off, off + Number.parseInt(f[4] as string, 16))
      : undefined;
  };
  const own = section(/\s\.(data\.rel\.ro\.)?gopclntab\s/);
  if (own) {
    return own;
  }
  const ro = section(/\s\.data\.rel\.ro\s/);
  for (let i = ro?.indexOf(0xff) ?? -1; ro && i >= 1; i = ro.indexOf(0xff, i + 1)) {
    if (typeof parseGoFunctionNames(ro.subarray(i - 1)) !== "string") {
      return ro.subarray(i - 1);
    }
  }
  return undefined;
}

describe("Go function names (pclntab)", () => {
  it("reads the 1.16, 1.18 and 1.20 layouts (Go 1.17 to 1.27, stripped, internally and externally linked) as debug/gosym lists their functions", () => {
    const formats = new Map<string, string[]>();
    for (const b of realGoBinaries()) {
      const tab = pclntabSection(b.path);
      expect(tab, b.name).toBeDefined();
      const ours = parseGoFunctionNames(tab as Buffer);
      if (typeof ours === "string") {
        throw new Error(`${b.name}: ${ours}`);
      }
      formats.set(ours.format, [...(formats.get(ours.format) ?? []), b.name]);
      // every function gosym finds through the function table is in the name table, which
      // holds more: the functions inlined into others
      const names = new Set(ours.names);
      const funcs = gosymFunctions(b.path);
      expect(funcs.length, b.name).toBeGreaterThan(1000);
      expect(
        funcs.filter((n) => !names.has(n)),
        b.name,
      ).toEqual([]);
      expect(names.size, b.name).toBeGreaterThan(new Set(funcs).size);
      expect(isStripped(b.path), b.name).toBe(true);
    }
    expect([...formats.keys()].sort()).toEqual(["1.16", "1.18", "1.20"]);
  });

  it("reads the pointer-format build info of Go 1.17 (esbuild 0.13.15, stripped) as go version -m does, and its 1.16-layout names", async () => {
    const bin = realGoBinaries().find((b) => b.name.startsWith("esbuild-linux-64@0.13.15"));
    const file = bin?.path as string;
    const dir = tempDir();
    execFileSync("cp", [file, join(dir, "esbuild")]);
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const r = await generateSbom(ctx, `dir:${dir}`, { record: false, created: new Date(0) });
    const got = r.sbom.packages.filter((p) => p.type === "golang");
    expect(new Set(got.map((p) => `${p.name} ${p.version}`))).toEqual(truth(goVersionM(file)));
    expect(got[0]?.symbols?.table).toBe("gopclntab (Go 1.16 layout)");
    const names = parseGoFunctionNames(pclntabSection(file) as Buffer) as { names: string[] };
    expect(got[0]?.symbols?.names).toEqual(names.names);
    // an image's files are not kept: the pointers cannot be followed, and it says so
    const img = join(tempDir(), "img");
    await buildImageLayout({
      dir: img,
      tag: "go117",
      layers: [
        {
          kind: "files",
          files: [
            { name: "bin/", type: "dir" },
            { name: "bin/esbuild", type: "file", mode: 0o755, body: readFileSync(file) },
          ],
        },
      ],
    });
    const i = await generateSbom(ctx, `oci:${img}:go117`, { record: false, created: new Date(0) });
    await ctx.close();
    expect(i.sbom.packages.filter((p) => p.type === "golang")).toEqual([]);
    expect(i.sbom.issues).toContainEqual(
      expect.objectContaining({
        code: "SBOM_GO_BUILDINFO_UNREAD",
        path: "/bin/esbuild",
        message: expect.stringMatching(/pointer format.*does not keep/),
      }),
    );
  });

  it("names the standard library of a first release (go1.19) 1.19.0, as govulncheck reads it", () => {
    expect(stdlibVersion("go1.19")).toBe("1.19.0");
    expect(stdlibVersion("go1.19.8")).toBe("1.19.8");
    expect(stdlibVersion("go1.21.0")).toBe("1.21.0");
    expect(stdlibVersion("go1.22rc1")).toBe("1.22rc1");
  });
});
