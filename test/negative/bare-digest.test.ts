import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildImageLayout } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";

// A bare digest (`sha256:<hex>`) names the image with that digest here: the local image store
// and its evidence. It was read as a registry name (docker.io/library/sha256:<hex>) and looked
// up on the network. The proxy below points nowhere: any network attempt shows in the output.

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" },
  });
let digest = "";

describe("bare digests are local", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    const dir = join(tempDir(), "img");
    await buildImageLayout({
      dir,
      tag: "1",
      layers: [{ kind: "files", files: [{ name: "hello", type: "file", body: "hi" }] }],
    });
    expect(cli("image", "copy", `oci:${dir}:1`, "bare/app:1").status).toBe(0);
    expect(cli("sbom", "bare/app:1", "-o", join(tempDir(), "s.json")).status).toBe(0);
    const inspected = cli("image", "inspect", "bare/app:1", "--json", "--no-evidence");
    digest = (JSON.parse(inspected.stdout) as { manifest: { digest: string } }).manifest.digest;
  }, 300_000);

  it("verify --image sha256:… verifies the chain of the image with that digest, offline", () => {
    const r = cli("verify", "--image", digest);
    expect(r.stderr).not.toMatch(/docker\.io|registry|127\.0\.0\.1:9/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/chain intact/);
  });

  it("verify of a digest with no evidence says so and exits 1, never 'chain intact'", () => {
    const r = cli("verify", "--image", `sha256:${"c".repeat(64)}`);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/no evidence is recorded for this image: nothing to verify/);
    expect(r.stdout).not.toMatch(/chain intact/);
  });

  it("image inspect sha256:… reads the local store; an unknown digest is named, not looked up", () => {
    const known = cli("image", "inspect", digest, "--json", "--no-evidence");
    expect(known.status).toBe(0);
    expect(JSON.parse(known.stdout).manifest.digest).toBe(digest);
    const unknown = cli("image", "inspect", `sha256:${"0".repeat(64)}`);
    expect(unknown.status).toBe(3);
    expect(unknown.stderr).toMatch(/no image with digest sha256:0+ in the local image store/);
    expect(unknown.stderr).not.toMatch(/docker\.io/);
  });
});

// A malformed bare digest (short, long, upper-case hex) was read as repository "sha256" with a
// tag on Docker Hub and looked up on the network; `local:sha256:…` as a name in the local store.
describe("a malformed bare digest is a usage error, never a network lookup", {
  timeout: 300_000,
}, () => {
  const bad = [
    "sha256:abc",
    `sha256:${"0".repeat(65)}`,
    `sha256:${"A".repeat(64)}`,
    `SHA256:${"0".repeat(64)}`,
  ];
  it("verify --image and image inspect refuse it as CORE_INVALID_DIGEST", () => {
    for (const d of bad) {
      for (const args of [
        ["verify", "--image", d],
        ["image", "inspect", d],
        ["image", "inspect", `local:${d}`],
      ]) {
        const r = cli(...args);
        expect(r.stderr, args.join(" ")).toMatch(/CORE_INVALID_DIGEST|invalid (sha256 )?digest/);
        expect(r.stderr + r.stdout).not.toMatch(
          /docker\.io|registry|127\.0\.0\.1:9|this looks like a bug/,
        );
        expect(r.status === 2 || r.status === 3, `${args.join(" ")}: exit ${r.status}`).toBe(true);
      }
    }
  });
  it("local:sha256:<hex> reads the image with that digest", () => {
    const r = cli("image", "inspect", `local:${digest}`, "--json", "--no-evidence");
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).manifest.digest).toBe(digest);
  });
});
