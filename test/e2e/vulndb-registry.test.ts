import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAppContext,
  importVulnData,
  pullVulnDb,
  pushVulnDb,
  VULNDB_ARTIFACT_TYPE,
  vulnDbStatus,
} from "../../src/app/index.js";
import {
  generateKeyPair,
  keySigner,
  loadPrivateKey,
  loadPublicKey,
} from "../../src/attest/index.js";
import { sha256 } from "../../src/core/digest.js";
import { parseImageLocation, RegistryClient } from "../../src/oci/index.js";
import { expectToolError } from "../support/errors.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { tempDir } from "../support/tmp.js";

/** `db push` / `db pull` through the CNCF distribution registry on 127.0.0.1, read back by skopeo. */
const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
let registry: TestRegistry;

beforeAll(async () => {
  registry = await startRegistry("none");
}, 60_000);
afterAll(async () => {
  await registry?.stop();
});

const ctx = () => createAppContext({ home: tempDir(), env: {}, insecure: true });

async function pushRaw(ref: string, manifest: Record<string, unknown>, blobs: Uint8Array[]) {
  const loc = parseImageLocation(ref);
  if (loc.kind !== "registry" && loc.kind !== "bare") {
    throw new Error(ref);
  }
  const c = new RegistryClient(loc.ref, { insecure: true });
  for (const b of blobs) {
    const d = { mediaType: "application/octet-stream", digest: sha256(b), size: b.length };
    if (!(await c.hasBlob(d))) {
      await c.putBlob(
        d,
        (async function* () {
          yield b;
        })(),
      );
    }
  }
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  await c.putManifest(
    loc.ref.tag ?? "latest",
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: sha256(bytes),
      size: bytes.length,
    },
    bytes,
  );
}

describe("the database as a signed OCI artifact", () => {
  it("pushes the whole database and pulls it into an empty one with the same snapshot", async () => {
    const publisher = ctx();
    await importVulnData(publisher, [VULNDB]);
    const before = vulnDbStatus(publisher);
    const key = generateKeyPair("ecdsa-p256", "pw");
    const ref = `${registry.host}/mirror/cleanimg-db:1`;
    const pushed = await pushVulnDb(
      publisher,
      ref,
      keySigner(loadPrivateKey(key.privatePem, "pw")),
    );
    expect(pushed).toMatchObject({
      records: before.records,
      snapshot: before.snapshot,
      keyid: key.keyid,
    });

    // what a peer tool sees: an OCI artifact of our type with one DSSE layer
    const raw = JSON.parse(
      execFileSync("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`], {
        encoding: "utf8",
      }),
    ) as { artifactType: string; layers: { mediaType: string }[]; config: { mediaType: string } };
    expect(raw.artifactType).toBe(VULNDB_ARTIFACT_TYPE);
    expect(raw.config.mediaType).toBe("application/vnd.oci.empty.v1+json");
    expect(raw.layers.map((l) => l.mediaType)).toEqual(["application/vnd.dsse.envelope.v1+json"]);

    const airGapped = ctx();
    const r = await pullVulnDb(airGapped, ref, [loadPublicKey(key.publicPem)]);
    expect(r.bundles).toEqual([
      { path: `${ref}@${pushed.digest}`, signedBy: [key.keyid], snapshot: before.snapshot },
    ]);
    const after = vulnDbStatus(airGapped);
    expect(after.snapshot).toBe(before.snapshot);
    expect(after.records).toBe(before.records);

    // another publisher's key: refused, nothing imported
    const other = ctx();
    await expectToolError(
      pullVulnDb(other, ref, [loadPublicKey(generateKeyPair("ed25519").publicPem)]),
      "ATTEST_SIGNATURE_INVALID",
    );
    expect(vulnDbStatus(other).records).toBe(0);
  }, 120_000);

  it("refuses unsigned data under the artifact type, another artifact, and an empty database", async () => {
    const empty = {
      mediaType: "application/vnd.oci.empty.v1+json",
      digest: sha256(new TextEncoder().encode("{}")),
      size: 2,
    };
    const osv = new TextEncoder().encode(
      JSON.stringify({ id: "GHSA-xxxx-xxxx-xxxx", modified: "2026-01-01T00:00:00Z", affected: [] }),
    );
    const unsigned = `${registry.host}/mirror/unsigned:1`;
    await pushRaw(
      unsigned,
      {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: VULNDB_ARTIFACT_TYPE,
        config: empty,
        layers: [
          {
            mediaType: "application/vnd.dsse.envelope.v1+json",
            digest: sha256(osv),
            size: osv.length,
          },
        ],
      },
      [new TextEncoder().encode("{}"), osv],
    );
    const key = loadPublicKey(generateKeyPair("ed25519").publicPem);
    const c = ctx();
    await expectToolError(pullVulnDb(c, unsigned, [key]), "ATTEST_SIGNATURE_INVALID");
    expect(vulnDbStatus(c).records).toBe(0);

    const wrongType = `${registry.host}/mirror/other:1`;
    await pushRaw(
      wrongType,
      {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: "application/vnd.example.other",
        config: empty,
        layers: [
          {
            mediaType: "application/vnd.dsse.envelope.v1+json",
            digest: sha256(osv),
            size: osv.length,
          },
        ],
      },
      [new TextEncoder().encode("{}"), osv],
    );
    await expectToolError(pullVulnDb(c, wrongType, [key]), "OCI_INVALID_MANIFEST");

    const k = generateKeyPair("ed25519", "pw");
    await expectToolError(
      pushVulnDb(
        ctx(),
        `${registry.host}/mirror/none:1`,
        keySigner(loadPrivateKey(k.privatePem, "pw")),
      ),
      "VULN_DB_EMPTY",
    );
  }, 60_000);
});
