import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inclusionProof, leafHash, rootHash } from "../../src/attest/merkle.js";

/**
 * A Rekor v2 log on 127.0.0.1 (POST /api/v2/log/entries, rekor-tiles' API): it turns a
 * hashedrekord or dsse 0.0.2 request into the canonical entry, appends it to an RFC 6962 tree
 * and answers with the entry, its inclusion proof and a checkpoint signed with its Ed25519 key.
 * No signed entry timestamp and no integrated time, as Rekor v2.
 */
export interface RekorV2StandIn {
  readonly url: string;
  /** The trusted root's `tlogs` entry for this log. */
  readonly tlog: Record<string, unknown>;
  /** The signing config's `rekorTlogUrls` entry for this log (majorApiVersion 2). */
  readonly service: Record<string, unknown>;
  readonly requests: string[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

/** The canonical Rekor v2 entry for a create-entry request (rekor-tiles' types). */
function canonicalEntry(req: Json): Json {
  const hr = req["hashedRekordRequestV002"] as
    | { digest: string; signature: { content: string; verifier: unknown } }
    | undefined;
  if (hr) {
    return {
      apiVersion: "0.0.2",
      kind: "hashedrekord",
      spec: {
        hashedRekordV002: {
          data: { algorithm: "SHA2_256", digest: hr.digest },
          signature: hr.signature,
        },
      },
    };
  }
  const d = req["dsseRequestV002"] as
    | { envelope: { payload: string; signatures: { sig: string }[] }; verifiers: unknown[] }
    | undefined;
  if (!d) {
    throw new Error("unknown entry kind");
  }
  const payloadHash = createHash("sha256").update(Buffer.from(d.envelope.payload, "base64"));
  return {
    apiVersion: "0.0.2",
    kind: "dsse",
    spec: {
      dsseV002: {
        payloadHash: { algorithm: "SHA2_256", digest: payloadHash.digest("base64") },
        signatures: d.envelope.signatures.map((s, i) => ({
          content: s.sig,
          verifier: d.verifiers[i] ?? d.verifiers[0],
        })),
      },
    },
  };
}

export async function startRekorV2(): Promise<RekorV2StandIn> {
  const key = generateKeyPairSync("ed25519");
  const spki = key.publicKey.export({ type: "spki", format: "der" });
  const logId = createHash("sha256").update(spki).digest();
  /** the log's leaves, by their RFC 6962 leaf hashes */
  const leaves: Uint8Array[] = [];
  const requests: string[] = [];
  let origin = "";
  const append = (req: Json): Json => {
    const body = Buffer.from(JSON.stringify(canonicalEntry(req)));
    leaves.push(leafHash(body));
    const index = leaves.length - 1;
    const root = rootHash(leaves);
    const note = `${origin}\n${leaves.length}\n${b64(root)}\n`;
    const sig = sign(null, Buffer.from(note), key.privateKey);
    const entry = JSON.parse(body.toString()) as { kind: string; apiVersion: string };
    return {
      logIndex: String(index),
      logId: { keyId: b64(logId) },
      kindVersion: { kind: entry.kind, version: entry.apiVersion },
      inclusionProof: {
        logIndex: String(index),
        rootHash: b64(root),
        treeSize: String(leaves.length),
        hashes: inclusionProof(leaves, index).map(b64),
        checkpoint: {
          envelope: `${note}\n\u2014 ${origin} ${b64(Buffer.concat([logId.subarray(0, 4), sig]))}\n`,
        },
      },
      canonicalizedBody: b64(body),
    };
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      requests.push(text);
      if (req.method !== "POST" || req.url !== "/api/v2/log/entries") {
        res.writeHead(404).end();
        return;
      }
      try {
        const out = JSON.stringify(append(JSON.parse(text) as Json));
        res.writeHead(201, { "content-type": "application/json" }).end(out);
      } catch (e) {
        res.writeHead(400).end((e as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  origin = host;
  const url = `http://${host}`;
  const start = new Date(Date.now() - 60_000).toISOString();
  return {
    url,
    tlog: {
      baseUrl: url,
      hashAlgorithm: "SHA2_256",
      publicKey: { rawBytes: b64(spki), keyDetails: "PKIX_ED25519", validFor: { start } },
      logId: { keyId: b64(logId) },
    },
    service: { url, majorApiVersion: 2, validFor: { start }, operator: "rekor-v2.stand-in" },
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
