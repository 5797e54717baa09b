import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { tempDir } from "../support/tmp.js";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/root", ...env },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("error", fail);
    p.on("close", (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

// The default transport is HTTPS with certificate verification; this runs the real registry with
// TLS and shows that trust comes from the system/NODE_EXTRA_CA_CERTS store, never from a bypass.
describe("registry over TLS", () => {
  let registry: TestRegistry;
  let layout: string;
  beforeAll(async () => {
    registry = await startRegistry("none", { tls: true });
    layout = join(tempDir(), "img");
    await buildImageLayout({
      dir: layout,
      tag: "1.0",
      layers: [{ kind: "debs", debs: fetchDebs(["base-files"]) }],
    });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("pushes and pulls over HTTPS when the registry's CA is trusted", async () => {
    const home = tempDir("cleanimg-tls-");
    const env = { CLEANIMG_HOME: home, NODE_EXTRA_CA_CERTS: registry.caFile ?? "" };
    const push = await cli(
      ["image", "copy", `oci:${layout}:1.0`, `docker://${registry.host}/tls/img:1.0`],
      env,
    );
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    const inspect = await cli(
      ["image", "inspect", `docker://${registry.host}/tls/img:1.0`, "--json"],
      env,
    );
    expect(inspect.code).toBe(0);
    const local = await cli(["image", "inspect", `oci:${layout}:1.0`, "--json"], env);
    expect(JSON.parse(inspect.stdout).digest).toBe(JSON.parse(local.stdout).digest);
  });

  it("refuses an untrusted certificate with an error that names the cause", async () => {
    const home = tempDir("cleanimg-tls-");
    const r = await cli(["image", "inspect", `docker://${registry.host}/tls/img:1.0`], {
      CLEANIMG_HOME: home,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/SELF_SIGNED|certificate/);
    expect(r.stderr).toContain("NODE_EXTRA_CA_CERTS");
    expect(r.stderr).toContain(registry.host);
  });
});
