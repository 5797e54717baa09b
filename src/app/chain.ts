import type { KeyObject } from "node:crypto";
import {
  CHAIN_LINK_PREDICATE,
  keyIdOf,
  statement,
  type VerifiedEvidenceBundle,
  verifyRekorEntries,
} from "../attest/index.js";
import { type Digest, isDigest, sha256 } from "../core/digest.js";
import { isToolError } from "../core/errors.js";
import type { EvidenceLink } from "../store/index.js";
import {
  type AuditEvent,
  type AuditProblem,
  auditLogCut,
  imageAuditRecord,
  recordAuditEvent,
} from "./audit.js";
import type { AppContext } from "./context.js";
import {
  BUNDLE_MEDIA_TYPE,
  type EvidenceTrust,
  evidenceTrust,
  signStatement,
  transparencyLogGap,
  verifyEvidence,
} from "./signing.js";

/**
 * The evidence chain: source -> provenance -> SBOM -> scan -> VEX -> policy -> deployment. Each
 * link is a signed, logged in-toto statement about the image (predicate CHAIN_LINK_PREDICATE)
 * that names the evidence document by digest and the envelope of the link(s) it was made from.
 * Recording a link also records an audit event; the audit trail is what tells a deleted or
 * replaced link from one that was never made.
 */

export const ATTESTATION_KIND = "attestation";
export const STAGES = ["provenance", "sbom", "scan", "vex", "policy", "deployment"] as const;
export type Stage = (typeof STAGES)[number];

export interface ChainLinkPredicate {
  readonly stage: Stage;
  /** When the link was made (ISO 8601): signed, unlike the store's own timestamps. */
  readonly created: string;
  readonly tool: string;
  /** The evidence document, stored content-addressed. */
  readonly evidence: {
    readonly digest: Digest;
    readonly mediaType: string;
    /** The standard predicate type of the document (SPDX, CycloneDX, OpenVEX, …). */
    readonly predicateType?: string;
  };
  /** The links this one was made from: their stage and DSSE envelope digest. */
  readonly previous: readonly { readonly stage: Stage; readonly envelope: Digest }[];
  /** Other inputs by digest (the vulnerability database snapshot, a source commit, …). */
  readonly inputs: Readonly<Record<string, string>>;
}

/** A link as recorded in the store. */
export interface RecordedLink {
  readonly stage: Stage;
  /** Digest of the Sigstore bundle (the attestation blob). */
  readonly attestation: Digest;
  /** Digest of the DSSE envelope (what later links refer to, what the log records). */
  readonly envelope: Digest;
  readonly evidence: Digest;
  readonly created: string;
}

const toRecorded = (l: EvidenceLink): RecordedLink | undefined => {
  const a = l.annotations;
  return a["stage"] && a["envelope"] && a["evidence"] && a["created"]
    ? {
        stage: a["stage"] as Stage,
        attestation: l.evidence,
        envelope: a["envelope"] as Digest,
        evidence: a["evidence"] as Digest,
        created: a["created"],
      }
    : undefined;
};

/** The store's index entry of a chain link (what `find` filters and `toRecorded` reads). */
export function linkAnnotations(a: {
  stage: Stage;
  envelope: Digest;
  evidence: Digest;
  created: string;
  image: string;
  inputs: Readonly<Record<string, string>>;
}): Record<string, string> {
  return {
    stage: a.stage,
    envelope: a.envelope,
    evidence: a.evidence,
    created: a.created,
    image: a.image,
    ...(a.inputs["slsaBuildLevel"] ? { slsaBuildLevel: a.inputs["slsaBuildLevel"] } : {}),
    ...(a.inputs["unassessed"] ? { unassessed: a.inputs["unassessed"] } : {}),
  };
}

/**
 * The link of a stage in effect: the one made last by its own signed time (`created`), not the
 * one the store received last (evidence made elsewhere can be imported after links made here
 * from newer ones); on equal times, the later arrival. `links` in the store's (arrival) order.
 */
