import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildImageLayout } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";

// `image tag sha256:<hex> NAME` and `image rm sha256:<hex>`: a bare digest is the image with that
// digest in the local store (as for image inspect and verify), never a registry name
// (docker.io/library/sha256:<hex>) that is "not in the local store". The proxy points nowhere.

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const home = tempDir();
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" },
  });
const names = (): { name: string; digest: string }[] =>
  (JSON.parse(cli("image", "ls", "--json").stdout) as { name: string; digest: string }[]).map(
    (i) => ({ name: i.name, digest: i.digest }),
  );
let digest = "";
let other = "";

describe("image tag and image rm take a bare digest", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    for (const [tag, body] of [
      ["1", "hi"],
      ["2", "other"],
    ] as const) {
      const dir = join(tempDir(), "img");
      await buildImageLayout({
        dir,
        tag,
        layers: [{ kind: "files", files: [{ name: "hello", type: "file", body }] }],
      });
      expect(cli("image", "copy", `oci:${dir}:${tag}`, `digests/app:${tag}`).status).toBe(0);
    }
    const ls = names();
    digest = ls.find((i) => i.name.endsWith("digests/app:1"))?.digest ?? "";
    other = ls.find((i) => i.name.endsWith("digests/app:2"))?.digest ?? "";
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  }, 300_000);

  it("image tag sha256:… NAME names the image with that digest", () => {
    const r = cli("image", "tag", digest, "digests/again:1");
    expect(r.stderr).not.toMatch(/docker\.io\/library\/sha256|127\.0\.0\.1:9/);
    expect(r.status).toBe(0);
    expect(names()).toContainEqual({ name: "docker.io/digests/again:1", digest });
  });

  it("an unknown digest is named and nothing is tagged or removed", () => {
    const before = names();
    const unknown = `sha256:${"0".repeat(64)}`;
    for (const args of [
      ["tag", unknown, "digests/x:1"],
      ["rm", unknown],
    ]) {
      const r = cli("image", ...args);
      expect(r.status, args.join(" ")).toBe(3);
      expect(r.stderr.split("\n")[0]).toMatch(
        new RegExp(`no image with digest ${unknown} in the local image store`),
      );
      expect(r.stderr).not.toMatch(/docker\.io/);
    }
    expect(names()).toEqual(before);
  });

  it("a digest is not a new name", () => {
    const r = cli("image", "tag", "digests/app:1", `sha256:${"1".repeat(64)}`);
    expect(r.status).toBe(2);
    expect(names().some((i) => i.name.includes("sha256"))).toBe(false);
  });

  it("image rm sha256:… removes the image with that digest (each of its names), no other", () => {
    const r = cli("image", "rm", digest);
    expect(r.stderr).not.toMatch(/docker\.io\/library\/sha256/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/digests\/app:1/);
    expect(r.stdout).toMatch(/digests\/again:1/);
    const left = names();
    expect(left.some((i) => i.digest === digest)).toBe(false);
    expect(left).toContainEqual({ name: "docker.io/digests/app:2", digest: other });
    expect(cli("image", "inspect", other, "--no-evidence").status).toBe(0);
  });
});
