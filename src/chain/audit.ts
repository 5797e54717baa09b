import type { KeyObject } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { verifySignature } from "../attest/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { appendToLog, type LinkInput } from "../store/index.js";
import { linkedWithoutEvent, loggedPastTheEnd } from "./audit-crosscheck.js";
import type { ChainContext } from "./context.js";
import { identities, trustedKeys } from "./keys.js";
import { raiseWitness, readWitness } from "./witness.js";

export { AUDITED_LINK_KINDS, LOGS_NAMING_EVENTS } from "./audit-crosscheck.js";

/**
 * The audit trail: every action appends one event to the store's "audit" log. Each event names
 * the digest of the entry before it (a hash chain) and is signed by the signing key, so editing,
 * removing or reordering an event breaks the chain at a place `verifyAuditTrail` names. Each
 * event is also linked to its subject image ("audit-event" links) for per-image lookups.
 */

export const AUDIT_LOG = "audit";
export const AUDIT_EVENT_KIND = "audit-event";
export const AUDIT_EVENT_MEDIA_TYPE = "application/vnd.cleanimg.audit-event.v1+json";
export const GENESIS = `sha256:${"0".repeat(64)}`;

export type AuditAction =
  | "attest"
  | "sbom"
  | "scan"
  | "vex"
  | "vex-decision"
  | "db-import"
  | "db-update"
  | "build"
  | "policy"
  | "deployment"
  | "key-generate"
  | "key-trust"
  | "evidence-import"
  | "token-create"
  | "token-revoke"
  | "admission";

export interface AuditEvent {
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly action: AuditAction;
  /** The image (manifest digest) the action was about, when there is one. */
  readonly subject?: Digest;
  readonly subjectName?: string;
  /** Evidence the action produced or read, by role (attestation, document, envelope, …). */
  readonly evidence: Readonly<Record<string, string>>;
  readonly details: Readonly<Record<string, string>>;
  /** Digest of the previous log entry's bytes. */
  readonly prev: string;
  /** The signing key's id. */
  readonly keyid: string;
}

export interface StoredAuditEntry {
  readonly event: AuditEvent;
  /** base64 signature over the UTF-8 JSON of `event` */
  readonly sig: string;
}

/** Who is acting: $CLEANIMG_AUTHOR, else user@host. */
export function actor(author: string | undefined): string {
  if (author) {
    return author;
  }
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  return `${user}@${hostname()}`;
}

/** Appends an event; returns it with its sequence number. */
export async function recordAuditEvent(
  ctx: ChainContext,
  e: Omit<AuditEvent, "seq" | "time" | "actor" | "prev" | "keyid" | "details"> & {
    details?: Readonly<Record<string, string>>;
    time?: string;
    /** Who acted, when not this process's user (a server names the API token). */
    actor?: string;
  },
  /** Links that exist exactly when this event does (the evidence link the event records). */
  links: readonly LinkInput[] = [],
): Promise<AuditEvent> {
  const { signing } = await identities(ctx);
  const store = ctx.evidence();
  let made: AuditEvent | undefined;
  // the event names the evidence of every link made with it (what audit verify holds links to)
  const evidence: Record<string, string> = { ...e.evidence };
  const named = new Set(Object.values(evidence));
  for (const l of links) {
    if (!named.has(l.evidence)) {
      evidence[`link:${l.kind}`] = l.evidence;
      named.add(l.evidence);
    }
  }
  const appended = await appendToLog(store, AUDIT_LOG, async (seq, previous) => {
    const event: AuditEvent = {
      seq,
      time: e.time ?? new Date().toISOString(),
      actor: e.actor ?? actor(ctx.settings.author),
      action: e.action,
      ...(e.subject ? { subject: e.subject } : {}),
      ...(e.subjectName ? { subjectName: e.subjectName } : {}),
      evidence,
      details: e.details ?? {},
      prev: previous ? sha256(previous) : GENESIS,
      keyid: signing.keyid,
    };
    made = event;
    const { signature } = await signing.signer.sign(
      new TextEncoder().encode(JSON.stringify(event)),
    );
    const stored: StoredAuditEntry = { event, sig: signature.toString("base64") };
    const entry = new TextEncoder().encode(JSON.stringify(stored));
    if (!event.subject) {
      return { entry, links };
    }
    // the per-image index of the event, made in the same transaction as the event
    const d = await store.putBlob(entry, AUDIT_EVENT_MEDIA_TYPE);
    return {
      entry,
      links: [
        ...links,
        {
          subject: event.subject,
          evidence: d,
          kind: AUDIT_EVENT_KIND,
          annotations: {
            seq: String(event.seq),
            action: event.action,
            ...(event.details["stage"] ? { stage: event.details["stage"] } : {}),
          },
        },
      ],
    };
  });
  // the newest signed head, kept outside the audit rows (see headOutsideTheLog)
  await raiseWitness(ctx, "audit", appended.index + 1, appended.entry);
  return made as AuditEvent;
}