export function linkInEffect(links: readonly RecordedLink[]): RecordedLink | undefined {
  let best: RecordedLink | undefined;
  for (const l of links) {
    if (!best || l.created >= best.created) {
      best = l;
    }
  }
  return best;
}

/** The link in effect of a stage for an image, as the store indexes it (not verified). */
export async function latestLink(
  ctx: AppContext,
  image: Digest,
  stage: Stage,
): Promise<RecordedLink | undefined> {
  const rows = await ctx.evidence().find({ subject: image, kind: ATTESTATION_KIND });
  return linkInEffect(rows.map(toRecorded).filter((r): r is RecordedLink => r?.stage === stage));
}

/**
 * Records a link: signs the statement, logs it, stores the bundle linked to the image, and
 * appends the audit event. The evidence document must already be stored.
 */
export async function recordChainLink(
  ctx: AppContext,
  l: {
    readonly image: { readonly name: string; readonly digest: Digest };
    readonly stage: Stage;
    readonly evidence: ChainLinkPredicate["evidence"];
    readonly previous: readonly RecordedLink[];
    readonly inputs?: Readonly<Record<string, string>>;
    readonly tool: string;
    readonly created?: string;
    /** Extra details for the audit event (a policy decision's outcome, …). */
    readonly details?: Readonly<Record<string, string>>;
    /** Who acted, for the audit event (default: this process's user). */
    readonly actor?: string;
  },
): Promise<RecordedLink> {
  const created = l.created ?? new Date().toISOString();
  const predicate: ChainLinkPredicate = {
    stage: l.stage,
    created,
    tool: l.tool,
    evidence: l.evidence,
    previous: l.previous.map((p) => ({ stage: p.stage, envelope: p.envelope })),
    inputs: l.inputs ?? {},
  };
  const signed = await signStatement(
    ctx,
    statement([{ name: l.image.name, digest: l.image.digest }], CHAIN_LINK_PREDICATE, predicate),
  );
  const envelope = sha256(new TextEncoder().encode(JSON.stringify(signed.bundle.dsseEnvelope)));
  const store = ctx.evidence();
  const attestation = await store.putBlob(signed.bytes, BUNDLE_MEDIA_TYPE);
  // the link and the audit event that records it are made together or not at all
  await recordAuditEvent(
    ctx,
    {
      action: l.stage === "provenance" ? "build" : l.stage,
      subject: l.image.digest,
      subjectName: l.image.name,
      evidence: { attestation, envelope, document: l.evidence.digest },
      details: { ...l.details, stage: l.stage },
      time: created,
      ...(l.actor ? { actor: l.actor } : {}),
    },
    [
      {
        subject: l.image.digest,
        evidence: attestation,
        kind: ATTESTATION_KIND,
        annotations: linkAnnotations({
          stage: l.stage,
          envelope,
          evidence: l.evidence.digest,
          created,
          image: l.image.name,
          inputs: l.inputs ?? {},
        }),
      },
    ],
  );
  return { stage: l.stage, attestation, envelope, evidence: l.evidence.digest, created };
}

export type LinkState = "valid" | "stale" | "broken" | "invalid" | "not-recorded";

export interface LinkReport {
  readonly stage: Stage;
  readonly state: LinkState;
  readonly reason?: string;
  readonly attestation?: Digest;
  readonly envelope?: Digest;
  readonly evidence?: Digest;
  readonly signers?: readonly string[];
  readonly created?: string;
  readonly logIndex?: number;
  /** Rekor entries verified against the Sigstore trusted root (when one is configured). */
  readonly rekorEntries?: number;
  readonly predicate?: ChainLinkPredicate;
}

export interface ChainReport {
  readonly image: Digest;
  readonly links: readonly LinkReport[];
  /** No link broken or invalid. */
  readonly intact: boolean;
  /** The first broken link, when there is one. */
  readonly firstBroken?: Stage;
  /**
   * Intact and no link stale: what admission and status require. A stale link is not tampering;
   * `notReady` names the first one and what to re-run.
   */
  readonly ready: boolean;
  readonly notReady?: { readonly stage: Stage; readonly reason: string };
}

