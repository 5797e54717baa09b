import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  fulcioHandler,
  type HandlerFn,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from "@sigstore/mock";

/**
 * Fulcio, Rekor (v1 API) and a timestamp authority on 127.0.0.1: the request handlers of
 * sigstore-js's own @sigstore/mock, served by a real HTTP server, with the trusted root and
 * signing config that describe them.
 */
export interface SigstoreServices {
  readonly url: string;
  /** trusted_root.json (protobuf JSON) naming this CA, log, CT log and TSA. */
  readonly trustedRoot: Record<string, unknown>;
  /** signing_config.json (v0.2) pointing at these services. */
  readonly signingConfig: Record<string, unknown>;
  /** Every request body the services received, by path. */
  readonly requests: { path: string; body: string }[];
  close(): Promise<void>;
}

function p256(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

function der(k: Buffer | KeyObject): string {
  const b = Buffer.isBuffer(k) ? k : k.export({ type: "spki", format: "der" });
  return b.toString("base64");
}

/** A JWT as an OIDC provider would issue it (the stand-in Fulcio reads, but does not verify, it). */
export function identityToken(claims: Record<string, unknown>): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${enc({ alg: "RS256", typ: "JWT" })}.${enc({ iat: now, exp: now + 600, aud: "sigstore", ...claims })}.${Buffer.from("sig").toString("base64url")}`;
}

/** Rekor's canonical body for a proposed dsse v0.0.1 entry (other kinds are logged as they are). */
function canonicalRekorEntry(body: string): string {
  const e = JSON.parse(body) as {
    kind?: string;
    apiVersion?: string;
    spec?: { proposedContent?: { envelope: string; verifiers: string[] } };
  };
  const proposed = e.spec?.proposedContent;
  if (e.kind !== "dsse" || !proposed) {
    return body;
  }
  const env = JSON.parse(proposed.envelope) as {
    payload: string;
    signatures: { sig: string }[];
  };
  const hex = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
  return JSON.stringify({
    apiVersion: e.apiVersion,
    kind: "dsse",
    spec: {
      envelopeHash: { algorithm: "sha256", value: hex(proposed.envelope) },
      payloadHash: { algorithm: "sha256", value: hex(Buffer.from(env.payload, "base64")) },
      signatures: env.signatures.map((s, i) => ({
        signature: s.sig,
        verifier: proposed.verifiers[i] ?? proposed.verifiers[0],
      })),
    },
  });
}

export async function startSigstoreServices(): Promise<SigstoreServices> {
  const start = new Date(Date.now() - 60_000).toISOString();
  const caKeys = p256();
  const ctlog = await initializeCTLog(caKeys);
  const ca = await initializeCA(caKeys, ctlog);
  const requests: { path: string; body: string }[] = [];
  const routes = new Map<string, HandlerFn>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0] as string;
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ path, body });
      const fn = req.method === "POST" ? routes.get(path) : undefined;
      if (!fn) {
        res.writeHead(404).end();
        return;
      }
      fn(body).then(
        (r) => {
          res.writeHead(r.statusCode, { "content-type": r.contentType ?? "text/plain" });
          res.end(typeof r.response === "string" ? r.response : Buffer.from(r.response.buffer));
        },
        (e: Error) => res.writeHead(500).end(e.message),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tlogKeys = p256();
  const tlog = await initializeTLog(url, tlogKeys);
  const tsaKeys = p256();
  const tsa = await initializeTSA(tsaKeys);
  // The mock stamps milliseconds and DER drops a fraction's trailing zeros (".12Z"), which
  // sigstore-js's ASN.1 reader refuses; a timestamp authority stamping whole seconds is as real.
  (tsa as unknown as { getCurrentTime: () => Date }).getCurrentTime = () =>
    new Date(Math.floor(Date.now() / 1000) * 1000);
  for (const h of [fulcioHandler(ca), rekorHandler(tlog), tsaHandler(tsa)]) {
    routes.set(h.path, h.fn);
  }
  // The mock logs a proposed entry as it came; Rekor turns a proposed `dsse` entry into its
  // canonical body (hashes of the envelope and payload, signatures with their verifier) and
  // logs only that. Done here as Rekor's dsse type does, so a `dsse` entry reads as Rekor's.
  const rekor = routes.get("/api/v1/log/entries") as HandlerFn;
  routes.set("/api/v1/log/entries", (body) => rekor(canonicalRekorEntry(body)));
  const logKey = (k: Buffer) => ({
    baseUrl: url,
    hashAlgorithm: "SHA2_256",
    publicKey: {
      rawBytes: der(k),
      keyDetails: "PKIX_ECDSA_P256_SHA_256",
      validFor: { start },
    },
    logId: { keyId: createHash("sha256").update(k).digest("base64") },
  });
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [logKey(tlog.publicKey)],
    certificateAuthorities: [
      {
        subject: { organization: "sigstore.mock", commonName: "sigstore" },
        uri: url,
        certChain: {
          certificates: [{ rawBytes: Buffer.from(ca.rootCertificate.buffer).toString("base64") }],
        },
        validFor: { start },
      },
    ],
    ctlogs: [
      {
        ...logKey(ctlog.publicKey),
        logId: { keyId: Buffer.from(ctlog.logID.buffer).toString("base64") },
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: "sigstore.mock", commonName: "tsa" },
        uri: url,
        certChain: {
          certificates: [tsa.intCertificate, tsa.rootCertificate].map((c) => ({
            rawBytes: Buffer.from(c.buffer).toString("base64"),
          })),
        },
        validFor: { start },
      },
    ],
  };
  const service = (extra: Record<string, unknown> = {}) => ({
    url,
    majorApiVersion: 1,
    validFor: { start },
    operator: "sigstore.mock",
    ...extra,
  });
  const signingConfig = {
    mediaType: "application/vnd.dev.sigstore.signingconfig.v0.2+json",
    caUrls: [service()],
    oidcUrls: [],
    rekorTlogUrls: [service()],
    tsaUrls: [service({ url: `${url}/api/v1/timestamp` })],
    rekorTlogConfig: { selector: "ANY" },
    tsaConfig: { selector: "ANY" },
  };
  return {
    url,
    trustedRoot,
    signingConfig,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
