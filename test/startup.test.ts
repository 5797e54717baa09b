import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "./support/tmp.js";

/**
 * What a start of the command line loads (docs/adr/0014). `--version`, `--help` and a usage
 * error load commander and the command definitions only: no application module, no heavy
 * library. A command loads the libraries it runs and no others. Only modules are counted here,
 * never time (bench/startup.ts measures that).
 */

const ROOT = resolve(import.meta.dirname, "..");
const MAIN = join(ROOT, "src/cli/main.ts");
const PROBE = join(ROOT, "test/support/startup/probe.mjs");

/**
 * The libraries loaded on first use (core/lazy.ts), not with the application: a command loads
 * those it runs. A bare start loads no library but commander (checked below).
 */
const HEAVY = [
  "@sigstore/",
  "@bufbuild/",
  "@kubernetes/",
  "pg",
  "better-sqlite3",
  "playwright-core",
  "yaml",
  "smol-toml",
  "packageurl-js",
  "spdx-correct",
  "spdx-expression-parse",
  "ae-cvss-calculator",
  "fzstd",
];

interface Loaded {
  readonly code: number | null;
  /** src/ modules, relative to src/ */
  readonly own: string[];
  /** package names from node_modules, tsx's own left out */
  readonly packages: string[];
}

const TSX_OWN = new Set(["tsx", "esbuild", "get-tsconfig", "resolve-pkg-maps"]);

function packageOf(path: string): string | undefined {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  return m?.[1];
}

function loadedBy(args: readonly string[]): Loaded {
  const dir = tempDir("cleanimg-startup-");
  const out = join(dir, "loaded.txt");
  writeFileSync(out, "");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--import", PROBE, MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, CLEANIMG_HOME: join(dir, "home"), STARTUP_PROBE_OUT: out },
    encoding: "utf8",
  });
  const paths = readFileSync(out, "utf8")
    .split("\n")
    .filter((u) => u.startsWith("file://"))
    .map((u) => fileURLToPath(u.split("?")[0] as string));
  const src = join(ROOT, "src");
  return {
    code: r.status,
    own: [...new Set(paths.filter((p) => p.startsWith(`${src}/`)).map((p) => relative(src, p)))],
    packages: [
      ...new Set(paths.map(packageOf).filter((p): p is string => !!p && !TSX_OWN.has(p))),
    ].sort(),
  };
}

const heavyIn = (packages: readonly string[]) =>
  packages.filter((p) => HEAVY.some((h) => (h.endsWith("/") ? p.startsWith(h) : p === h)));

/** A src/ module the command line may load before a command runs. */
const BARE = (m: string) =>
  m.startsWith("cli/") || m.startsWith("core/") || m.endsWith("/names.ts");

describe("start-up", () => {
  for (const args of [
    ["--version"],
    ["--help"],
    ["scan", "--help"],
    ["scan", "--no-such-option"],
  ]) {
    it(`\`${args.join(" ")}\` loads commander and the command definitions only`, () => {
      const r = loadedBy(args);
      expect(r.code).toBe(args.includes("--no-such-option") ? 2 : 0);
      expect(r.packages.filter((p) => p !== "commander")).toEqual([]);
      expect(r.own.filter((m) => !BARE(m))).toEqual([]);
      expect(r.own).toContain("cli/main.ts");
    });
  }

  it("`--version` prints what commander prints for it, without loading commander", () => {
    const direct = spawnSync(process.execPath, ["--import", "tsx", MAIN, "--version"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    // the same version through commander (two arguments: not the entry's shortcut)
    const viaCommander = spawnSync(
      process.execPath,
      ["--import", "tsx", MAIN, "--quiet", "--version"],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(direct.status).toBe(0);
    expect(direct.stdout).toBe(viaCommander.stdout);
    expect(direct.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(loadedBy(["--version"]).packages).toEqual([]);
  });

  it("a command loads the application, and only the libraries it uses", () => {
    const r = loadedBy(["version", "compare", "--ecosystem", "npm", "1.0.0", "1.0.1"]);
    expect(r.code).toBe(0);
    expect(r.own).toContain("app/index.ts");
    expect(r.packages).toContain("semver");
    expect(heavyIn(r.packages)).toEqual([]);
  });

  it("policy test loads CEL, and neither Sigstore nor PostgreSQL", () => {
    const dir = tempDir("cleanimg-startup-");
    const fixture = join(dir, "fixture.json");
    writeFileSync(fixture, JSON.stringify({ input: {}, expect: { allow: false } }));
    const r = loadedBy(["policy", "test", fixture]);
    expect(r.code).toBe(0);
    expect(r.packages).toContain("@bufbuild/cel");
    expect(heavyIn(r.packages).filter((p) => p.startsWith("@sigstore/") || p === "pg")).toEqual([]);
  });
});