/**
 * What the append-only records say an image's chain must contain: the chain links the signed,
 * hash-chained audit log recorded for the image, per stage (oldest first), and the entries about
 * the image that no longer verify. Taken from the log itself, never from the store's index, so
 * that deleting or editing index rows cannot change it. (The transparency log logs envelopes by
 * hash only, without their subject: it proves a link was logged, as each link's bundle shows,
 * but cannot say which links an image has; the audit log can.)
 */
export interface ExpectedChain {
  /** Every chain-link event about the image, oldest first. */
  readonly events: readonly AuditEvent[];
  readonly byStage: ReadonlyMap<Stage, readonly AuditEvent[]>;
  /** Per stage, the audit entries about the image claiming that stage that do not verify. */
  readonly unverifiable: ReadonlyMap<Stage, readonly AuditProblem[]>;
}

export async function expectedChain(
  ctx: AppContext,
  image: Digest,
  keys?: readonly KeyObject[],
): Promise<ExpectedChain> {
  const record = await imageAuditRecord(ctx, image, keys);
  const isStage = (s: unknown): s is Stage => STAGES.includes(s as Stage);
  const events = record.events.filter((e) => isStage(e.details["stage"]));
  const byStage = new Map<Stage, AuditEvent[]>();
  const unverifiable = new Map<Stage, AuditProblem[]>();
  for (const stage of STAGES) {
    byStage.set(
      stage,
      events.filter((e) => e.details["stage"] === stage),
    );
    const bad = record.problems.filter((p) => p.stage === stage);
    if (bad.length > 0) {
      unverifiable.set(stage, bad);
    }
  }
  return { events, byStage, unverifiable };
}

const described = (e: AuditEvent): string =>
  `${e.evidence["attestation"]} (${e.time}, audit event #${e.seq})`;

/**
 * How the store's index of one stage's links differs from what the audit log recorded, or
 * `undefined` when it returns every recorded link and the newest one as current: an entry
 * claiming the stage that does not verify; a recorded link (the newest, or an older one) the
 * index no longer returns; a current link older than the newest recorded; a current link the
 * log never recorded.
 */
