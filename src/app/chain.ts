import { CHAIN_LINK_PREDICATE, keyIdOf, statement, verifyRekorEntries } from "../attest/index.js";
import { type Digest, isDigest, sha256 } from "../core/digest.js";
import { isToolError } from "../core/errors.js";
import type { EvidenceLink } from "../store/index.js";
import { type AuditEvent, imageAuditEvents, recordAuditEvent } from "./audit.js";
import type { AppContext } from "./context.js";
import { BUNDLE_MEDIA_TYPE, evidenceTrust, signStatement, verifyEvidence } from "./signing.js";

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

/** The newest recorded link of a stage for an image, as the store indexes it (not verified). */
export async function latestLink(
  ctx: AppContext,
  image: Digest,
  stage: Stage,
): Promise<RecordedLink | undefined> {
  const rows = await ctx.evidence().find({ subject: image, kind: ATTESTATION_KIND });
  const mine = rows.map(toRecorded).filter((r): r is RecordedLink => r?.stage === stage);
  return mine[mine.length - 1];
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
}

/**
 * Walks the chain of an image and verifies every link: the attestation's bytes, its signature
 * by a trusted key, its transparency-log inclusion, that it is about this image, that its
 * evidence document is present and unaltered, that it is the newest link the audit trail
 * recorded for its stage, and that what it names as its previous link is the current one.
 * The first broken link is named with its reason and every recorded link after it is invalid;
 * a link made before its predecessor was re-made is stale.
 */
