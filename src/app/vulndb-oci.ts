import type { KeyObject } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Signer } from "../attest/index.js";
import { sha256 } from "../core/digest.js";
import { AttestError, ToolError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { readAllLimited } from "../core/limits.js";
import {
  type Descriptor,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  MediaType,
  streamOf,
  writeFileAtomic,
} from "../oci/index.js";
import type { AppContext } from "./context.js";
import { clientFor } from "./distribute.js";
import {
  importVulnData,
  isExportBundle,
  signedVulnDbExport,
  type VulnImportResult,
} from "./vulndb.js";

/**
 * The signed database export as an OCI artifact, the way Trivy and Grype ship their databases
 * through registries: an image manifest with `artifactType` naming the database, the empty
 * config, and one layer that is the DSSE envelope `db export` writes. A pull is imported only
 * when the envelope verifies with the publisher's key (the registry is transport, not trust).
 */
export const VULNDB_ARTIFACT_TYPE = "application/vnd.cleanimg.vulndb.v1";
export const DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
const MAX_EXPORT_BYTES = 4 * 1024 ** 3;

/**
 * Pushes the whole database, signed, to `ref` (HOST/REPO:TAG).
 * Side effects: uploads two blobs and a manifest.
 */
export async function pushVulnDb(
  ctx: AppContext,
  ref: string,
  signer: Signer,
): Promise<{ ref: string; digest: string; records: number; snapshot: string; keyid: string }> {
  const client = clientFor(ctx, ref);
  const e = await signedVulnDbExport(ctx, signer);
  if (e.records === 0) {
    throw new ToolError("VULN_DB_EMPTY", "the vulnerability database is empty: nothing to push", {
      hint: "db update or db import first",
    });
  }
  const layer: Descriptor = {
    mediaType: DSSE_MEDIA_TYPE,
    digest: sha256(e.bytes),
    size: e.bytes.length,
  };
  for (const [d, b] of [
    [EMPTY_DESCRIPTOR, EMPTY_JSON],
    [layer, e.bytes],
  ] as const) {
    if (!(await client.hasBlob(d))) {
      await client.putBlob(d, streamOf(b));
    }
  }
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: VULNDB_ARTIFACT_TYPE,
      config: EMPTY_DESCRIPTOR,
      layers: [{ ...layer, annotations: { "org.opencontainers.image.title": "vulndb.dsse.json" } }],
      annotations: {
        "dev.cleanimg.vulndb.snapshot": e.snapshot,
        "dev.cleanimg.vulndb.records": String(e.records),
        "dev.cleanimg.vulndb.keyid": signer.keyid,
        "org.opencontainers.image.created": e.created,
      },
    }),
  );
  const desc = {
    mediaType: MediaType.OciManifest,
    digest: sha256(manifest),
    size: manifest.length,
  };
  await client.putManifest(client.ref.tag ?? client.ref.digest ?? "latest", desc, manifest);
  return {
    ref,
    digest: desc.digest,
    records: e.records,
    snapshot: e.snapshot,
    keyid: signer.keyid,
  };
}

/**
 * Pulls a database pushed by `db push` and imports it only when its envelope verifies with one
 * of `keys`; the manifest's annotations are not trusted (the snapshot is the signed header's).
 * Side effects: writes the database and an audit event (as `db import`).
 * @throws OciError OCI_INVALID_MANIFEST when `ref` is not a cleanimg database artifact
 * @throws AttestError ATTEST_SIGNATURE_INVALID when it does not verify
 */
export async function pullVulnDb(
  ctx: AppContext,
  ref: string,
  keys: readonly KeyObject[],
): Promise<VulnImportResult & { manifest: string }> {
  const client = clientFor(ctx, ref);
  const { descriptor, bytes } = await client.getManifest(
    client.ref.digest ?? client.ref.tag ?? "latest",
  );
  const m = parseJson(new TextDecoder().decode(bytes), `the manifest of ${ref}`) as {
    artifactType?: string;
    layers?: Descriptor[];
  };
  const layer = m.layers?.find((l) => l.mediaType === DSSE_MEDIA_TYPE);
  if (m.artifactType !== VULNDB_ARTIFACT_TYPE || !layer || m.layers?.length !== 1) {
    throw new ToolError(
      "OCI_INVALID_MANIFEST",
      `${ref} is not a cleanimg vulnerability database (artifactType ${m.artifactType ?? "none"})`,
      { hint: "pull what db push wrote" },
    );
  }
  if (layer.size > MAX_EXPORT_BYTES) {
    throw new ToolError("CORE_LIMIT_EXCEEDED", `${ref}'s database is ${layer.size} bytes`);
  }
  const body = await readAllLimited(client.blob(layer), MAX_EXPORT_BYTES, `${ref}'s database`);
  const tmp = join(ctx.home, "vulndb", `pull-${process.pid}-${Date.now()}.dsse.json`);
  await mkdir(join(ctx.home, "vulndb"), { recursive: true });
  await writeFileAtomic(tmp, body);
  try {
    // only a signed export is imported: unsigned feed data under the artifact type is refused
    if (!(await isExportBundle(tmp)) || keys.length === 0) {
      throw new AttestError(
        "ATTEST_SIGNATURE_INVALID",
        `${ref} holds no signed database export${keys.length ? "" : ", and no key was given"}`,
        { hint: "pull what db push wrote, with the publisher's public key (--key)" },
      );
    }
    const r = await importVulnData(ctx, [tmp], { keys });
    return {
      ...r,
      bundles: r.bundles.map((b) => ({ ...b, path: `${ref}@${descriptor.digest}` })),
      manifest: descriptor.digest,
    };
  } finally {
    await rm(tmp, { force: true });
  }
}
