import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext, generateSbom } from "../../src/app/index.js";
import type { Sbom } from "../../src/sbom/index.js";
import { buildImageLayout, type LayerFile } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";

/**
 * A lockfile lists packages that were never installed beside it: npm's optional packages for
 * every other os and cpu (esbuild's @esbuild/darwin-arm64, @esbuild/win32-x64, …) and the
 * development dependencies an `npm install --omit=dev` leaves out. None of them may appear in the
 * SBOM of an image as a package: the installed tree (what `npm ls` reports, the package.json
 * files on disk) is the truth.
 */

const CACHE = resolve(import.meta.dirname, "../../.cache");

const PACKAGE_JSON = {
  name: "app",
  version: "1.0.0",
  private: true,
  dependencies: { esbuild: "0.20.2" },
  devDependencies: { "is-number": "7.0.0" },
};

/** A real production install of a project on esbuild (platform packages) with a dev dependency. */
function npmInstall(): string {
  const dir = join(tempDir(), "app");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify(PACKAGE_JSON, null, 2));
  execFileSync(
    "npm",
    ["install", "--omit=dev", "--no-audit", "--no-fund", "--cache", join(CACHE, "npm-cache")],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 },
  );
  return dir;
}

/** `name version` of every package `npm ls --all` finds installed (missing ones have no version). */
function npmLs(dir: string): Set<string> {
  const out = execFileSync("npm", ["ls", "--all", "--omit=dev", "--json"], {
    cwd: dir,
    encoding: "utf8",
  });
  const set = new Set<string>();
  const walk = (deps: Record<string, { version?: string; dependencies?: object }> = {}): void => {
    for (const [name, d] of Object.entries(deps)) {
      if (d.version) {
        set.add(`${name} ${d.version}`);
      }
      walk(d.dependencies as Record<string, { version?: string }> | undefined);
    }
  };
  walk(JSON.parse(out).dependencies);
  return set;
}

/** `name version` of every package.json directly under a node_modules package directory. */
function onDisk(dir: string): Set<string> {
  const set = new Set<string>();
  const visit = (nm: string): void => {
    if (!existsSync(nm)) {
      return;
    }
    for (const e of readdirSync(nm)) {
      const pkgDirs = e.startsWith("@")
        ? readdirSync(join(nm, e)).map((s) => join(nm, e, s))
        : e.startsWith(".")
          ? []
          : [join(nm, e)];
      for (const p of pkgDirs) {
        const j = JSON.parse(readFileSync(join(p, "package.json"), "utf8"));
        set.add(`${j.name} ${j.version}`);
        visit(join(p, "node_modules"));
      }
    }
  };
  visit(join(dir, "node_modules"));
  return set;
}

/** The project directory as layer entries under `under`. */
function layerOf(dir: string, under: string): LayerFile[] {
  const out: LayerFile[] = [];
  const walk = (p: string): void => {
    const name = `${under}/${relative(dir, p)}`.replace(/\/$/, "");
    const st = lstatSync(p);
    if (st.isSymbolicLink()) {
      out.push({ name, type: "symlink", linkname: readlinkSync(p), mode: 0o777 });
    } else if (st.isDirectory()) {
      out.push({ name, type: "dir", mode: 0o755 });
      for (const e of readdirSync(p).sort()) {
        walk(join(p, e));
      }
    } else {
      out.push({ name, type: "file", mode: st.mode & 0o777, body: readFileSync(p) });
    }
  };
  walk(dir);
  return out;
}

async function scanImage(files: LayerFile[]): Promise<Sbom> {
  const layout = join(tempDir(), "img");
  await buildImageLayout({ dir: layout, tag: "app", layers: [{ kind: "files", files }] });
  const ctx = createAppContext({ home: tempDir(), env: {} });
  try {
    return (await generateSbom(ctx, `oci:${layout}:app`, { record: false, created: new Date(0) }))
      .sbom;
  } finally {
    await ctx.close();
  }
}

const npmPackages = (sbom: Sbom) => sbom.packages.filter((p) => p.type === "npm");
const nv = (ps: readonly { name: string; version: string }[]) =>
  new Set(ps.map((p) => `${p.name} ${p.version}`));

