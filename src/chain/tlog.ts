import {
  BUNDLE_MEDIA_TYPE,
  consistencyProof,
  type EvidenceBundle,
  type FrontierNode,
  frontierAppend,
  frontierRoot,
  type InclusionProof,
  lastLeafProof,
  leafHash,
  noteKeyHint,
  type OwnLogEntry,
  parseCheckpointNote,
  rootHash,
  signCheckpoint,
  verifyCheckpointNote,
  verifyConsistency,
} from "../attest/index.js";
import type { Digest } from "../core/digest.js";
import { AttestError, ToolError } from "../core/errors.js";
import { appendToLog } from "../store/index.js";
import type { ChainContext } from "./context.js";
import { identities, type LogIdentity } from "./keys.js";
import { raiseWitness, readWitness } from "./witness.js";

export { BUNDLE_MEDIA_TYPE };
export const TLOG = "tlog";

interface StoredLogEntry {
  /** base64 of the logged body */
  readonly body: string;
  /** the frontier after this entry */
  readonly frontier: readonly { readonly size: number; readonly hash: string }[];
  /** the signed checkpoint of the tree ending with this entry */
  readonly checkpoint: string;
}

function parseStoredLogEntry(bytes: Uint8Array, index: number): StoredLogEntry {
  try {
    const e = JSON.parse(new TextDecoder().decode(bytes)) as StoredLogEntry;
    if (
      typeof e.body === "string" &&
      Array.isArray(e.frontier) &&
      typeof e.checkpoint === "string"
    ) {
      return e;
    }
  } catch {
    // reported below
  }
  throw new AttestError("ATTEST_VERIFY_FAILED", `transparency log entry ${index} is unreadable`);
}

const frontierOf = (e: StoredLogEntry): FrontierNode[] =>
  e.frontier.map((n) => ({ size: n.size, hash: new Uint8Array(Buffer.from(n.hash, "base64")) }));

/** Appends a body to the embedded log; returns its index, proof and signed time. */
export async function appendToTransparencyLog(
  ctx: ChainContext,
  body: Uint8Array,
  now: () => Date = () => new Date(),
): Promise<{ index: number; proof: InclusionProof; integratedTime: number }> {
  const { log } = await identities(ctx);
  let proof: InclusionProof | undefined;
  let time = 0;
  const { index } = await appendToLog(ctx.evidence(), TLOG, async (i, prev) => {
    const before = prev ? frontierOf(parseStoredLogEntry(prev, i - 1)) : [];
    const after = frontierAppend(before, leafHash(body));
    const root = frontierRoot(after);
    time = now().getTime();
    const checkpoint = await signCheckpoint(
      {
        origin: log.origin,
        size: i + 1,
        rootHash: root,
        extensions: [`Timestamp: ${BigInt(time) * 1_000_000n}`],
      },
      log.origin,
      noteKeyHint(log.origin, log.publicKey),
      log.signer,
    );
    proof = {
      logIndex: String(i),
      rootHash: Buffer.from(root).toString("base64"),
      treeSize: String(i + 1),
      hashes: lastLeafProof(before).map((h) => Buffer.from(h).toString("base64")),
      checkpoint: { envelope: checkpoint },
    };
    const stored: StoredLogEntry = {
      body: Buffer.from(body).toString("base64"),
      frontier: after.map((n) => ({ size: n.size, hash: Buffer.from(n.hash).toString("base64") })),
      checkpoint,
    };
    return new TextEncoder().encode(JSON.stringify(stored));
  });
  const made = proof as InclusionProof;
  await raiseWitness(ctx, "tlog", index + 1, new TextEncoder().encode(made.checkpoint.envelope));
  return { index, proof: made, integratedTime: Math.floor(time / 1000) };
}

/** Appends a DSSE log body to the embedded log; returns the bundle's entry for it. */
export async function logDsseBody(ctx: ChainContext, body: Uint8Array): Promise<OwnLogEntry> {
  const { log } = await identities(ctx);
  const { index, proof, integratedTime } = await appendToTransparencyLog(ctx, body);
  return {
    logIndex: String(index),
    logId: { keyId: log.logId },
    kindVersion: { kind: "dsse", version: "0.0.1" },
    integratedTime: String(integratedTime),
    inclusionProof: proof,
    canonicalizedBody: Buffer.from(body).toString("base64"),
  };
}

/**
 * Whether the store's transparency log still holds a bundle's entry in this store's log: the
 * entry at its index, with its body. Undefined when it does, or when the bundle was logged in
 * another log (evidence imported from elsewhere); otherwise why not (the log's tail was cut, or
 * it was rewritten).
 */
