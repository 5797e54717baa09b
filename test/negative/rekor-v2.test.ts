import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { pae } from "../../src/attest/dsse.js";
import { verifySigstoreBundle } from "../../src/attest/sigstore.js";

/**
 * Rekor v2 logs a DSSE envelope as hashedrekord 0.0.2 over the hash of its PAE
 * (rekor-v2-spec §6.1.4). The conformance case rekor2-dsse-happy-path used to be refused
 * ("digest mismatch"): the verifier compared the entry with the payload's hash. Accepting it
 * must not accept anything else: a changed body, a checkpoint signed by a key the trusted root
 * does not hold, or a Rekor v2 entry (no signed entry timestamp) without an RFC 3161 timestamp.
 */

const CONF = resolve(
  import.meta.dirname,
  "../../../shared/corpus/attestations/sigstore-conformance/bundle-verify",
);
const CASE = join(CONF, "rekor2-dsse-happy-path");
const IDENTITY =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER = "https://token.actions.githubusercontent.com";

// biome-ignore lint/suspicious/noExplicitAny: bundle and root JSON, tampered field by field
type Json = any;
const fresh = (): Json => JSON.parse(readFileSync(join(CASE, "bundle.sigstore.json"), "utf8"));
const stagingRoot = (): Json => JSON.parse(readFileSync(join(CASE, "trusted_root.json"), "utf8"));
const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");
const sha256 = (b: Uint8Array): Buffer => createHash("sha256").update(b).digest();