/** A problem found in the audit log, located by sequence number. */
export interface AuditProblem {
  readonly seq: number;
  readonly reason: string;
}

export interface AuditVerification {
  readonly events: number;
  readonly intact: boolean;
  readonly problems: readonly AuditProblem[];
  /** Digest of the last entry: save it to detect a later truncation of the log's tail. */
  readonly head?: string;
}

/**
 * Checks the whole audit log: sequence numbers dense, every event chained to the one before,
 * every signature valid by a trusted key. Problems are located, not just counted.
 */
export async function verifyAuditTrail(ctx: ChainContext): Promise<AuditVerification> {
  const raw = await ctx.evidence().entries(AUDIT_LOG, 0);
  const keys = await trustedKeys(ctx);
  const problems: AuditProblem[] = [];
  /** Every evidence digest an event of the log names (what the log records was made). */
  const named = new Set<string>();
  let prev = GENESIS;
  raw.forEach((bytes, i) => {
    let stored: StoredAuditEntry;
    try {
      stored = JSON.parse(new TextDecoder().decode(bytes)) as StoredAuditEntry;
    } catch {
      problems.push({ seq: i, reason: "the entry is not readable JSON: it was altered" });
      prev = sha256(bytes);
      return;
    }
    const ev = stored.event;
    for (const v of Object.values(ev?.evidence ?? {})) {
      named.add(String(v));
    }
    if (ev?.seq !== i) {
      problems.push({
        seq: i,
        reason: `position ${i} holds the event numbered ${String(ev?.seq)}: ${
          typeof ev?.seq === "number" && ev.seq > i
            ? `event${ev.seq - i > 1 ? `s ${i}-${ev.seq - 1} were` : ` ${i} was`} removed`
            : "events were reordered or renumbered"
        }`,
      });
    }
    if (ev?.prev !== prev) {
      problems.push({
        seq: ev?.seq ?? i,
        reason: `does not chain to the entry before it: ${i === 0 ? "the first event was replaced" : `event ${i - 1} was edited or removed`}`,
      });
    }
    const data = new TextEncoder().encode(JSON.stringify(ev));
    const sig = new Uint8Array(Buffer.from(stored.sig ?? "", "base64"));
    if (!keys.some((k) => verifySignature(k, data, sig))) {
      problems.push({
        seq: ev?.seq ?? i,
        reason: "its signature does not verify with a trusted key: the event was edited",
      });
    }
    prev = sha256(bytes);
  });
  const cut =
    (await headOutsideTheLog(ctx, keys, raw.length, (seq) => raw[seq])) ??
    (await indexedBeyondTheLog(ctx, raw.length));
  if (cut) {
    problems.push(cut);
  }
  for (const p of [
    await linkedWithoutEvent(ctx, named, raw.length),
    await loggedPastTheEnd(ctx, raw.length),
  ]) {
    if (p) {
      problems.push(p);
    }
  }
  return {
    events: raw.length,
    intact: problems.length === 0,
    problems,
    ...(raw.length > 0 ? { head: prev } : {}),
  };
}

