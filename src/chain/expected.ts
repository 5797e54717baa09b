import type { KeyObject } from "node:crypto";
import type { Digest } from "../core/digest.js";
import type { AuditEvent, AuditProblem } from "./audit.js";
import { imageAuditRecord } from "./audit-index.js";
import type { ChainContext } from "./context.js";
import { type RecordedLink, STAGES, type Stage } from "./links.js";

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
  ctx: ChainContext,
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
