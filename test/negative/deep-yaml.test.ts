import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { layoutFromYaml } from "../../src/app/intoto-layout.js";
import { assertYamlDepth, yamlDepth } from "../../src/core/yaml.js";
import { parsePnpmLock } from "../../src/sbom/catalogers/javascript/index.js";
import { tempDir } from "../support/tmp.js";

/**
 * Hostile input corrected: YAML nested 20,000 levels deep (a build spec, a policy, an in-toto
 * layout description) overflowed the parser's stack and was reported as a usage error (exit 2,
 * "not valid YAML: Maximum call stack size exceeded"). Like deep JSON, it is refused before it is
 * parsed: CORE_LIMIT_EXCEEDED, exit 3, naming the file. A pnpm lockfile in an image is refused
 * the same way (the cataloger reports it as an issue), and its aliases are bounded. Depth counts
 * block collections (nested by indentation) as well as brackets: 3000 indented levels also
 * overflowed, and 600 were accepted, while only brackets were counted.
 */
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, "--json", ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
/** The command refuses `file` as too deep: exit 3, CORE_LIMIT_EXCEEDED, naming it. */
function expectTooDeep(args: readonly string[], file: string): void {
  const r = cli(...args);
  const e = JSON.parse(r.stderr.trim().split("\n").at(-1) ?? "{}").error ?? {};
  expect(r.status, r.stderr).toBe(3);
  expect(e.code).toBe("CORE_LIMIT_EXCEEDED");
  expect(e.message).toContain(file);
  expect(e.message).toMatch(/nested more than 256 levels deep/);
}
const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
/** A block mapping nested `n` levels by indentation alone (no brackets), under `key`. */
const blockDeep = (key: string, n: number) =>
  `${key}:\n${Array.from({ length: n }, (_, i) => `${" ".repeat(i + 1)}k:`).join("\n")} x\n`;
/** A block sequence nested `n` levels (`- - - x`, then by indentation). */
const seqDeep = (key: string, n: number) =>
  `${key}:\n${Array.from({ length: n }, (_, i) => `${" ".repeat(2 * i + 1)}-`).join("\n")} x\n`;

describe("YAML nested by indentation alone (block collections, no brackets)", {
  timeout: 300_000,
}, () => {
  const dir = tempDir();
  const spec = join(dir, "cleanimg.yaml");
  writeFileSync(spec, `image: a:1\n${blockDeep("labels", 3000)}`);
  const policy = join(dir, "policy.yaml");
  writeFileSync(policy, seqDeep("rules", 3000));
  const shallow = join(dir, "shallow.yaml");
  writeFileSync(shallow, seqDeep("rules", 600));
  const fixture = join(dir, "fx.json");
  writeFileSync(fixture, JSON.stringify({ input: {}, expect: { allow: true } }));

  it.each([
    ["build --spec, 3000 block levels", ["build", "--spec", spec], spec],
    [
      "policy test --policy, 3000 sequence levels",
      ["policy", "test", "--policy", policy, fixture],
      policy,
    ],
    ["policy test --policy, 600 levels", ["policy", "test", "--policy", shallow, fixture], shallow],
  ])("%s: exit 3, CORE_LIMIT_EXCEEDED, naming the file", (_name, args, file) =>
    expectTooDeep(args, file),
  );

  it("an in-toto layout description and a pnpm lockfile: CORE_LIMIT_EXCEEDED", async () => {
    await expect(
      layoutFromYaml(`expires: 90d\n${blockDeep("steps", 3000)}`, dir, new Date()),
    ).rejects.toMatchObject({ code: "CORE_LIMIT_EXCEEDED" });
    expect(() => parsePnpmLock(`lockfileVersion: '9.0'\n${seqDeep("packages", 3000)}`)).toThrow(
      /nested more than 256 levels deep/,
    );
  });

  it("counts depth as JSON does: a document 255 levels deep is read, 257 is refused", () => {
    expect(yamlDepth("a: 1\nb: [1, {c: 2}]\n")).toBe(3);
    expect(yamlDepth("- - - x\n")).toBe(3);
    expect(yamlDepth("plain\n")).toBe(0);
    expect(yamlDepth(blockDeep("a", 254))).toBe(255);
    expect(() => assertYamlDepth(blockDeep("a", 254), "x")).not.toThrow();
    expect(() => assertYamlDepth(seqDeep("a", 256), "x")).toThrow(/more than 256/);
    expect(yamlDepth(`a: ${deep(300)}`, 256)).toBe(257);
  });
});

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
  ])("%s: exit 3, CORE_LIMIT_EXCEEDED, naming the file", (_name, args, file) =>
    expectTooDeep(args, file),
  );

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

describe("YAML whose errors are costly to quote", () => {
  // The library's "pretty" errors quote the source around the error at a cost that grows with the
  // square of the input: a 200 KB policy of "- a: - a: ..." took 21 s to refuse, a layout or a
  // lockfile of 40,000 "!!seq" tags 11-12 s. Refused now in about a second, the place named by line
  // and column; the time limit of each case is ten times that.
  const dir = tempDir();
  const seqmap = join(dir, "seqmap.yaml");
  writeFileSync(seqmap, `${"- a: ".repeat(40_000)}1\n`);
  const tags = `keys: ${"!!seq ".repeat(40_000)}x\n`;
  const tagged = join(dir, "tagged.yaml");
  writeFileSync(tagged, tags);
  const fixture = join(dir, "fx.json");
  writeFileSync(fixture, JSON.stringify({ input: {}, expect: { allow: true } }));

  it.each([
    ["- a: - a: …", seqmap],
    ["!!seq !!seq …", tagged],
  ])(
    "a policy of %s is refused in bounded time, naming the line",
    { timeout: 15_000 },
    (_n, file) => {
      const r = cli("policy", "test", "--policy", file, fixture);
      const e = JSON.parse(r.stderr.trim().split("\n").at(-1) ?? "{}").error ?? {};
      expect(r.status, r.stderr).toBe(3);
      expect(e.code).toBe("POLICY_INVALID");
      expect(e.message).toMatch(/at line \d+, column \d+/);
    },
  );

  it("a layout description and a pnpm lockfile of the same are refused in bounded time", {
    timeout: 15_000,
  }, async () => {
    await expect(layoutFromYaml(tags, dir, new Date())).rejects.toMatchObject({
      code: "INTOTO_METADATA_INVALID",
    });
    expect(() =>
      parsePnpmLock(`lockfileVersion: '9.0'\npackages:\n  x: ${"!!seq ".repeat(40_000)}x\n`),
    ).toThrow();
  });
});