/**
 * The audit log against the store's index: every event is indexed as an audit-event link with its
 * sequence number, made in the same transaction as the entry. A link numbered past the log's end
 * proves events were removed, also when the witness beside the store was removed with them.
 */
async function indexedBeyondTheLog(
  ctx: ChainContext,
  size: number,
): Promise<AuditProblem | undefined> {
  let last = -1;
  for (const l of await ctx.evidence().find({ kind: AUDIT_EVENT_KIND })) {
    const seq = Number(l.annotations["seq"]);
    if (Number.isSafeInteger(seq) && seq > last) {
      last = seq;
    }
  }
  return last >= size
    ? {
        seq: size,
        reason: `the audit log holds ${size} events, but the store's index links audit event #${last}: events #${size}..#${last} were removed`,
      }
    : undefined;
}

/**
 * The audit log against its newest signed head kept outside the audit rows (the witness, see
 * signing.ts): the log must still hold that entry, byte for byte, at its position. Undefined when
 * it does (or nothing was kept); otherwise the problem, located at the first missing position.
 * `entryAt` reads the log's entry at a position (`size` is the log's size).
 */
async function headOutsideTheLog(
  ctx: ChainContext,
  keys: readonly KeyObject[],
  size: number,
  entryAt: (seq: number) => Uint8Array | undefined | Promise<Uint8Array | undefined>,
): Promise<AuditProblem | undefined> {
  const w = await readWitness(ctx, "audit");
  if (!w) {
    return undefined;
  }
  const where = `its signed head kept outside the store (${w.path})`;
  let head: StoredAuditEntry | undefined;
  try {
    head = JSON.parse(new TextDecoder().decode(w.bytes)) as StoredAuditEntry;
  } catch {
    head = undefined;
  }
  const ev = head?.event;
  const data = new TextEncoder().encode(JSON.stringify(ev));
  const sig = new Uint8Array(Buffer.from(head?.sig ?? "", "base64"));
  if (!ev || ev.seq !== w.size - 1 || !keys.some((k) => verifySignature(k, data, sig))) {
    return { seq: size, reason: `${where} does not verify with a trusted key` };
  }
  if (size <= ev.seq) {
    return {
      seq: size,
      reason: `the audit log holds ${size} events, but ${where} is event #${ev.seq} (${ev.time}, ${ev.action}): events #${size}..#${ev.seq} were removed (the log's tail was truncated)`,
    };
  }
  const at = await entryAt(ev.seq);
  if (!at || sha256(at) !== sha256(w.bytes)) {
    return {
      seq: ev.seq,
      reason: `event #${ev.seq} is not ${where} (${ev.time}, ${ev.action}): the log was rewritten`,
    };
  }
  return undefined;
}

/**
 * Whether the audit log still holds its newest signed head kept outside it (see
 * headOutsideTheLog): one size query and one entry read. The reason when it does not.
 */
export async function auditLogCut(
  ctx: ChainContext,
  keys?: readonly KeyObject[],
): Promise<string | undefined> {
  const store = ctx.evidence();
  const size = await store.size(AUDIT_LOG);
  const p = await headOutsideTheLog(
    ctx,
    keys ?? (await trustedKeys(ctx)),
    size,
    async (seq) => (await store.entries(AUDIT_LOG, seq, seq + 1))[0],
  );
  return p?.reason;
}

/** Events in a time window [from, to), oldest first (parsed, not verified: see verifyAuditTrail). */
export async function auditEvents(
  ctx: ChainContext,
  from?: string,
  to?: string,
): Promise<AuditEvent[]> {
  const raw = await ctx.evidence().entries(AUDIT_LOG, 0);
  const out: AuditEvent[] = [];
  for (const b of raw) {
    try {
      const ev = (JSON.parse(new TextDecoder().decode(b)) as StoredAuditEntry).event;
      if ((!from || ev.time >= from) && (!to || ev.time < to)) {
        out.push(ev);
      }
    } catch {
      // unreadable entries are reported by verifyAuditTrail
    }
  }
  return out;
}
