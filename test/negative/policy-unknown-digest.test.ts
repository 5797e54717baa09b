import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildImageLayout } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";

// `policy eval --image sha256:<hex>` for a digest neither the local image store nor the evidence
// store holds: an operational error (3) naming the digest, and no decision, link or audit event
// recorded for an image nobody has (it recorded a DENY decision in a chain of its own).

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" },
  });
const evidenceCount = (subject?: string): number =>
  (
    JSON.parse(
      cli("evidence", "ls", "--json", ...(subject ? ["--subject", subject] : [])).stdout,
    ) as unknown[]
  ).length;
let digest = "";

describe("policy eval of a digest the store does not hold", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    const dir = join(tempDir(), "img");
    await buildImageLayout({
      dir,
      tag: "1",
      layers: [{ kind: "files", files: [{ name: "hello", type: "file", body: "hi" }] }],
    });
    expect(cli("image", "copy", `oci:${dir}:1`, "pol/app:1").status).toBe(0);
    const inspected = cli("image", "inspect", "pol/app:1", "--json", "--no-evidence");
    digest = (JSON.parse(inspected.stdout) as { manifest: { digest: string } }).manifest.digest;
  }, 300_000);

  it("fails with exit 3 naming the digest and records nothing", () => {
    const unknown = `sha256:${"0".repeat(64)}`;
    const before = evidenceCount();
    for (const args of [
      ["policy", "eval", "--image", unknown],
      ["policy", "eval", unknown],
    ]) {
      const r = cli(...args);
      expect(r.status, args.join(" ")).toBe(3);
      expect(r.stderr.split("\n")[0]).toMatch(
        new RegExp(`no image with digest ${unknown} in the store`),
      );
      expect(r.stdout).not.toMatch(/decision recorded/);
    }
    expect(evidenceCount(unknown)).toBe(0);
    expect(evidenceCount()).toBe(before);
  });

  it("a digest of an image in the local store is evaluated (a decision, not an error)", () => {
    const r = cli("policy", "eval", "--image", digest);
    expect([0, 1]).toContain(r.status);
    expect(r.stdout).toMatch(/decision recorded as the policy link/);
  });
});
