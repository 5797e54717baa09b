import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

// `key generate --output-key-prefix P` where P's directory is missing (or is a file) says so in
// one line naming the user's path (exit 3, as any output that cannot be written), never a raw
// "ENOENT: no such file or directory, open '…'".

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", tempDir(), ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, CLEANIMG_PASSWORD: "secret" },
  });
const firstLine = (s: string) => s.split("\n")[0] ?? "";

describe("key generate into a place that cannot hold the keys", { timeout: 120_000 }, () => {
  it("a missing directory is named, with the key file's path", () => {
    const dir = tempDir();
    const prefix = join(dir, "missing", "name");
    const r = cli("key", "generate", "--output-key-prefix", prefix);
    expect(r.status).toBe(3);
    expect(firstLine(r.stderr)).toContain(`cannot write ${prefix}.key`);
    expect(firstLine(r.stderr)).toMatch(/the directory .*\/missing does not exist/);
    expect(r.stderr).not.toMatch(/ENOENT|looks like a bug/);
  });

  it("a directory that is a file is named", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "x");
    const prefix = join(dir, "file", "name");
    const r = cli("key", "generate", "--output-key-prefix", prefix);
    expect(r.status).toBe(3);
    expect(firstLine(r.stderr)).toMatch(/\/file is not a directory/);
    expect(r.stderr).not.toMatch(/ENOTDIR|looks like a bug/);
  });

  it("existing keys are still refused, and nothing is left half-written", () => {
    const dir = tempDir();
    const prefix = join(dir, "k");
    expect(cli("key", "generate", "--output-key-prefix", prefix).status).toBe(0);
    const again = cli("key", "generate", "--output-key-prefix", prefix);
    expect(again.status).toBe(2);
    expect(firstLine(again.stderr)).toMatch(/it exists/);
    const other = join(dir, "p");
    writeFileSync(`${other}.pub`, "taken");
    expect(cli("key", "generate", "--output-key-prefix", other).status).toBe(2);
    expect(existsSync(`${other}.key`)).toBe(false);
  });
});
