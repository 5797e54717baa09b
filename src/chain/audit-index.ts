import type { KeyObject } from "node:crypto";
import { verifySignature } from "../attest/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import type { EvidenceStore } from "../store/index.js";
import {
  AUDIT_LOG,
  type AuditEvent,
  type AuditProblem,
  GENESIS,
  type StoredAuditEntry,
} from "./audit.js";
import type { ChainContext } from "./context.js";
import { trustedKeys } from "./keys.js";

/** The audit events recorded for one image, read from the audit log itself (see imageAuditRecord). */
export async function imageAuditEvents(ctx: ChainContext, image: Digest): Promise<AuditEvent[]> {
  return [...(await imageAuditRecord(ctx, image)).events];
}

/** What the audit log records about one image. */
export interface ImageAuditRecord {
  /** The image's events, oldest first: each the log's own entry at its position, chained, signed. */
  readonly events: readonly AuditEvent[];
  /** Entries about the image that fail those checks (the audit log was altered), with their stage. */
  readonly problems: readonly (AuditProblem & { readonly stage?: string })[];
}

/**
 * The audit events about an image, taken from the append-only audit log, not from the store's
 * per-image index (links can be deleted or edited one row at a time; the log cannot without
 * breaking its hash chain or signatures). Where each image's events are in the log is kept per
 * process and store (`AuditLogBySubject`): the log is read once, then only its new entries. Each
 * event returned is re-read at its position, and must still be the bytes that were indexed, chain
 * to the entry before it and carry a valid signature by one of `keys` (default: the trusted keys).
 */
export async function imageAuditRecord(
  ctx: ChainContext,
  image: Digest,
  keys?: readonly KeyObject[],
): Promise<ImageAuditRecord> {
  const store = ctx.evidence();
  const trusted = keys ?? (await trustedKeys(ctx));
  let index = AuditLogBySubject.of(store);
  await index.catchUp(store);
  let read = await readIndexedEvents(store, image, index.positionsOf(image), trusted);
  if (read.changed.length > 0) {
    // an entry is no longer what was indexed: the log was rewritten; index it again, once
    index = AuditLogBySubject.reset(store);
    await index.catchUp(store);
    read = await readIndexedEvents(store, image, index.positionsOf(image), trusted);
  }
  const changed = read.changed.map((seq) => ({
    seq,
    reason: "the entry changed while it was being read",
  }));
  return { events: read.events, problems: [...read.problems, ...changed] };
}

/** Where an event about a subject is in the audit log, as it was when read. */
interface IndexedEntry {
  readonly seq: number;
  /** Digest of the entry's bytes. */
  readonly hash: string;
  /** Its `prev` is the digest of the entry read before it. */
  readonly chained: boolean;
}

/**
 * The positions of every subject's events in the audit log, built by reading the log (in chunks)
 * and brought up to date with one size query plus the entries appended since. A cache of the log,
 * never of the store's index: it cannot be edited behind the process's back.
 */
class AuditLogBySubject {
  static readonly #byStore = new WeakMap<EvidenceStore, AuditLogBySubject>();
  static readonly #CHUNK = 5000;
  #read = 0;
  #lastHash = GENESIS;
  readonly #bySubject = new Map<string, IndexedEntry[]>();
  #queue: Promise<void> = Promise.resolve();

  static of(store: EvidenceStore): AuditLogBySubject {
    let i = AuditLogBySubject.#byStore.get(store);
    if (!i) {
      i = new AuditLogBySubject();
      AuditLogBySubject.#byStore.set(store, i);
    }
    return i;
  }

  static reset(store: EvidenceStore): AuditLogBySubject {
    AuditLogBySubject.#byStore.delete(store);
    return AuditLogBySubject.of(store);
  }

  positionsOf(subject: Digest): readonly IndexedEntry[] {
    return this.#bySubject.get(subject) ?? [];
  }

  /** Reads the entries appended since the last call (one at a time per process). */
  catchUp(store: EvidenceStore): Promise<void> {
    const run = this.#queue.then(() => this.#catchUp(store));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #catchUp(store: EvidenceStore): Promise<void> {
    const size = await store.size(AUDIT_LOG);
    if (size < this.#read) {
      // the log lost entries: index what it holds now (`audit verify` reports the truncation)
      this.#read = 0;
      this.#lastHash = GENESIS;
      this.#bySubject.clear();
    }
    while (this.#read < size) {
      const to = Math.min(size, this.#read + AuditLogBySubject.#CHUNK);
      for (const bytes of await store.entries(AUDIT_LOG, this.#read, to)) {
        const hash = sha256(bytes);
        const ev = parseEvent(bytes);
        if (ev && typeof ev.subject === "string" && typeof ev.seq === "number") {
          const list = this.#bySubject.get(ev.subject) ?? [];
          const chained = ev.prev === this.#lastHash;
          const same = list.findIndex((e) => e.seq === ev.seq && e.hash === hash);
          if (same < 0) {
            list.push({ seq: ev.seq, hash, chained });
          } else if (chained) {
            // a copy of an event appended again: the event is its original's, at its position
            list[same] = { seq: ev.seq, hash, chained };
          }
          this.#bySubject.set(ev.subject, list);
        }
        this.#lastHash = hash;
      }
      this.#read = to;
    }
  }
}

const parseEvent = (bytes: Uint8Array): AuditEvent | undefined => {
  try {
    return (JSON.parse(new TextDecoder().decode(bytes)) as StoredAuditEntry).event;
  } catch {
    return undefined; // unreadable entries are reported by verifyAuditTrail
  }
};

/** Re-reads indexed events at their positions and checks each (see imageAuditRecord). */
async function readIndexedEvents(
  store: EvidenceStore,
  image: Digest,
  positions: readonly IndexedEntry[],
  keys: readonly KeyObject[],
): Promise<ImageAuditRecord & { changed: number[] }> {
  const events: AuditEvent[] = [];
  const problems: (AuditProblem & { stage?: string })[] = [];
  const changed: number[] = [];
  await Promise.all(
    positions.map(async (p) => {
      const [bytes] = await store.entries(AUDIT_LOG, p.seq, p.seq + 1);
      if (!bytes || sha256(bytes) !== p.hash) {
        changed.push(p.seq);
        return;
      }
      const stored = JSON.parse(new TextDecoder().decode(bytes)) as StoredAuditEntry;
      const ev = stored.event;
      if (ev.subject !== image) {
        return;
      }
      const data = new TextEncoder().encode(JSON.stringify(ev));
      const sig = new Uint8Array(Buffer.from(stored.sig ?? "", "base64"));
      const reason = !p.chained
        ? "it does not chain to the entry before it"
        : !keys.some((k) => verifySignature(k, data, sig))
          ? "its signature does not verify with a trusted key"
          : undefined;
      if (reason) {
        const stage = ev.details?.["stage"];
        problems.push({ seq: p.seq, reason, ...(typeof stage === "string" ? { stage } : {}) });
      } else {
        events.push(ev);
      }
    }),
  );
  events.sort((a, b) => a.seq - b.seq);
  problems.sort((a, b) => a.seq - b.seq);
  return { events, problems, changed };
}
