import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { layoutFromYaml } from "../../src/app/intoto-layout.js";
import { loadInTotoSigner, signMetadata, verifyLayout } from "../../src/intoto/index.js";
import { tempDir } from "../support/tmp.js";

// A layout's `expires` is a date that exists: "2099-02-30T00:00:00Z" is no date (Date.parse
// rolls it over to March 2 and the layout was accepted until then). Verification refuses it
// naming the value, and a layout description with such a date is refused before it is signed.

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const pair = generateKeyPairSync("ed25519");
const owner = loadInTotoSigner(pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string);
const layoutWith = (expires: string): Uint8Array =>
  signMetadata(
    { _type: "layout", expires, readme: "", keys: {}, steps: [], inspect: [] },
    [owner],
    "metablock",
  );
const verify = (expires: string, now = new Date("2026-01-01T00:00:00Z")) =>
  verifyLayout({
    layout: layoutWith(expires),
    layoutKeys: [owner.key],
    linkDir: tempDir(),
    workDir: tempDir(),
    now,
  });

describe("in-toto layout expiry dates that do not exist", { timeout: 120_000 }, () => {
  it("verification refuses an impossible expiry date, naming it", () => {
    for (const expires of [
      "2099-02-30T00:00:00Z",
      "2026-02-30T00:00:00Z",
      "2099-04-31T00:00:00Z",
      "2099-01-01T24:00:00Z",
      "2099-13-01T00:00:00Z",
      "Jan 1 2099",
    ]) {
      const r = verify(expires);
      expect(r.passed, expires).toBe(false);
      expect(r.failure?.where, expires).toBe("layout");
      expect(r.failure?.reason, expires).toContain(`"${expires}" is not a date that exists`);
    }
    expect(verify("2099-02-28T00:00:00Z").passed).toBe(true);
    expect(verify("2028-02-29T00:00:00Z").passed).toBe(true);
    expect(verify("2026-03-02T00:00:00Z", new Date("2026-03-03T00:00:00Z")).failure?.reason).toBe(
      "the layout expired at 2026-03-02T00:00:00Z",
    );
  });

  it("intoto verify on the command line says so (exit 1, the layout does not verify)", () => {
    const dir = tempDir();
    const layout = join(dir, "root.layout");
    writeFileSync(layout, layoutWith("2099-02-30T00:00:00Z"));
    const pub = join(dir, "owner.pub");
    writeFileSync(pub, pair.publicKey.export({ type: "spki", format: "pem" }) as string);
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", MAIN, "--home", tempDir(), "intoto", "verify", "-l", layout, "-k", pub],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /FAILED at layout: .*"2099-02-30T00:00:00Z" is not a date that exists/,
    );
  });

  it("layout create refuses an impossible expiry date in the description", async () => {
    for (const expires of ["2099-02-30T00:00:00Z", "2099-02-30"]) {
      await expect(layoutFromYaml(`expires: "${expires}"\n`, tempDir())).rejects.toThrow(
        /layout description, expires: .*is not a date that exists/,
      );
    }
    const ok = await layoutFromYaml('expires: "2099-02-28"\n', tempDir());
    expect(ok.expires).toBe("2099-02-28T00:00:00Z");
  });
});