export async function transparencyLogGap(
  ctx: ChainContext,
  bundleBytes: Uint8Array,
): Promise<string | undefined> {
  const { log } = await identities(ctx);
  let entry: EvidenceBundle["verificationMaterial"]["tlogEntries"][0] | undefined;
  try {
    // our own log's entry comes first
    const b = JSON.parse(new TextDecoder().decode(bundleBytes)) as EvidenceBundle;
    const own = b.verificationMaterial?.tlogEntries?.[0];
    entry = own?.logId?.keyId === log.logId ? own : undefined;
  } catch {
    return undefined; // an unreadable bundle does not verify, which is reported as such
  }
  if (!entry) {
    return undefined;
  }
  const i = Number(entry.logIndex);
  const store = ctx.evidence();
  const [stored] = await store.entries(TLOG, i, i + 1);
  if (!stored) {
    const n = await store.size(TLOG);
    return `its transparency log entry #${i} is not in the store's log, which holds ${n} entries while the attestation's own signed checkpoint is of a tree of ${entry.inclusionProof.treeSize}: the log's tail was truncated (see tlog verify)`;
  }
  let body: string | undefined;
  try {
    body = parseStoredLogEntry(stored, i).body;
  } catch {
    body = undefined;
  }
  return body === entry.canonicalizedBody
    ? undefined
    : `the store's transparency log entry #${i} is not the one the attestation was logged as: the log was rewritten (see tlog verify)`;
}

/** Reads the whole embedded log (for `tlog verify` and checkpoints). */
export async function readTransparencyLog(
  ctx: ChainContext,
): Promise<{ bodies: Uint8Array[]; checkpoints: string[]; frontiers: FrontierNode[][] }> {
  const raw = await ctx.evidence().entries(TLOG, 0);
  const entries = raw.map((b, i) => parseStoredLogEntry(b, i));
  return {
    bodies: entries.map((e) => new Uint8Array(Buffer.from(e.body, "base64"))),
    checkpoints: entries.map((e) => e.checkpoint),
    frontiers: entries.map(frontierOf),
  };
}

/** What `tlog verify` found. */
export interface TransparencyLogVerification {
  readonly size: number;
  readonly origin: string;
  /** The latest signed checkpoint (save it to prove later that the log only grew). */
  readonly checkpoint?: string;
  readonly problems: readonly { readonly index: number; readonly reason: string }[];
  /** The consistency check against an earlier checkpoint, when one was given. */
  readonly consistentWith?: {
    readonly size: number;
    readonly ok: boolean;
    readonly reason?: string;
  };
}

/**
 * Re-derives the whole embedded log from its entries: every stored frontier and checkpoint must
 * be the one its entries give, every checkpoint signed by the log key; and, given an earlier
 * checkpoint, proves with a consistency proof that the log only grew since.
 */
export async function verifyTransparencyLog(
  ctx: ChainContext,
  earlier?: string,
): Promise<TransparencyLogVerification> {
  const { log } = await identities(ctx);
  const raw = await ctx.evidence().entries(TLOG, 0);
  const problems: { index: number; reason: string }[] = [];
  const leaves: Uint8Array[] = [];
  let frontier: FrontierNode[] = [];
  let last: string | undefined;
  raw.forEach((bytes, i) => {
    let e: StoredLogEntry;
    try {
      e = parseStoredLogEntry(bytes, i);
    } catch (x) {
      problems.push({ index: i, reason: (x as Error).message });
      return;
    }
    const leaf = leafHash(new Uint8Array(Buffer.from(e.body, "base64")));
    leaves.push(leaf);
    frontier = frontierAppend(frontier, leaf);
    const root = frontierRoot(frontier);
    try {
      const cp = verifyCheckpointNote(e.checkpoint, log.origin, log.publicKey);
      if (cp.size !== i + 1 || !Buffer.from(cp.rootHash).equals(Buffer.from(root))) {
        problems.push({
          index: i,
          reason: `the checkpoint stored with entry ${i} is not the tree its entries give: entry ${i} or an earlier one was altered`,
        });
      }
    } catch (x) {
      problems.push({ index: i, reason: (x as Error).message });
    }
    last = e.checkpoint;
  });
  let consistentWith: TransparencyLogVerification["consistentWith"];
  if (earlier !== undefined) {
    try {
      parseCheckpointNote(earlier);
    } catch (x) {
      // not a checkpoint at all: bad input, not evidence that the log changed
      throw new ToolError(
        "CORE_INPUT_UNREADABLE",
        `the given checkpoint is not a signed checkpoint note (${(x as Error).message})`,
        { hint: "give a file written by cleanimg-init tlog checkpoint" },
      );
    }
    try {
      const old = verifyCheckpointNote(earlier, log.origin, log.publicKey);
      try {
        verifyConsistency(
          old.size,
          leaves.length,
          old.size <= leaves.length ? consistencyProof(leaves, old.size) : [],
          old.rootHash,
          rootHash(leaves),
        );
        consistentWith = { size: old.size, ok: true };
      } catch (x) {
        consistentWith = { size: old.size, ok: false, reason: (x as Error).message };
      }
    } catch (x) {
      consistentWith = { size: -1, ok: false, reason: (x as Error).message };
    }
  }
  problems.push(...(await largerTreeProblems(ctx, leaves)));
  return {
    size: raw.length,
    origin: log.origin,
    ...(last ? { checkpoint: last } : {}),
    problems,
    ...(consistentWith ? { consistentWith } : {}),
  };
}