export async function verifyChain(ctx: AppContext, image: Digest): Promise<ChainReport> {
  const store = ctx.evidence();
  const trust = await evidenceTrust(ctx);
  const { keys } = trust;
  const sigstoreRoot = trust.keyless?.trustedRoot;
  const rows = (await store.find({ subject: image, kind: ATTESTATION_KIND }))
    .map(toRecorded)
    .filter((r): r is RecordedLink => r !== undefined);
  const events = (await imageAuditEvents(ctx, image)).filter((e) => e.details["stage"]);
  const eventsOf = (s: Stage): AuditEvent[] => events.filter((e) => e.details["stage"] === s);
  const reports = new Map<Stage, LinkReport>();

  // every stage at once: the reads overlap
  await Promise.all(
    STAGES.map(async (stage) => {
      const mine = rows.filter((r) => r.stage === stage);
      const current = mine[mine.length - 1];
      const recorded = eventsOf(stage);
      const last = recorded[recorded.length - 1];
      if (!current) {
        reports.set(
          stage,
          last
            ? {
                stage,
                state: "broken",
                reason: `deleted: audit event #${last.seq} recorded the ${stage} attestation ${last.evidence["attestation"]}, which is not in the store`,
              }
            : { stage, state: "not-recorded" },
        );
        return;
      }
      const base = {
        stage,
        attestation: current.attestation,
        envelope: current.envelope,
        evidence: current.evidence,
      };
      const broken = (reason: string): void => {
        reports.set(stage, { ...base, state: "broken", reason });
      };
      let bytes: Uint8Array;
      try {
        bytes = (await store.getBlob(current.attestation)).bytes;
      } catch (e) {
        broken(
          isToolError(e) && e.code === "STORE_DIGEST_MISMATCH"
            ? "the attestation's bytes were altered"
            : `the attestation cannot be read: ${(e as Error).message}`,
        );
        return;
      }
      let verified: ReturnType<typeof verifyEvidence>;
      try {
        verified = verifyEvidence(bytes, trust);
      } catch (e) {
        broken((e as Error).message);
        return;
      }
      let rekorEntries: number | undefined;
      if (sigstoreRoot !== undefined) {
        const signer = keys.find((k) => verified.keyids.includes(keyIdOf(k)));
        // a keyless link's certificate is in the bundle; a keyed one needs its public key
        try {
          rekorEntries = verifyRekorEntries(
            bytes,
            signer?.export({ type: "spki", format: "pem" }).toString() ?? "",
            sigstoreRoot,
          );
        } catch (e) {
          broken((e as Error).message);
          return;
        }
      }
      const st = verified.statement;
      const p = st.predicate as ChainLinkPredicate;
      if (st.predicateType !== CHAIN_LINK_PREDICATE || p?.stage !== stage) {
        broken(`the attestation is not a ${stage} chain link`);
        return;
      }
      if (!st.subject.some((s) => `sha256:${s.digest["sha256"]}` === image)) {
        broken("the attestation is about another image");
        return;
      }
      if (
        sha256(
          new TextEncoder().encode(
            JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)).dsseEnvelope),
          ),
        ) !== current.envelope ||
        p.evidence?.digest !== current.evidence
      ) {
        broken("the store's index of this attestation does not match its content");
        return;
      }
      if (!last || last.evidence["envelope"] !== current.envelope) {
        const older = recorded.find((e) => e.evidence["envelope"] === current.envelope);
        broken(
          !last
            ? "the audit trail never recorded this link: it was added behind cleanimg's back"
            : older
              ? `replaced by an older attestation (audit event #${older.seq}); the newest recorded is event #${last.seq}, ${last.evidence["attestation"]}`
              : `not the attestation the audit trail recorded (event #${last.seq}, ${last.evidence["attestation"]})`,
        );
        return;
      }
      try {
        await store.getBlob(p.evidence.digest);
      } catch (e) {
        broken(
          isToolError(e) && e.code === "STORE_DIGEST_MISMATCH"
            ? `its evidence document ${p.evidence.digest} was altered`
            : `its evidence document ${p.evidence.digest} is missing`,
        );
        return;
      }
      reports.set(stage, {
        ...base,
        state: "valid",
        signers: verified.keyids,
        created: p.created,
        logIndex: verified.logIndex,
        ...(rekorEntries !== undefined ? { rekorEntries } : {}),
        predicate: p,
      });
    }),
  );

  // references between links
  for (const stage of STAGES) {
    const r = reports.get(stage) as LinkReport;
    if (r.state !== "valid" || !r.predicate) {
      continue;
    }
    for (const ref of r.predicate.previous ?? []) {
      const t = reports.get(ref.stage);
      if (!t || !isDigest(ref.envelope)) {
        reports.set(stage, {
          ...r,
          state: "broken",
          reason: "names a previous link that is not a digest",
        });
        break;
      }
      if (t.envelope === ref.envelope) {
        if (t.state === "stale") {
          reports.set(stage, {
            ...r,
            state: "stale",
            reason: `made from the ${ref.stage} link, which is stale: re-run to refresh`,
          });
          break;
        }
        continue;
      }
      if (t.state === "valid" && t.created && r.created && t.created > r.created) {
        reports.set(stage, {
          ...r,
          state: "stale",
          reason: `made from an older ${ref.stage} link; the ${ref.stage} was re-made at ${t.created}: re-run to refresh`,
        });
        break;
      }
      const logged = events.find((e) => e.evidence["envelope"] === ref.envelope);
      if (logged) {
        if (t.state !== "broken") {
          reports.set(ref.stage, {
            ...t,
            state: "broken",
            reason: `replaced: the ${stage} link was made from ${ref.stage} envelope ${ref.envelope} (audit event #${logged.seq}), which the store no longer holds as current`,
          });
        }
      } else {
        reports.set(stage, {
          ...r,
          state: "broken",
          reason: `refers to a ${ref.stage} link (${ref.envelope}) that was never recorded: its reference is wrong`,
        });
        break;
      }
    }
  }

  const firstBroken = STAGES.find((s) => reports.get(s)?.state === "broken");
  const links = STAGES.map((s) => {
    const r = reports.get(s) as LinkReport;
    if (
      firstBroken &&
      STAGES.indexOf(s) > STAGES.indexOf(firstBroken) &&
      r.state !== "not-recorded" &&
      r.state !== "broken"
    ) {
      return { ...r, state: "invalid" as const, reason: `after the broken ${firstBroken} link` };
    }
    if (firstBroken && STAGES.indexOf(s) > STAGES.indexOf(firstBroken) && r.state === "broken") {
      return {
        ...r,
        state: "invalid" as const,
        reason: `after the broken ${firstBroken} link (and: ${r.reason})`,
      };
    }
    return r;
  });
  return {
    image,
    links,
    intact: firstBroken === undefined,
    ...(firstBroken ? { firstBroken } : {}),
  };
}
