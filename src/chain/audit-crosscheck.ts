import type { EvidenceLink } from "../store/index.js";
import type { AuditProblem } from "./audit.js";
import type { ChainContext } from "./context.js";

/**
 * The audit log checked against what the rest of the store says it recorded (used by
 * verifyAuditTrail in audit.ts): the signed links of audited kinds, and the entries of other logs
 * that name their audit event. Each check returns the problem it proves, or undefined.
 */

/**
 * Link kinds that are only ever made in the transaction of an audit event naming their evidence:
 * chain links (recorded or imported), the standard attestations derived from them, people's VEX
 * decisions, compliance reports, in-toto verification summaries, and documents submitted to the
 * server. (The build's own evidence, signed into its provenance, and scan documents, named by the
 * chain links that sign them, are made before their event and are not in this list.)
 */
export const AUDITED_LINK_KINDS: readonly string[] = [
  "attestation",
  "standard-attestation",
  "vex-decision",
  "compliance-report",
  "intoto-verification",
  "submitted-sbom",
  "submitted-vex",
];

/**
 * The audit log against the signed evidence the store holds: every link of an audited kind was
 * made together with an event naming its evidence. A link no event of the log names proves that
 * events were removed, also when the log's tail, its audit-event links and the witness beside the
 * store were all removed together (the attestation, signed and logged, is still there).
 */
export async function linkedWithoutEvent(
  ctx: ChainContext,
  named: ReadonlySet<string>,
  size: number,
): Promise<AuditProblem | undefined> {
  const missing: EvidenceLink[] = [];
  for (const kind of AUDITED_LINK_KINDS) {
    for (const l of await ctx.evidence().find({ kind })) {
      if (!named.has(l.evidence)) {
        missing.push(l);
      }
    }
  }
  if (missing.length === 0) {
    return undefined;
  }
  const made = (l: EvidenceLink): string => l.annotations["created"] ?? l.createdAt;
  missing.sort((a, b) => (made(a) < made(b) ? -1 : made(a) > made(b) ? 1 : 0));
  const first = missing[0] as EvidenceLink;
  const what = first.annotations["stage"] ? `${first.annotations["stage"]} ` : "";
  return {
    seq: size,
    reason: `the store holds ${missing.length} ${missing.length === 1 ? "link" : "links"} that no event of the audit log records (the first: ${what}${first.kind} ${first.evidence} of image ${first.subject}, made ${made(first)}): ${missing.length === 1 ? "the event that recorded it was" : "the events that recorded them were"} removed`,
  };
}

/**
 * Logs of the application whose signed entries name the audit event that recorded them (made
 * first) as `entry.audit`: the API tokens' log.
 */
export const LOGS_NAMING_EVENTS: readonly string[] = ["tokens"];

/**
 * The audit log against the entries of LOGS_NAMING_EVENTS: an entry that names an event past the
 * log's end proves events were removed (an admin token's creation erased, the token still live).
 */
export async function loggedPastTheEnd(
  ctx: ChainContext,
  size: number,
): Promise<AuditProblem | undefined> {
  for (const log of LOGS_NAMING_EVENTS) {
    const entries = await ctx.evidence().entries(log, 0);
    for (const [i, bytes] of entries.entries()) {
      let seq: unknown;
      try {
        seq = (JSON.parse(new TextDecoder().decode(bytes)) as { entry?: { audit?: unknown } }).entry
          ?.audit;
      } catch {
        continue; // the log's own verification names unreadable entries
      }
      if (typeof seq === "number" && Number.isSafeInteger(seq) && seq >= size) {
        return {
          seq: size,
          reason: `the audit log holds ${size} events, but entry #${i} of the ${log} log was recorded by audit event #${seq}: events were removed`,
        };
      }
    }
  }
  return undefined;
}