describe("npm: packages a lockfile declares but nothing installed", () => {
  let project: string;
  let lock: { packages: Record<string, { optional?: boolean; dev?: boolean; os?: string[] }> };
  beforeAll(() => {
    project = npmInstall();
    lock = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8"));
  }, 300_000);

  it("the installed tree: only the platform package npm installed (@esbuild/linux-x64) is reported, no other platform's and no dev dependency", async () => {
    const truth = npmLs(project);
    expect(onDisk(project)).toEqual(truth);
    // the lockfile does list the other platforms' packages and the dev dependency
    const locked = Object.keys(lock.packages);
    expect(locked).toContain("node_modules/@esbuild/darwin-arm64");
    expect(locked).toContain("node_modules/@esbuild/win32-x64");
    expect(lock.packages["node_modules/is-number"]?.dev).toBe(true);
    expect(truth.has("esbuild 0.20.2")).toBe(true);
    expect([...truth].filter((p) => p.startsWith("@esbuild/"))).toEqual([
      `@esbuild/${process.platform}-${process.arch} 0.20.2`,
    ]);

    const sbom = await scanImage(layerOf(project, "srv/app"));
    const npm = npmPackages(sbom);
    expect(nv(npm)).toEqual(truth);
    // each reported once, from its installed package.json
    expect(npm.map((p) => p.foundBy)).toEqual(npm.map(() => "npm-installed-package-cataloger"));
    for (const p of npm) {
      expect(p.locations.map((l) => l.path)).toEqual([
        `/srv/app/node_modules/${p.name}/package.json`,
      ]);
    }
  });

  it("the lockfile alone: neither other platforms' optional packages nor dev dependencies are declared", async () => {
    const dir = join(tempDir(), "lockonly");
    mkdirSync(dir);
    cpSync(join(project, "package.json"), join(dir, "package.json"));
    cpSync(join(project, "package-lock.json"), join(dir, "package-lock.json"));
    const sbom = await scanImage(layerOf(dir, "srv/app"));
    const names = npmPackages(sbom).map((p) => p.name);
    expect(names).toContain("esbuild");
    const platform = Object.entries(lock.packages)
      .filter(([, e]) => e.optional && e.os)
      .map(([path]) => path.replace(/^node_modules\//, ""));
    expect(platform.length).toBeGreaterThan(10);
    expect(names.filter((n) => platform.includes(n))).toEqual([]);
    expect(names).not.toContain("is-number");
  });
});

describe("yarn and pnpm: a lockfile beside the tree its package manager installed", () => {
  // The state file each tool writes into node_modules (hand-written here: no yarn or pnpm on this
  // machine) says the tree was installed from the lockfile: what the tree lacks was not installed.
  const tree = (under: string, state: string, lockName: string, lockBody: string): LayerFile[] => [
    { name: `${under}/package.json`, type: "file", body: JSON.stringify(PACKAGE_JSON) },
    { name: `${under}/${lockName}`, type: "file", body: lockBody },
    { name: `${under}/node_modules/${state}`, type: "file", body: "{}\n" },
    {
      name: `${under}/node_modules/esbuild/package.json`,
      type: "file",
      body: JSON.stringify({ name: "esbuild", version: "0.20.2" }),
    },
  ];

  it("yarn 1: neither @esbuild/darwin-arm64 nor the dev dependency is reported", async () => {
    const yarnLock = `# yarn lockfile v1


"@esbuild/darwin-arm64@0.20.2":
  version "0.20.2"
  resolved "https://registry.yarnpkg.com/@esbuild/darwin-arm64/-/darwin-arm64-0.20.2.tgz"

esbuild@0.20.2:
  version "0.20.2"
  optionalDependencies:
    "@esbuild/darwin-arm64" "0.20.2"

is-number@7.0.0:
  version "7.0.0"
`;
    const sbom = await scanImage(tree("srv/y", ".yarn-integrity", "yarn.lock", yarnLock));
    expect(nv(npmPackages(sbom))).toEqual(new Set(["esbuild 0.20.2"]));
  });

  it("yarn 2+: a package with platform conditions is not declared by a lockfile alone", async () => {
    const berry = `__metadata:
  version: 6

"@esbuild/darwin-arm64@npm:0.20.2":
  version: 0.20.2
  resolution: "@esbuild/darwin-arm64@npm:0.20.2"
  conditions: os=darwin & cpu=arm64
  languageName: node
  linkType: hard

"esbuild@npm:0.20.2":
  version: 0.20.2
  resolution: "esbuild@npm:0.20.2"
  languageName: node
  linkType: hard
`;
    const sbom = await scanImage([
      { name: "srv/b/yarn.lock", type: "file", body: berry },
      { name: "srv/b/package.json", type: "file", body: "{}" },
    ]);
    expect(nv(npmPackages(sbom))).toEqual(new Set(["esbuild 0.20.2"]));
  });

  it("pnpm: a package for another os is not declared, and an installed tree is the evidence", async () => {
    const pnpmLock = `lockfileVersion: '6.0'

dependencies:
  esbuild:
    specifier: 0.20.2
    version: 0.20.2

packages:

  /@esbuild/darwin-arm64@0.20.2:
    resolution: {integrity: sha512-AAAA}
    engines: {node: '>=12'}
    cpu: [arm64]
    os: [darwin]
    requiresBuild: true
    dev: false
    optional: true

  /esbuild@0.20.2:
    resolution: {integrity: sha512-AAAA}
    dev: false
    optionalDependencies:
      '@esbuild/darwin-arm64': 0.20.2

  /is-number@7.0.0:
    resolution: {integrity: sha512-AAAA}
    dev: false
`;
    // alone: esbuild and is-number (declared), not the darwin package
    const alone = await scanImage([
      { name: "srv/p/pnpm-lock.yaml", type: "file", body: pnpmLock },
      { name: "srv/p/package.json", type: "file", body: "{}" },
    ]);
    expect(nv(npmPackages(alone))).toEqual(new Set(["esbuild 0.20.2", "is-number 7.0.0"]));
    // installed by pnpm without is-number (pruned): only what is on disk
    const installed = await scanImage(tree("srv/p", ".modules.yaml", "pnpm-lock.yaml", pnpmLock));
    expect(nv(npmPackages(installed))).toEqual(new Set(["esbuild 0.20.2"]));
  });
});
