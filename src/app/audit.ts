import type { KeyObject } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { verifySignature } from "../attest/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { appendToLog, type EvidenceStore, type LinkInput } from "../store/index.js";
import type { AppContext } from "./context.js";
import { identities, raiseWitness, readWitness, trustedKeys } from "./signing.js";

/**
 * The audit trail: every action appends one event to the store's "audit" log. Each event names
 * the digest of the entry before it (a hash chain) and is signed by the signing key, so editing,
 * removing or reordering an event breaks the chain at a place `verifyAuditTrail` names. Each
 * event is also linked to its subject image ("audit-event" links) for per-image lookups.
 */

export const AUDIT_LOG = "audit";
export const AUDIT_EVENT_KIND = "audit-event";
export const AUDIT_EVENT_MEDIA_TYPE = "application/vnd.cleanimg.audit-event.v1+json";
const GENESIS = `sha256:${"0".repeat(64)}`;

export type AuditAction =
  | "attest"
  | "sbom"
  | "scan"
  | "vex"
  | "vex-decision"
  | "db-import"
  | "build"
  | "policy"
  | "deployment"
  | "key-generate"
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

interface StoredAuditEntry {
  readonly event: AuditEvent;
  /** base64 signature over the UTF-8 JSON of `event` */
  readonly sig: string;
}

