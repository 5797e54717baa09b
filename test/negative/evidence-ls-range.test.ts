import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

// `evidence ls --from A --to B` with A not before B selects nothing by construction: a usage
// error (2), as the audit trail's range is, never an empty listing that reads as "no evidence".

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });

describe("evidence ls time range", { timeout: 120_000 }, () => {
  it("a reversed range is a usage error naming both options; a forward one lists", () => {
    const r = cli("evidence", "ls", "--from", "2026-03-02", "--to", "2026-03-01");
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toMatch(/--from 2026-03-02 is not before --to 2026-03-01/);
    const ok = cli("evidence", "ls", "--from", "2026-03-01", "--to", "2026-03-02");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/no evidence/);
  });
});
