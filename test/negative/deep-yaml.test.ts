import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { layoutFromYaml } from "../../src/app/intoto-layout.js";
import { parsePnpmLock } from "../../src/sbom/catalogers/javascript/index.js";
import { tempDir } from "../support/tmp.js";

/**
 * Hostile input corrected: YAML nested 20,000 levels deep (a build spec, a policy, an in-toto
 * layout description) overflowed the parser's stack and was reported as a usage error (exit 2,
 * "not valid YAML: Maximum call stack size exceeded"). Like deep JSON, it is refused before it is
 * parsed: CORE_LIMIT_EXCEEDED, exit 3, naming the file. A pnpm lockfile in an image is refused
 * the same way (the cataloger reports it as an issue), and its aliases are bounded.
 */
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, "--json", ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

describe("deeply nested YAML", { timeout: 300_000 }, () => {
  const dir = tempDir();
  const spec = join(dir, "cleanimg.yaml");
  writeFileSync(spec, `image: a:1\nlabels: ${deep(20_000)}\n`);
  const policy = join(dir, "policy.yaml");
  writeFileSync(policy, `rules: ${deep(20_000)}\n`);
  const fixture = join(dir, "fx.json");
  writeFileSync(fixture, JSON.stringify({ input: {}, expect: { allow: true } }));

  it.each([
    ["build --spec", ["build", "--spec", spec], spec],
    ["policy test --policy", ["policy", "test", "--policy", policy, fixture], policy],
  ])("%s: exit 3, CORE_LIMIT_EXCEEDED, naming the file", (_name, args, file) => {
    const r = cli(...args);
    const e = JSON.parse(r.stderr.trim().split("\n").at(-1) ?? "{}").error ?? {};
    expect(r.status, r.stderr).toBe(3);
    expect(e.code).toBe("CORE_LIMIT_EXCEEDED");
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/nested more than 256 levels deep/);
  });

  it("an in-toto layout description: CORE_LIMIT_EXCEEDED", async () => {
    await expect(
      layoutFromYaml(`expires: 90d\nsteps: ${deep(20_000)}\n`, dir, new Date()),
    ).rejects.toMatchObject({ code: "CORE_LIMIT_EXCEEDED" });
  });

  it("a pnpm lockfile: refused as too deep, and an alias bomb is refused", () => {
    expect(() => parsePnpmLock(`lockfileVersion: '9.0'\npackages: ${deep(20_000)}\n`)).toThrow(
      /nested more than 256 levels deep/,
    );
    const bomb = [
      "lockfileVersion: '9.0'",
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      ...Array.from({ length: 9 }, (_, i) => {
        const p = String.fromCharCode(97 + i);
        const n = String.fromCharCode(98 + i);
        return `${n}: &${n} [${Array(10).fill(`*${p}`).join(", ")}]`;
      }),
    ].join("\n");
    expect(() => parsePnpmLock(bomb)).toThrow(/alias/i);
  });
});