/**
 * What proves the log held more than it does, or another history: the witness's checkpoint (kept
 * outside the store) and the signed checkpoints in the bundles the store holds. The largest
 * proof of a size beyond the log's is named; the witness's tree must also be the log's prefix.
 */
async function largerTreeProblems(
  ctx: ChainContext,
  leaves: readonly Uint8Array[],
): Promise<{ index: number; reason: string }[]> {
  const { log } = await identities(ctx);
  const n = leaves.length;
  const cut = (size: number, what: string): { index: number; reason: string } => ({
    index: n,
    reason: `the log holds ${n} entries, but ${what} signs a tree of ${size}: entries ${n}..${size - 1} were removed (the log's tail was truncated)`,
  });
  const problems: { index: number; reason: string }[] = [];
  const w = await readWitness(ctx, "tlog");
  if (w) {
    const what = `the checkpoint kept outside the store (${w.path})`;
    try {
      const cp = verifyCheckpointNote(new TextDecoder().decode(w.bytes), log.origin, log.publicKey);
      if (cp.size > n) {
        problems.push(cut(cp.size, what));
      } else if (
        !Buffer.from(rootHash(leaves.slice(0, cp.size))).equals(Buffer.from(cp.rootHash))
      ) {
        problems.push({
          index: cp.size - 1,
          reason: `the log's first ${cp.size} entries are not the tree ${what} signs: the log was rewritten`,
        });
      }
    } catch (x) {
      problems.push({ index: n, reason: `${what} does not verify: ${(x as Error).message}` });
    }
  }
  const bundle = await largestBundleTree(ctx, log);
  if (bundle && bundle.size > n && !problems.some((p) => p.index === n)) {
    problems.push(cut(bundle.size, `the checkpoint in the store's bundle ${bundle.digest}`));
  }
  return problems;
}

/** The bundle the store holds with the largest verified checkpoint of this log. */
async function largestBundleTree(
  ctx: ChainContext,
  log: LogIdentity,
): Promise<{ size: number; digest: Digest } | undefined> {
  const store = ctx.evidence();
  const digests = [
    ...new Set(
      (await store.find({}))
        .filter((l) => l.mediaType === BUNDLE_MEDIA_TYPE)
        .map((l) => l.evidence),
    ),
  ];
  const found: { size: number; digest: Digest; note: string }[] = [];
  for (let i = 0; i < digests.length; i += 32) {
    await Promise.all(
      digests.slice(i, i + 32).map(async (digest) => {
        try {
          const b = JSON.parse(
            new TextDecoder().decode((await store.getBlob(digest)).bytes),
          ) as EvidenceBundle;
          const own = b.verificationMaterial.tlogEntries[0];
          if (own.logId.keyId === log.logId) {
            const size = Number(own.inclusionProof.treeSize);
            found.push({ size, digest, note: own.inclusionProof.checkpoint.envelope });
          }
        } catch {
          // an unreadable bundle proves nothing
        }
      }),
    );
  }
  // the largest whose checkpoint our log key signed
  for (const f of found.sort((a, b) => b.size - a.size)) {
    try {
      const cp = verifyCheckpointNote(f.note, log.origin, log.publicKey);
      if (cp.size === f.size) {
        return { size: f.size, digest: f.digest };
      }
    } catch {
      // not signed by this log: no proof
    }
  }
  return undefined;
}
