import {
  CHAIN_LINK_PREDICATE,
  isAbout,
  keyIdOf,
  type VerifiedEvidenceBundle,
  verifyRekorEntries,
} from "../attest/index.js";
import { type Digest, isDigest, sha256 } from "../core/digest.js";
import { isToolError } from "../core/errors.js";
import { type AuditEvent, auditLogCut } from "./audit.js";
import type { ChainContext } from "./context.js";
import { type ExpectedChain, expectedChain, indexDiscrepancy } from "./expected.js";
import {
  ATTESTATION_KIND,
  type ChainLinkPredicate,
  linkInEffect,
  type RecordedLink,
  STAGES,
  type Stage,
  toRecorded,
} from "./links.js";
import { transparencyLogGap } from "./tlog.js";
import { type EvidenceTrust, evidenceTrust, verifyEvidence } from "./trust.js";

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
 * Walks the chain of an image and verifies every link: the attestation's bytes, its signature
 * by a trusted key, its transparency-log inclusion, that it is about this image, that its
 * evidence document is present and unaltered, that the store's index returns every link the
 * audit log recorded for its stage with the newest as current (`indexDiscrepancy` against
 * `expectedChain`), and that what it names as its previous link is the current one.
 * The first broken link is named with its reason and every recorded link after it is invalid;
 * a link made before its predecessor was re-made is stale.
 */
export async function verifyChain(ctx: ChainContext, image: Digest): Promise<ChainReport> {
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

/**
 * Every link of one stage the store holds for the image, older generations included, that
 * verifies as verifyChain verifies the link in effect (bytes, signature by a trusted key,
 * transparency-log inclusion with no gap, a chain link of this stage about this image, the
 * index entry matching its content) and that the audit log recorded. What reads history from
 * the chain (the first detection of a finding) reads it from these links only.
 */
export async function verifiedStageLinks(
  ctx: ChainContext,
  image: Digest,
  stage: Stage,
): Promise<{ readonly attestation: Digest; readonly predicate: ChainLinkPredicate }[]> {
  const trust = await evidenceTrust(ctx);
  const [rows, expected, cut] = await Promise.all([
    ctx.evidence().find({ subject: image, kind: ATTESTATION_KIND }),
    expectedChain(ctx, image, trust.keys),
    auditLogCut(ctx, trust.keys),
  ]);
  if (cut) {
    return []; // the audit log, the witness of which links were recorded, cannot be relied on
  }
  const out: { attestation: Digest; predicate: ChainLinkPredicate }[] = [];
  for (const r of rows.map(toRecorded)) {
    if (
      !r ||
      r.stage !== stage ||
      !expected.events.some(
        (e) => e.evidence["envelope"] === r.envelope && e.evidence["attestation"] === r.attestation,
      )
    ) {
      continue;
    }
    const v = await verifyAttestation(ctx, trust, image, stage, r, expected.events);
    if (!("reason" in v)) {
      out.push({ attestation: r.attestation, predicate: v.predicate });
    }
  }
  return out;
}

/** Verifies the current link of one stage (see verifyChain). */
async function verifyLink(
  ctx: ChainContext,
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
  ctx: ChainContext,
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
  if (!isAbout(st, image)) {
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
  readonly ctx: ChainContext;
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
