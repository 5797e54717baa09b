import { spawn } from "node:child_process";
import { resolve } from "node:path";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

/**
 * Runs `cleanimg-init ARGS` as its own process against a home (and a store URL), without
 * blocking this one (servers in this process can answer it). Resolves with its exit code and
 * stderr.
 */
export function runCliAsync(
  home: string,
  args: readonly string[],
  store?: string,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, ...(store ? ["--store", store] : []), ...args],
      { env: { ...process.env, CLEANIMG_HOME: home }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("close", (code) => done({ code, stderr }));
  });
}