/** Who is acting: $CLEANIMG_AUTHOR, else user@host. */
export function actor(env: Readonly<Record<string, string | undefined>>): string {
  const a = env["CLEANIMG_AUTHOR"];
  if (a) {
    return a;
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
  ctx: AppContext,
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
  const appended = await appendToLog(store, AUDIT_LOG, async (seq, previous) => {
    const event: AuditEvent = {
      seq,
      time: e.time ?? new Date().toISOString(),
      actor: e.actor ?? actor(ctx.env),
      action: e.action,
      ...(e.subject ? { subject: e.subject } : {}),
      ...(e.subjectName ? { subjectName: e.subjectName } : {}),
      evidence: e.evidence,
      details: e.details ?? {},
      prev: previous ? sha256(previous) : GENESIS,
      keyid: signing.keyid,
    };
    made = event;
    const sig = await signing.signer.sign(new TextEncoder().encode(JSON.stringify(event)));
    const stored: StoredAuditEntry = { event, sig: Buffer.from(sig).toString("base64") };
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
export async function verifyAuditTrail(ctx: AppContext): Promise<AuditVerification> {
  const raw = await ctx.evidence().entries(AUDIT_LOG, 0);
  const keys = await trustedKeys(ctx);
  const problems: AuditProblem[] = [];
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
  const cut = await headOutsideTheLog(ctx, keys, raw.length, (seq) => raw[seq]);
  if (cut) {
    problems.push(cut);
  }
  return {
    events: raw.length,
    intact: problems.length === 0,
    problems,
    ...(raw.length > 0 ? { head: prev } : {}),
  };
}

/**
 * The audit log against its newest signed head kept outside the audit rows (the witness, see
 * signing.ts): the log must still hold that entry, byte for byte, at its position. Undefined when
 * it does (or nothing was kept); otherwise the problem, located at the first missing position.
 * `entryAt` reads the log's entry at a position (`size` is the log's size).
 */
async function headOutsideTheLog(
  ctx: AppContext,
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
  ctx: AppContext,
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
  ctx: AppContext,
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

/** The audit events recorded for one image, read from the audit log itself (see imageAuditRecord). */
export async function imageAuditEvents(ctx: AppContext, image: Digest): Promise<AuditEvent[]> {
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
  ctx: AppContext,
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

/** The design's audit summary for a window, from the events in it. */
export interface AuditSummary {
  readonly from?: string;
  readonly to?: string;
  readonly events: number;
  readonly log: AuditVerification;
  readonly buildsExecuted: number;
  readonly provenancesGenerated: number;
  readonly buildsWithoutProvenance: number;
  readonly deployments: number;
  readonly deployedWithoutApproval: number;
  /** Images scanned in the window. */
  readonly imagesScanned: number;
  /** Scanned images whose newest scan assessed every package and has a VEX after it. */
  readonly imagesAssessed: number;
  /**
   * Images not fully assessed: a newest scan with packages the database could not assess (or
   * whose scan document is not here to tell), a scan without a VEX after it, or an SBOM without
   * a scan after it. Empty with `imagesScanned` 0 means nothing was scanned, not "no gaps".
   */
  readonly assessmentGaps: readonly AssessmentGap[];
  readonly counts: Readonly<Record<string, number>>;
}

/** One image whose vulnerabilities were not fully assessed, and why. */
export interface AssessmentGap {
  readonly image: string;
  readonly name?: string;
  readonly reason: string;
  /** Packages the newest scan could not assess. */
  readonly unassessedPackages?: number;
}

export async function auditSummary(
  ctx: AppContext,
  from?: string,
  to?: string,
): Promise<{ summary: AuditSummary; events: AuditEvent[] }> {
  const log = await verifyAuditTrail(ctx);
  const events = await auditEvents(ctx, from, to);
  const counts: Record<string, number> = {};
  for (const e of events) {
    counts[e.action] = (counts[e.action] ?? 0) + 1;
  }
  const builds = events.filter((e) => e.action === "build");
  const deployments = events.filter((e) => e.action === "deployment");
  const approved = new Set(
    events
      .filter((e) => e.action === "policy" && e.details["decision"] === "allow")
      .map((e) => e.subject),
  );
  const assessment = await assessmentGaps(ctx, events);
  return {
    summary: {
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      events: events.length,
      log,
      buildsExecuted: builds.length,
      provenancesGenerated: builds.filter((e) => e.evidence["attestation"]).length,
      buildsWithoutProvenance: builds.filter((e) => !e.evidence["attestation"]).length,
      deployments: deployments.length,
      deployedWithoutApproval: deployments.filter(
        (e) => e.details["approved"] !== "true" && !approved.has(e.subject),
      ).length,
      imagesScanned: assessment.scanned,
      imagesAssessed: assessment.assessed,
      assessmentGaps: assessment.gaps,
      counts,
    },
    events,
  };
}

/**
 * The vulnerability assessment of each image with evidence in the window, from its newest SBOM,
 * scan and VEX events (recorded here or imported): the newest scan's document says which packages
 * could not be assessed. An image counts as assessed only when that is none and a VEX follows.
 */
async function assessmentGaps(
  ctx: AppContext,
  events: readonly AuditEvent[],
): Promise<{ scanned: number; assessed: number; gaps: AssessmentGap[] }> {
  const stageOf = (e: AuditEvent): string | undefined =>
    e.action === "evidence-import" ? e.details["stage"] : e.action;
  const last = new Map<string, { sbom?: AuditEvent; scan?: AuditEvent; vex?: AuditEvent }>();
  for (const e of events) {
    const stage = stageOf(e);
    if (e.subject && (stage === "sbom" || stage === "scan" || stage === "vex")) {
      const m = last.get(e.subject) ?? {};
      m[stage] = e;
      last.set(e.subject, m);
    }
  }
  const store = ctx.evidence();
  const unassessedIn = async (scan: AuditEvent): Promise<number | undefined> => {
    const d = scan.evidence["document"] as Digest | undefined;
    try {
      const doc = JSON.parse(
        new TextDecoder().decode((await store.getBlob(d as Digest)).bytes),
      ) as { unassessed?: { packages: number }[] };
      return (doc.unassessed ?? []).reduce((n, u) => n + u.packages, 0);
    } catch {
      return undefined;
    }
  };
  const gaps: AssessmentGap[] = [];
  let scanned = 0;
  for (const [image, m] of last) {
    const name = (m.scan ?? m.sbom ?? m.vex)?.subjectName;
    const gap = (reason: string, unassessedPackages?: number): void => {
      gaps.push({
        image,
        ...(name ? { name } : {}),
        reason,
        ...(unassessedPackages !== undefined ? { unassessedPackages } : {}),
      });
    };
    if (!m.scan) {
      if (m.sbom) {
        gap("SBOM without a later scan and VEX");
      }
      continue;
    }
    scanned++;
    const n = await unassessedIn(m.scan);
    if (n === undefined) {
      gap("the scan's document is not here: which packages were assessed cannot be told");
    } else if (n > 0) {
      gap(`${n} packages could not be assessed (the database has no data for them)`, n);
    } else if (!m.vex || m.vex.seq < m.scan.seq) {
      gap("scan without a later VEX");
    } else if (m.sbom && m.sbom.seq > m.scan.seq) {
      gap("SBOM without a later scan and VEX");
    }
  }
  return { scanned, assessed: scanned - gaps.filter((g) => last.get(g.image)?.scan).length, gaps };
}

/**
 * Watches the audit log for changes of evidence: each call returns the events appended since the
 * previous one (the first call only takes the log's size). One size query when nothing changed;
 * every process that shares the store sees every other's changes, since every change of
 * evidence appends an event. `undefined` entries stand for unreadable events (trust nothing).
 */
export class AuditWatcher {
  #size = -1;
  constructor(private readonly ctx: AppContext) {}

  async changes(): Promise<(AuditEvent | undefined)[]> {
    const store = this.ctx.evidence();
    const size = await store.size(AUDIT_LOG);
    if (this.#size < 0 || size === this.#size) {
      this.#size = size;
      return [];
    }
    const fresh = await store.entries(AUDIT_LOG, this.#size, size);
    this.#size = size;
    return fresh.map((bytes) => {
      try {
        return (JSON.parse(new TextDecoder().decode(bytes)) as StoredAuditEntry).event;
      } catch {
        return undefined;
      }
    });
  }
}