function verify(bundle: Json, root: Json = stagingRoot()): { ok: boolean; reason?: string } {
  try {
    verifySigstoreBundle(bundle, {
      artifact: new Uint8Array(readFileSync(join(CONF, "a.txt"))),
      trustedRoot: root,
      identity: IDENTITY,
      issuer: ISSUER,
    });
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

const body = (bundle: Json): Json =>
  JSON.parse(
    Buffer.from(bundle.verificationMaterial.tlogEntries[0].canonicalizedBody, "base64").toString(),
  );
const envelope = (bundle: Json) => ({
  payloadType: bundle.dsseEnvelope.payloadType as string,
  payload: Buffer.from(bundle.dsseEnvelope.payload, "base64"),
});

/** A one-entry Rekor v2 log of our own, with its key in a copy of the staging root. */
class OwnLog {
  readonly origin = "log.rekor-v2.test";
  readonly key: { publicKey: KeyObject; privateKey: KeyObject } = generateKeyPairSync("ed25519");
  readonly logId = sha256(this.key.publicKey.export({ type: "spki", format: "der" }));
  root(): Json {
    const r = stagingRoot();
    r.tlogs.push({
      baseUrl: `https://${this.origin}`,
      hashAlgorithm: "SHA2_256",
      publicKey: {
        rawBytes: b64(this.key.publicKey.export({ type: "spki", format: "der" })),
        keyDetails: "PKIX_ED25519",
        validFor: { start: "2025-01-01T00:00:00Z" },
      },
      logId: { keyId: b64(this.logId) },
    });
    return r;
  }
  /** An entry logging `entryBody` as the only leaf, with a proof and a signed checkpoint. */
  entry(entryBody: Json, signer: KeyObject = this.key.privateKey, hint = this.logId): Json {
    const canonical = Buffer.from(JSON.stringify(entryBody));
    const rootHash = sha256(Buffer.concat([Buffer.from([0]), canonical]));
    const note = `${this.origin}\n1\n${b64(rootHash)}\n`;
    const sig = sign(null, Buffer.from(note), signer);
    return {
      logIndex: "0",
      logId: { keyId: b64(this.logId) },
      kindVersion: { kind: entryBody.kind, version: entryBody.apiVersion },
      inclusionProof: {
        logIndex: "0",
        rootHash: b64(rootHash),
        treeSize: "1",
        hashes: [],
        checkpoint: {
          envelope: `${note}\n\u2014 ${this.origin} ${b64(Buffer.concat([hint.subarray(0, 4), sig]))}\n`,
        },
      },
      canonicalizedBody: b64(canonical),
    };
  }
}

/** The happy path's bundle, its entries replaced by entries of our own log. */
function loggedBy(...entries: Json[]): Json {
  const b = fresh();
  b.verificationMaterial.tlogEntries = entries;
  return b;
}

/** A dsse 0.0.2 body for the happy path's envelope, with the payload hash given. */
function dsseBody(bundle: Json, payloadHash: Uint8Array): Json {
  const hr = body(bundle).spec.hashedRekordV002;
  return {
    apiVersion: "0.0.2",
    kind: "dsse",
    spec: {
      dsseV002: {
        payloadHash: { algorithm: "SHA2_256", digest: b64(payloadHash) },
        signatures: [{ content: hr.signature.content, verifier: hr.signature.verifier }],
      },
    },
  };
}

describe("Rekor v2: hashedrekord 0.0.2 over a DSSE envelope's PAE", () => {
  it("verifies the conformance case rekor2-dsse-happy-path (no SET: checkpoint and TSA)", () => {
    const b = fresh();
    expect(b.verificationMaterial.tlogEntries[0].inclusionPromise).toBeUndefined();
    expect(b.verificationMaterial.tlogEntries[0].kindVersion).toEqual({
      kind: "hashedrekord",
      version: "0.0.2",
    });
    const { payloadType, payload } = envelope(b);
    // the logged digest is the PAE's hash, not the payload's
    expect(body(b).spec.hashedRekordV002.data.digest).toBe(b64(sha256(pae(payloadType, payload))));
    expect(verify(b)).toEqual({ ok: true });
  });

  it("refuses a changed canonicalized body (the log's proof no longer holds)", () => {
    const b = fresh();
    const e = body(b);
    e.spec.hashedRekordV002.data.digest = b64(sha256(envelope(b).payload));
    b.verificationMaterial.tlogEntries[0].canonicalizedBody = b64(Buffer.from(JSON.stringify(e)));
    expect(verify(b).ok).toBe(false);
  });

  it("refuses a checkpoint signed by another key, with the log's key hint or its own", () => {
    const other = generateKeyPairSync("ed25519");
    for (const ownHint of [false, true]) {
      const b = fresh();
      const proof = b.verificationMaterial.tlogEntries[0].inclusionProof;
      const [note] = proof.checkpoint.envelope.split("\n\n");
      const hint = ownHint
        ? sha256(other.publicKey.export({ type: "spki", format: "der" }))
        : Buffer.from(b.verificationMaterial.tlogEntries[0].logId.keyId, "base64");
      const sig = sign(null, Buffer.from(`${note}\n`), other.privateKey);
      const origin = note.split("\n")[0];
      proof.checkpoint.envelope = `${note}\n\n\u2014 ${origin} ${b64(Buffer.concat([hint.subarray(0, 4), sig]))}\n`;
      const r = verify(b);
      expect(r.ok, `own hint: ${ownHint}`).toBe(false);
      expect(r.reason).toMatch(/checkpoint signature/);
    }
  });

  it("refuses a Rekor v2 entry without an RFC 3161 timestamp: it has no SET to stand in", () => {
    const b = fresh();
    delete b.verificationMaterial.timestampVerificationData;
    const r = verify(b);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/timestamp/);
  });

  it("refuses an envelope logged as hashedrekord that carries a second signature", () => {
    const b = fresh();
    b.dsseEnvelope.signatures.push({ ...b.dsseEnvelope.signatures[0] });
    expect(verify(b).ok).toBe(false);
  });

  describe("entries of a log of our own, so that only the body decides", () => {
    const log = new OwnLog();
    const root = log.root();
    const happy = fresh();
    const { payloadType, payload } = envelope(happy);
    const withDigest = (digest: Uint8Array): Json => {
      const e = body(happy);
      e.spec.hashedRekordV002.data.digest = b64(digest);
      return e;
    };

    it("accepts the happy path's body re-logged (the log and proof are right)", () => {
      expect(verify(loggedBy(log.entry(body(happy))), root)).toEqual({ ok: true });
    });

    it("refuses a hashedrekord body over the payload's hash, or another PAE's", () => {
      for (const digest of [
        sha256(payload),
        sha256(pae("application/json", payload)),
        createHash("sha384").update(pae(payloadType, payload)).digest().subarray(0, 32),
      ]) {
        const r = verify(loggedBy(log.entry(withDigest(digest))), root);
        expect(r.ok).toBe(false);
        expect(r.reason).toMatch(/digest mismatch/);
      }
    });

    it("refuses a hashedrekord body with another signature", () => {
      const e = body(happy);
      const sig = Buffer.from(e.spec.hashedRekordV002.signature.content, "base64");
      sig[sig.length - 1] = (sig[sig.length - 1] as number) ^ 1;
      e.spec.hashedRekordV002.signature.content = b64(sig);
      const r = verify(loggedBy(log.entry(e)), root);
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/signature mismatch/);
    });

    it("verifies dsse 0.0.2 over the payload's hash, and refuses one over the PAE's", () => {
      expect(verify(loggedBy(log.entry(dsseBody(happy, sha256(payload)))), root)).toEqual({
        ok: true,
      });
      const r = verify(
        loggedBy(log.entry(dsseBody(happy, sha256(pae(payloadType, payload))))),
        root,
      );
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/payload hash mismatch/);
    });

    it("verifies a bundle with both kinds of entry, each against its own digest", () => {
      const both = loggedBy(log.entry(body(happy)), log.entry(dsseBody(happy, sha256(payload))));
      expect(verify(both, root)).toEqual({ ok: true });
      const wrong = loggedBy(
        log.entry(body(happy)),
        log.entry(dsseBody(happy, sha256(pae(payloadType, payload)))),
      );
      expect(verify(wrong, root).ok).toBe(false);
    });

    it("refuses our log's entry once its key is not in the trusted root", () => {
      const r = verify(loggedBy(log.entry(body(happy))));
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/checkpoint signature/);
    });
  });
});
