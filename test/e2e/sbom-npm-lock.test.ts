import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, generateSbom } from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** Production dependencies in the lockfile, as npm itself lists them (offline). */
function npmLsTruth(dir: string): Set<string> {
  const out = execFileSync("npm", ["ls", "--all", "--omit=dev", "--package-lock-only", "--json"], {
    cwd: dir,
    encoding: "utf8",
  });
  const set = new Set<string>();
  const walk = (
    deps: Record<string, { version?: string; dependencies?: object }> | undefined,
  ): void => {
    for (const [name, d] of Object.entries(deps ?? {})) {
      if (d.version) {
        set.add(`${name} ${d.version}`);
      }
      walk(d.dependencies as Record<string, { version?: string }> | undefined);
    }
  };
  walk(JSON.parse(out).dependencies);
  return set;
}

describe("npm lockfiles", () => {
  it("reports the production tree of this project's own package-lock.json as npm ls does", async () => {
    const dir = join(tempDir(), "rootfs");
    mkdirSync(join(dir, "srv/app"), { recursive: true });
    copyFileSync(join(ROOT, "package.json"), join(dir, "srv/app/package.json"));
    copyFileSync(join(ROOT, "package-lock.json"), join(dir, "srv/app/package-lock.json"));
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const r = await generateSbom(ctx, `dir:${dir}`, { record: false, created: new Date(0) });
    await ctx.close();
    const got = new Set(
      r.sbom.packages
        .filter((p) => p.foundBy === "npm-lock-cataloger")
        .map((p) => `${p.name} ${p.version}`),
    );
    const truth = npmLsTruth(join(dir, "srv/app"));
    expect(truth.size).toBeGreaterThan(5);
    expect(got).toEqual(truth);
    const sqlite = r.sbom.packages.find((p) => p.name === "better-sqlite3");
    expect(sqlite?.checksums[0]?.algorithm).toBe("SHA512");
    expect(sqlite?.checksums[0]?.value).toMatch(/^[0-9a-f]{128}$/);
  });

  it("does not report a locked package again where it is installed beside the lockfile", async () => {
    const dir = join(tempDir(), "rootfs");
    mkdirSync(join(dir, "app/node_modules/commander"), { recursive: true });
    copyFileSync(join(ROOT, "package-lock.json"), join(dir, "app/package-lock.json"));
    copyFileSync(
      join(ROOT, "node_modules/commander/package.json"),
      join(dir, "app/node_modules/commander/package.json"),
    );
    writeFileSync(join(dir, "app/package.json"), "{}");
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const r = await generateSbom(ctx, `dir:${dir}`, { record: false, created: new Date(0) });
    await ctx.close();
    const commander = r.sbom.packages.filter((p) => p.name === "commander");
    expect(commander.map((p) => p.foundBy)).toEqual(["npm-installed-package-cataloger"]);
  });
});