export function indexDiscrepancy(
  stage: Stage,
  indexed: readonly RecordedLink[],
  expected: ExpectedChain,
): string | undefined {
  const bad = expected.unverifiable.get(stage)?.[0];
  if (bad) {
    return `the audit log's entry #${bad.seq} about this image (a ${stage} event) does not verify: ${bad.reason}; the audit log was altered (see audit verify)`;
  }
  const recorded = expected.byStage.get(stage) ?? [];
  const newest = recorded[recorded.length - 1];
  const current = indexed[indexed.length - 1];
  const returned = (e: AuditEvent): boolean =>
    indexed.some((l) => l.envelope === e.evidence["envelope"]);
  const gone = (e: AuditEvent): string =>
    `the audit log records ${stage} evidence ${described(e)} for this image that the store's index no longer returns`;
  if (!current) {
    return newest ? `deleted: ${gone(newest)}` : undefined;
  }
  if (!newest) {
    return "the audit log never recorded this link: it was added behind cleanimg's back";
  }
  if (current.envelope !== newest.evidence["envelope"]) {
    const older = recorded.find((e) => e.evidence["envelope"] === current.envelope);
    if (!older) {
      return `not the attestation the audit log recorded (the newest is ${described(newest)})`;
    }
    return `replaced by an older attestation, ${described(older)}: ${
      returned(newest)
        ? `the store's index returns it as current instead of the newest the audit log records, ${described(newest)}`
        : gone(newest)
    }`;
  }
  const missing = recorded.find((e) => !returned(e));
  return missing ? gone(missing) : undefined;
}

/**
 * Walks the chain of an image and verifies every link: the attestation's bytes, its signature
 * by a trusted key, its transparency-log inclusion, that it is about this image, that its
 * evidence document is present and unaltered, that the store's index returns every link the
 * audit log recorded for its stage with the newest as current (`indexDiscrepancy` against
 * `expectedChain`), and that what it names as its previous link is the current one.
 * The first broken link is named with its reason and every recorded link after it is invalid;
 * a link made before its predecessor was re-made is stale.
 */
export async function verifyChain(ctx: AppContext, image: Digest): Promise<ChainReport> {
  const store = ctx.evidence();
  const trust = await evidenceTrust(ctx);
  const [rows, expected, cut] = await Promise.all([
    store.find({ subject: image, kind: ATTESTATION_KIND }),
    expectedChain(ctx, image, trust.keys),
    auditLogCut(ctx, trust.keys),
  ]);
  const indexed = rows.map(toRecorded).filter((r): r is RecordedLink => r !== undefined);
  const byStage = new Map(STAGES.map((s) => [s, indexed.filter((r) => r.stage === s)] as const));
  const reports = new Map<Stage, LinkReport>();
  // every stage at once: the reads overlap
  await Promise.all(
    STAGES.map(async (stage) => {
      const mine = byStage.get(stage) ?? [];
      reports.set(stage, await verifyLink(ctx, trust, image, stage, mine, expected));
    }),
  );
  const name = rows[rows.length - 1]?.annotations["image"] || image;
  await checkReferences({ ctx, trust, image, name, byStage }, reports, expected.events);
  if (cut) {
    // what the chain must contain cannot be told: the first stage with a link breaks
    const first = STAGES.find((s) => reports.get(s)?.state !== "not-recorded") ?? STAGES[0];
    const r = reports.get(first) as LinkReport;
    reports.set(first, {
      ...r,
      state: "broken",
      reason: `the audit log, the witness of what this chain contains, was cut: ${cut}`,
    });
  }
  return summarize(image, reports);
}

/** Verifies the current link of one stage (see verifyChain). */
async function verifyLink(
  ctx: AppContext,
  trust: EvidenceTrust,
  image: Digest,
  stage: Stage,
  indexed: readonly RecordedLink[],
  expected: ExpectedChain,
): Promise<LinkReport> {
  const current = linkInEffect(indexed);
  const discrepancy = indexDiscrepancy(stage, indexed, expected);
  if (!current) {
    return discrepancy
      ? { stage, state: "broken", reason: discrepancy }
      : { stage, state: "not-recorded" };
  }
  const base = {
    stage,
    attestation: current.attestation,
    envelope: current.envelope,
    evidence: current.evidence,
  };
  const checked = await verifyAttestation(ctx, trust, image, stage, current, expected.events);
  if ("reason" in checked) {
    return { ...base, state: "broken", reason: checked.reason };
  }
  if (discrepancy !== undefined) {
    return { ...base, state: "broken", reason: discrepancy };
  }
  const p = checked.predicate;
  try {
    await ctx.evidence().getBlob(p.evidence.digest);
  } catch (e) {
    return {
      ...base,
      state: "broken",
      reason:
        isToolError(e) && e.code === "STORE_DIGEST_MISMATCH"
          ? `its evidence document ${p.evidence.digest} was altered`
          : `its evidence document ${p.evidence.digest} is missing`,
    };
  }
  return {
    ...base,
    state: "valid",
    signers: checked.verified.keyids,
    created: p.created,
    logIndex: checked.verified.logIndex,
    ...(checked.rekorEntries !== undefined ? { rekorEntries: checked.rekorEntries } : {}),
    predicate: p,
  };
}

/**
 * The attestation the index names as a stage's current link, checked on its own: its bytes,
 * signature, log inclusion (and Rekor entries when a Sigstore root is trusted), that it is a link
 * of this stage about this image, and that the index's entry describes it.
 */
async function verifyAttestation(
  ctx: AppContext,
  trust: EvidenceTrust,
  image: Digest,
  stage: Stage,
  current: RecordedLink,
  events: readonly AuditEvent[],
): Promise<
  | { verified: VerifiedEvidenceBundle; predicate: ChainLinkPredicate; rekorEntries?: number }
  | { reason: string }
> {
  let bytes: Uint8Array;
  try {
    bytes = (await ctx.evidence().getBlob(current.attestation)).bytes;
  } catch (e) {
    return {
      reason:
        isToolError(e) && e.code === "STORE_DIGEST_MISMATCH"
          ? "the attestation's bytes were altered"
          : `the attestation cannot be read: ${(e as Error).message}`,
    };
  }
  let verified: VerifiedEvidenceBundle;
  let rekorEntries: number | undefined;
  try {
    verified = verifyEvidence(bytes, trust);
    const sigstoreRoot = trust.keyless?.trustedRoot;
    if (sigstoreRoot !== undefined) {
      const signer = trust.keys.find((k) => verified.keyids.includes(keyIdOf(k)));
      // a keyless link's certificate is in the bundle; a keyed one needs its public key
      rekorEntries = verifyRekorEntries(
        bytes,
        signer?.export({ type: "spki", format: "pem" }).toString() ?? "",
        sigstoreRoot,
      );
    }
  } catch (e) {
    return { reason: (e as Error).message };
  }
  // a link imported from another store was logged in that store's log (its inclusion proof and
  // signed checkpoint are verified above): only links logged here must be in this store's log
  const imported = events.some(
    (e) => e.action === "evidence-import" && e.evidence["attestation"] === current.attestation,
  );
  const gap = imported ? undefined : await transparencyLogGap(ctx, bytes);
  if (gap) {
    return { reason: gap };
  }
  const st = verified.statement;
  const p = st.predicate as ChainLinkPredicate;
  if (st.predicateType !== CHAIN_LINK_PREDICATE || p?.stage !== stage) {
    return { reason: `the attestation is not a ${stage} chain link` };
  }
  if (!st.subject.some((s) => `sha256:${s.digest["sha256"]}` === image)) {
    return { reason: "the attestation is about another image" };
  }
  const envelope = sha256(
    new TextEncoder().encode(
      JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)).dsseEnvelope),
    ),
  );
  if (
    envelope !== current.envelope ||
    p.evidence?.digest !== current.evidence ||
    p.created !== current.created
  ) {
    return { reason: "the store's index of this attestation does not match its content" };
  }
  return { verified, predicate: p, ...(rekorEntries !== undefined ? { rekorEntries } : {}) };
}

/** What a stage is called in a reason, and the command that re-makes its link. */
const LABEL: Record<Stage, string> = {
  provenance: "provenance",
  sbom: "SBOM",
  scan: "scan",
  vex: "VEX",
  policy: "policy decision",
  deployment: "deployment",
};

function rerun(stage: Stage, name: string, r: LinkReport): string {
  switch (stage) {
    case "provenance":
      return "cleanimg-init --build";
    case "sbom":
      return `cleanimg-init sbom ${name}`;
    case "scan":
    case "vex":
      return `cleanimg-init --scan --image ${name}`;
    case "policy":
      return `cleanimg-init policy eval --image ${name}`;
    case "deployment":
      return `cleanimg-init deploy record --image ${name} --environment ${r.predicate?.inputs["environment"] ?? "ENV"}`;
  }
}

/** What checking references needs besides the reports. */
interface ReferenceContext {
  readonly ctx: AppContext;
  readonly trust: EvidenceTrust;
  readonly image: Digest;
  /** The image's name, for the commands a stale link's reason names. */
  readonly name: string;
  /** Every link the index returns, per stage, in arrival order. */
  readonly byStage: ReadonlyMap<Stage, readonly RecordedLink[]>;
}

/**
 * References between links, which is what orders them (not the order the store received them):
 * a link made from the predecessor in effect is fine; one made from an older generation the
 * store still holds, verified, is stale (its reason says what to re-run), as is one made from a
 * stale predecessor; one naming an envelope the audit log recorded but the store no longer
 * holds breaks that predecessor; one naming an envelope never recorded is itself broken.
 */
async function checkReferences(
  c: ReferenceContext,
  reports: Map<Stage, LinkReport>,
  events: readonly AuditEvent[],
): Promise<void> {
  // upstream first: a stage refers to earlier stages only, whose state is then final
  for (const stage of STAGES) {
    const r = reports.get(stage) as LinkReport;
    if (r.state !== "valid" || !r.predicate) {
      continue;
    }
    for (const ref of r.predicate.previous ?? []) {
      const found = await referenceState(c, stage, r, ref, reports, events);
      if (found) {
        reports.set(stage, { ...r, ...found });
        break;
      }
    }
  }
}

/** What one reference of a valid link makes of it (undefined: nothing). */
async function referenceState(
  c: ReferenceContext,
  stage: Stage,
  r: LinkReport,
  ref: ChainLinkPredicate["previous"][number],
  reports: Map<Stage, LinkReport>,
  events: readonly AuditEvent[],
): Promise<{ state: LinkState; reason: string } | undefined> {
  const t = reports.get(ref.stage);
  if (!t || !isDigest(ref.envelope)) {
    return { state: "broken", reason: "names a previous link that is not a digest" };
  }
  const again = (s: Stage): string => rerun(s, c.name, reports.get(s) ?? r);
  if (t.envelope === ref.envelope) {
    if (t.state !== "stale") {
      return undefined;
    }
    const then = again(ref.stage) === again(stage) ? "" : `, then ${again(stage)}`;
    return {
      state: "stale",
      reason: `${stage} was made from the stale ${ref.stage} link: ${t.reason}${then}`,
    };
  }
  const logged = events.find((e) => e.evidence["envelope"] === ref.envelope);
  if (!logged) {
    return {
      state: "broken",
      reason: `refers to a ${ref.stage} link (${ref.envelope}) that was never recorded: its reference is wrong`,
    };
  }
  const held = c.byStage.get(ref.stage)?.find((l) => l.envelope === ref.envelope);
  if (!held) {
    if (t.state !== "broken") {
      reports.set(ref.stage, {
        ...t,
        state: "broken",
        reason: `replaced: the ${stage} link was made from ${ref.stage} envelope ${ref.envelope} (audit event #${logged.seq}), which the store no longer holds`,
      });
    }
    return undefined;
  }
  // an older generation the store still holds: made from it, the link is stale, once it verifies
  const from = await verifyAttestation(c.ctx, c.trust, c.image, ref.stage, held, events);
  if ("reason" in from) {
    return {
      state: "broken",
      reason: `made from the ${ref.stage} link ${held.attestation}, which does not verify: ${from.reason}`,
    };
  }
  if (t.created !== undefined && from.predicate.created < t.created) {
    return {
      state: "stale",
      reason: `${stage} is older than the newest ${LABEL[ref.stage]}: re-run ${again(stage)}`,
    };
  }
  return undefined; // made from a link as new as the one in effect
}

/** The report: the first broken link named, every recorded link after it invalid. */
function summarize(image: Digest, reports: ReadonlyMap<Stage, LinkReport>): ChainReport {
  const firstBroken = STAGES.find((s) => reports.get(s)?.state === "broken");
  const after = (s: Stage): boolean =>
    firstBroken !== undefined && STAGES.indexOf(s) > STAGES.indexOf(firstBroken);
  const links = STAGES.map((s) => {
    const r = reports.get(s) as LinkReport;
    if (!after(s) || r.state === "not-recorded") {
      return r;
    }
    return {
      ...r,
      state: "invalid" as const,
      reason: `after the broken ${firstBroken} link${r.state === "broken" ? ` (and: ${r.reason})` : ""}`,
    };
  });
  const stale = links.find((l) => l.state === "stale");
  return {
    image,
    links,
    intact: firstBroken === undefined,
    ...(firstBroken ? { firstBroken } : {}),
    ready: firstBroken === undefined && !stale,
    ...(stale ? { notReady: { stage: stale.stage, reason: stale.reason ?? "stale" } } : {}),
  };
}
