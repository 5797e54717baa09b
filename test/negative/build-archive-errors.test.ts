import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

/**
 * Wrong exit codes corrected: an archive the build cannot reach, an index it has not cached
 * offline, and a package the archive does not have were usage errors (exit 2,
 * CORE_INVALID_ARGUMENT). docs/cli.md makes network and input faults operational (exit 3):
 * each has its own BUILD_ code, and nothing is built.
 */
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

function build(spec: string, ...args: string[]) {
  const home = tempDir();
  const dir = tempDir();
  writeFileSync(join(dir, "cleanimg.yaml"), spec);
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      MAIN,
      "--home",
      home,
      "--json",
      "build",
      "--spec",
      join(dir, "cleanimg.yaml"),
      ...args,
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  const err = JSON.parse(r.stderr.trim().split("\n").at(-1) ?? "{}") as {
    error?: { code?: string; message?: string };
  };
  return { status: r.status, code: err.error?.code, message: err.error?.message ?? r.stderr };
}

describe("build: archive faults are operational errors", { timeout: 300_000 }, () => {
  it("an unreachable archive is BUILD_FETCH_FAILED, exit 3", () => {
    // port 9 (discard) on loopback: nothing listens, the connection is refused at once
    const r = build("image: a:1\narchive:\n  uri: http://127.0.0.1:9/debian\npackages: [hello]\n");
    expect(r.code, r.message).toBe("BUILD_FETCH_FAILED");
    expect(r.status).toBe(3);
    expect(r.message).toMatch(
      /cannot fetch http:\/\/127\.0\.0\.1:9\/debian\/dists\/bookworm\/InRelease/,
    );
  });

  it("offline with no cached index is BUILD_NOT_CACHED, exit 3", () => {
    const r = build("image: a:1\npackages: [hello]\n", "--offline");
    expect(r.code, r.message).toBe("BUILD_NOT_CACHED");
    expect(r.status).toBe(3);
    expect(r.message).toMatch(/offline, and no cached index/);
  });

  it("a missing archive keyring is BUILD_ARCHIVE_INVALID, exit 3", () => {
    const r = build(
      "image: a:1\narchive:\n  keyring: /nonexistent/keyring.gpg\npackages: [hello]\n",
    );
    expect(r.code, r.message).toBe("BUILD_ARCHIVE_INVALID");
    expect(r.status).toBe(3);
  });
});
