import { createHash, type KeyObject } from "node:crypto";
import { AttestError } from "../core/errors.js";
import type { DsseEnvelope } from "./dsse.js";
import { leafHash, nodeHash, verifyInclusion } from "./merkle.js";
import { parseCheckpointNote, verifyCheckpointNote } from "./note.js";

/**
 * The pieces of a transparency log that need no storage: entry bodies, the compact "frontier"
 * of an append-only Merkle tree (the perfect subtrees covering it, largest first), and proof
 * checking. Entries are logged by hash only, in the shape of Rekor's `dsse` v0.0.1 entries, so
 * that a payload of any size costs the log a few hundred bytes.
 */

/** An inclusion proof as Sigstore bundles carry it (numbers as decimal strings, hashes base64). */
export interface InclusionProof {
  readonly logIndex: string;
  readonly rootHash: string;
  readonly treeSize: string;
  readonly hashes: readonly string[];
  readonly checkpoint: { readonly envelope: string };
}

/** A perfect subtree of the log: its leaf count (a power of two) and hash. */
export interface FrontierNode {
  readonly size: number;
  readonly hash: Uint8Array;
}

/** The canonical body logged for a DSSE envelope: Rekor dsse v0.0.1 with hashes only. */
export function dsseLogBody(
  envelope: DsseEnvelope,
  envelopeBytes: Uint8Array,
  publicKeyPem: string,
): Uint8Array {
  const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
  const payload = new Uint8Array(Buffer.from(envelope.payload, "base64"));
  // keys in the order Rekor canonicalizes them (sorted), no whitespace
  const body = {
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: {
      envelopeHash: { algorithm: "sha256", value: sha(envelopeBytes) },
      payloadHash: { algorithm: "sha256", value: sha(payload) },
      signatures: envelope.signatures.map((s) => ({
        signature: s.sig,
        verifier: Buffer.from(publicKeyPem, "utf8").toString("base64"),
      })),
    },
  };
  return new TextEncoder().encode(JSON.stringify(body));
}

/** The frontier after appending one leaf hash. */
export function frontierAppend(
  frontier: readonly FrontierNode[],
  leaf: Uint8Array,
): FrontierNode[] {
  const f = [...frontier, { size: 1, hash: leaf }];
  while (f.length >= 2 && f[f.length - 1]?.size === f[f.length - 2]?.size) {
    const right = f.pop() as FrontierNode;
    const left = f.pop() as FrontierNode;
    f.push({ size: left.size * 2, hash: nodeHash(left.hash, right.hash) });
  }
  return f;
}

/** The root hash of the tree a frontier covers. */
export function frontierRoot(frontier: readonly FrontierNode[]): Uint8Array {
  if (frontier.length === 0) {
    return new Uint8Array(createHash("sha256").digest());
  }
  let r = (frontier[frontier.length - 1] as FrontierNode).hash;
  for (let i = frontier.length - 2; i >= 0; i--) {
    r = nodeHash((frontier[i] as FrontierNode).hash, r);
  }
  return r;
}

/**
 * The inclusion proof of a leaf appended to a tree whose frontier (before the append) is given:
 * the new last leaf's audit path is exactly that frontier, smallest subtree first.
 */
export function lastLeafProof(frontierBefore: readonly FrontierNode[]): Uint8Array[] {
  return [...frontierBefore].reverse().map((n) => n.hash);
}

/** What verifying a logged entry proved. */
export interface LoggedEntry {
  readonly logIndex: number;
  readonly treeSize: number;
  readonly origin: string;
  /** Seconds since the epoch, from the signed checkpoint's timestamp line (when present). */
  readonly integratedTime?: number;
}

/**
 * Verifies that `body` is in the log whose checkpoints `logKey` signs under `origin`: the
 * checkpoint's signature, that it is the tree the proof is for, and the Merkle path.
 * @throws AttestError ATTEST_VERIFY_FAILED naming the part that failed
 */
export function verifyLoggedEntry(
  body: Uint8Array,
  proof: InclusionProof,
  logKey: KeyObject,
  origin: string,
): LoggedEntry {
  const cp = verifyCheckpointNote(proof.checkpoint.envelope, origin, logKey);
  if (cp.origin !== origin) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      `checkpoint: origin "${cp.origin}" is not the log "${origin}"`,
    );
  }
  const size = Number(proof.treeSize);
  const root = new Uint8Array(Buffer.from(proof.rootHash, "base64"));
  if (cp.size !== size || Buffer.compare(Buffer.from(cp.rootHash), Buffer.from(root)) !== 0) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      "checkpoint: it signs another tree than the one the inclusion proof is for",
    );
  }
  verifyInclusion(
    leafHash(body),
    Number(proof.logIndex),
    size,
    proof.hashes.map((h) => new Uint8Array(Buffer.from(h, "base64"))),
    root,
  );
  const ts = cp.extensions.find((l) => l.startsWith("Timestamp: "));
  const integratedTime = ts ? Math.floor(Number(ts.slice(11)) / 1e9) : undefined;
  return {
    logIndex: Number(proof.logIndex),
    treeSize: size,
    origin,
    ...(integratedTime !== undefined && Number.isFinite(integratedTime) ? { integratedTime } : {}),
  };
}

/** The tree size and root a checkpoint note states, without verifying its signature. */
export function checkpointTree(note: string): { size: number; rootHash: Uint8Array } {
  const { checkpoint } = parseCheckpointNote(note);
  return { size: checkpoint.size, rootHash: checkpoint.rootHash };
}
