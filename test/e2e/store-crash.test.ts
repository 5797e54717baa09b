import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteEvidenceStore } from "../../src/store/index.js";

const WRITER = resolve(import.meta.dirname, "../support/store-writer.ts");

function runAndKill(dir: string, afterMs: number): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", WRITER, dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    child.stdout.once("data", () => setTimeout(() => child.kill("SIGKILL"), afterMs));
    child.once("error", fail);
    child.once("exit", (_code, signal) =>
      signal === "SIGKILL" ? done() : fail(new Error(`writer exited by itself (${signal})`)),
    );
  });
}

describe("SqliteEvidenceStore crash safety", () => {
  it("leaves only complete, verifiable evidence when writers are killed at random points", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cleanimg-crash-"));
    // Kill points spread over the write cycle: right after start and at varied later times.
    const delays = [0, 3, 7, 13, 29, 41, 57, 83];
    for (const ms of delays) {
      await runAndKill(dir, ms);
    }
    const store = SqliteEvidenceStore.open(dir);
    const links = await store.find({ kind: "crash-test" });
    expect(links.length).toBeGreaterThanOrEqual(delays.length);
    for (const l of links) {
      const blob = await store.getBlob(l.evidence); // re-hashes: throws on a torn blob
      expect(blob.bytes.length).toBe(l.size);
    }
    // Temporary files of killed writers are never visible and are swept on open.
    expect(readdirSync(join(dir, "blobs", "sha256")).filter((f) => f.includes(".tmp-"))).toEqual(
      [],
    );
    await store.close();
  });
});
