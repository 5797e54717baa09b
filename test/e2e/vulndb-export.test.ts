import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createAppContext,
  exportVulnDb,
  importVulnData,
  vulnDbStatus,
} from "../../src/app/index.js";
import {
  generateKeyPair,
  keySigner,
  loadPrivateKey,
  loadPublicKey,
} from "../../src/attest/index.js";
import { AttestError } from "../../src/core/errors.js";
import { expectToolError } from "../support/errors.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");

describe("signed database export for air-gapped machines", () => {
  it("moves the whole database in one signed file that import verifies and reproduces", async () => {
    const connected = createAppContext({ home: tempDir(), env: {} });
    await importVulnData(connected, [VULNDB]);
    const before = vulnDbStatus(connected);
    const key = generateKeyPair("ed25519", "pw");
    const file = join(tempDir(), "vulndb.export");
    const exported = await exportVulnDb(
      connected,
      file,
      keySigner(loadPrivateKey(key.privatePem, "pw")),
    );
    expect(exported.records).toBe(before.records);

    const airGapped = createAppContext({ home: tempDir(), env: {} });
    const r = await importVulnData(airGapped, [file], { keys: [loadPublicKey(key.publicPem)] });
    expect(r.bundles).toEqual([{ path: file, signedBy: [key.keyid], snapshot: before.snapshot }]);
    const after = vulnDbStatus(airGapped);
    expect(after.snapshot).toBe(before.snapshot);
    expect(after.records).toBe(before.records);

    // no key, another key, an altered file: refused, and nothing imported
    const other = createAppContext({ home: tempDir(), env: {} });
    await expectToolError(importVulnData(other, [file]), "ATTEST_SIGNATURE_INVALID", AttestError);
    await expectToolError(
      importVulnData(other, [file], {
        keys: [loadPublicKey(generateKeyPair("ed25519").publicPem)],
      }),
      "ATTEST_SIGNATURE_INVALID",
      AttestError,
    );
    const env = JSON.parse(readFileSync(file, "utf8"));
    const payload = Buffer.from(env.payload, "base64");
    payload[payload.length - 10] = (payload[payload.length - 10] ?? 0) ^ 1;
    const altered = join(tempDir(), "altered.export");
    writeFileSync(altered, JSON.stringify({ ...env, payload: payload.toString("base64") }));
    await expectToolError(
      importVulnData(other, [altered], { keys: [loadPublicKey(key.publicPem)] }),
      "ATTEST_SIGNATURE_INVALID",
      AttestError,
    );
    expect(vulnDbStatus(other).records).toBe(0);
    for (const c of [connected, airGapped, other]) {
      await c.close();
    }
  });
});
