import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/core/digest.js";
import {
  type Descriptor,
  MediaType,
  parseImageRef,
  RegistryClient,
  referrersTag,
} from "../../src/oci/index.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";

const enc = new TextEncoder();

async function pushImage(client: RegistryClient): Promise<Descriptor> {
  const config = enc.encode(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
    }),
  );
  const cfg = { mediaType: MediaType.OciConfig, digest: sha256(config), size: config.length };
  await client.putBlob(
    cfg,
    (async function* () {
      yield config;
    })(),
  );
  const manifest = enc.encode(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: cfg, layers: [] }),
  );
  const desc = {
    mediaType: MediaType.OciManifest,
    digest: sha256(manifest),
    size: manifest.length,
  };
  await client.putManifest("v1", desc, manifest);
  return desc;
}

async function pushReferrer(
  client: RegistryClient,
  subject: Descriptor,
  artifactType: string,
): Promise<{ desc: Descriptor; via: string }> {
  const empty = enc.encode("{}");
  const emptyDesc = { mediaType: MediaType.OciEmpty, digest: sha256(empty), size: 2 };
  await client.putBlob(
    emptyDesc,
    (async function* () {
      yield empty;
    })(),
  );
  const m = enc.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType,
      config: emptyDesc,
      layers: [emptyDesc],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" },
    }),
  );
  const desc = { mediaType: MediaType.OciManifest, digest: sha256(m), size: m.length };
  const r = await client.putReferrer(desc, m);
  return { desc, via: r.via };
}

describe("referrers", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry("none");
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("falls back to the tag schema on a registry without the referrers API (distribution 2.8)", async () => {
    const client = new RegistryClient(parseImageRef(`${registry.host}/ref/app:v1`), {
      insecure: true,
    });
    const subject = await pushImage(client);
    const sbom = await pushReferrer(client, subject, "application/spdx+json");
    const vex = await pushReferrer(client, subject, "application/openvex+json");
    expect([sbom.via, vex.via]).toEqual(["tag", "tag"]);
    const all = await client.referrers(subject.digest);
    expect(all.via).toBe("tag");
    expect(all.index.manifests.map((m) => m.digest).sort()).toEqual(
      [sbom.desc.digest, vex.desc.digest].sort(),
    );
    const only = await client.referrers(subject.digest, "application/openvex+json");
    expect(only.index.manifests.map((m) => m.digest)).toEqual([vex.desc.digest]);
    expect((await client.listTags()).sort()).toEqual([referrersTag(subject.digest), "v1"].sort());
    // pushing the same referrer again does not duplicate the fallback entry
    await pushReferrer(client, subject, "application/openvex+json");
    expect((await client.referrers(subject.digest)).index.manifests).toHaveLength(2);
  });

  it("uses the referrers API when the registry answers it", async () => {
    // distribution 2.8 (Debian 12) has no referrers API; a registry that has it is stood in for by
    // answering only that one endpoint, and forwarding everything else to the real registry.
    const client0 = new RegistryClient(parseImageRef(`${registry.host}/api/app:v1`), {
      insecure: true,
    });
    const subject = await pushImage(client0);
    const listed: Descriptor = {
      mediaType: MediaType.OciManifest,
      digest: sha256("x"),
      size: 1,
      artifactType: "application/spdx+json",
    };
    const other: Descriptor = {
      mediaType: MediaType.OciManifest,
      digest: sha256("y"),
      size: 1,
      artifactType: "application/vnd.other",
    };
    const client = new RegistryClient(parseImageRef(`${registry.host}/api/app:v1`), {
      insecure: true,
      fetch: async (url, init) => {
        if (String(url).includes(`/referrers/${subject.digest}`)) {
          return new Response(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: MediaType.OciIndex,
              manifests: [listed, other],
            }),
            {
              status: 200,
              headers: { "content-type": MediaType.OciIndex },
            },
          );
        }
        return fetch(url, init);
      },
    });
    const r = await client.referrers(subject.digest, "application/spdx+json");
    expect(r.via).toBe("api");
    expect(r.index.manifests).toEqual([listed]);
  });
});
