import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

// Numeric options are finite numbers within a sane range: `Infinity`, `1e400` or a duration of
// a 400-digit number of days are usage errors (2) naming the option, never a server that
// starts with no rate limit or a scan whose data can never be stale.

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
    encoding: "utf8",
    // a server that starts (the defect) is stopped here and reads as status null
    timeout: 20_000,
    killSignal: "SIGKILL",
  });
const firstLine = (s: string) => s.split("\n")[0] ?? "";

describe("numeric options are finite and in range", { timeout: 300_000 }, () => {
  it("serve --rate-limit that is not a finite positive number in range is a usage error", () => {
    for (const v of ["Infinity", "1e400", "-Infinity", "NaN", "0", "-1", "1e9", "0x10", ""]) {
      const r = cli("serve", "--listen", "127.0.0.1:0", "--rate-limit", v);
      expect(r.status, v).toBe(2);
      expect(firstLine(r.stderr), v).toMatch(/--rate-limit/);
    }
  });

  it("scan --max-db-age beyond any sane age is a usage error", () => {
    for (const v of [`${"9".repeat(400)}d`, "99999999999w", "100000d"]) {
      const r = cli("scan", "inputs/none:1", "--max-db-age", v);
      expect(r.status, v).toBe(2);
      expect(firstLine(r.stderr), v).toMatch(/--max-db-age/);
      expect(r.stderr).not.toMatch(/looks like a bug/);
    }
  });

  it("image limits are whole numbers written as such, and a limit of 0 is not 'no limit'", () => {
    // --max-bytes took 1e3 and 0x10 (Number()), while --max-entries refused them; a 0 for
    // --max-entries or --max-layer-bytes applied no limit at all
    for (const [args, option] of [
      [["image", "export", "oci:/nonexistent", tempDir(), "--max-bytes", "1e3"], "--max-bytes"],
      [["image", "export", "oci:/nonexistent", tempDir(), "--max-bytes", "0x10"], "--max-bytes"],
      [["image", "files", "oci:/nonexistent", "--max-entries", "0"], "--max-entries"],
      [["image", "files", "oci:/nonexistent", "--max-layer-bytes", "0"], "--max-layer-bytes"],
    ] as const) {
      const r = cli(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(firstLine(r.stderr), args.join(" ")).toContain(option);
    }
  });
});
