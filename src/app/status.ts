import {
  AuditWatcher,
  auditEvents,
  basisHolds,
  type ChainReport,
  type EvidenceBasis,
  evidenceBasis,
  unchangedBetween,
  verifyChain,
} from "../chain/index.js";
import { type ComplianceCheck, complianceChecks } from "../compliance/index.js";
import type { Digest } from "../core/digest.js";
import type { AppContext } from "./context.js";
import { gatherEvidence } from "./evidence-bundle.js";

export type { CheckResult, ComplianceCheck } from "../compliance/index.js";
export { type FleetRow, fleetStatus } from "./fleet.js";

/**
 * "Is this image compliant?": the design's check list, each line PASS, FAIL or UNKNOWN with the
 * evidence behind it. PASS is only ever printed with the digest of verified evidence; what the
 * evidence cannot show is UNKNOWN, never PASS.
 */
export interface ComplianceStatus {
  readonly image: { readonly reference: string; readonly digest: Digest };
  readonly checks: readonly ComplianceCheck[];
  /** Every check PASS. */
  readonly compliant: boolean;
  readonly chain: ChainReport;
}

/**
 * Computes the check list for an image: the compliance checks (src/compliance) over its
 * evidence bundle. `now` dates remediation deadlines (default: the clock).
 */
export async function complianceStatus(
  ctx: AppContext,
  ref: string,
  opts: { readonly now?: () => Date } = {},
): Promise<ComplianceStatus> {
  // an image in a registry, and nothing of it here: its evidence is discovered there
  const b = await gatherEvidence(ctx, ref, {
    discover: true,
    remediation: true,
    now: (opts.now ?? (() => new Date()))(),
  });
  const checks = complianceChecks(b);
  return {
    image: { reference: ref, digest: b.image.digest },
    checks,
    compliant: checks.every((c) => c.result === "PASS"),
    chain: b.chain,
  };
}

/** One day of the fleet's posture, from the signed audit trail. */
export interface PostureDay {
  /** UTC date, YYYY-MM-DD. */
  readonly date: string;
  /** Policy decisions recorded that day, by outcome. */
  readonly allowed: number;
  readonly denied: number;
  /** Admission requests denied that day (each workload and reason once per cache period). */
  readonly admissionsDenied: number;
  /** Chain links recorded or imported that day. */
  readonly links: number;
  /** Distinct images with evidence recorded that day. */
  readonly images: number;
}

/**
 * The fleet's posture per day over the last `days` days, counted from audit events (signed and
 * hash-chained, so the history cannot be rewritten without `audit verify` saying so).
 */
export async function postureOverTime(
  ctx: AppContext,
  days: number,
  now: Date = new Date(),
): Promise<PostureDay[]> {
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  const start = new Date(end.getTime() - days * 86_400_000);
  const events = await auditEvents(ctx, start.toISOString(), end.toISOString());
  const out = new Map<
    string,
    { allowed: number; denied: number; adm: number; links: number; images: Set<string> }
  >();
  for (let t = start.getTime(); t < end.getTime(); t += 86_400_000) {
    out.set(new Date(t).toISOString().slice(0, 10), {
      allowed: 0,
      denied: 0,
      adm: 0,
      links: 0,
      images: new Set(),
    });
  }
  for (const e of events) {
    const d = out.get(e.time.slice(0, 10));
    if (!d) {
      continue;
    }
    if (e.details["stage"]) {
      d.links++;
    }
    if (e.subject) {
      d.images.add(e.subject);
    }
    if (e.action === "policy") {
      if (e.details["decision"] === "allow") {
        d.allowed++;
      } else {
        d.denied++;
      }
    }
    if (e.action === "admission" && e.details["allowed"] === "false") {
      d.adm++;
    }
  }
  return [...out].map(([date, d]) => ({
    date,
    allowed: d.allowed,
    denied: d.denied,
    admissionsDenied: d.adm,
    links: d.links,
    images: d.images.size,
  }));
}

const logIndexesOf = (r: ChainReport): number[] =>
  r.links.flatMap((l) => (l.logIndex !== undefined ? [l.logIndex] : []));

/**
 * Verified chains per image, kept until that image's evidence changes (seen in the audit log by
 * any process sharing the store, or in the store itself: its index links and blobs, see
 * EvidenceBasis) or `ttlMs` passes: a fleet view re-verifies only what changed. A chain whose
 * evidence moved while it was verified is not kept.
 */
export class ChainCache {
  readonly #cache = new Map<Digest, { report: ChainReport; at: number; basis: EvidenceBasis }>();
  readonly #watcher: AuditWatcher;
  constructor(
    private readonly ctx: AppContext,
    private readonly ttlMs = 300_000,
    private readonly now: () => number = Date.now,
  ) {
    this.#watcher = new AuditWatcher(ctx);
  }

  /** Drops what changed; call once per batch of lookups. */
  async refresh(): Promise<void> {
    for (const ev of await this.#watcher.changes()) {
      if (!ev) {
        this.#cache.clear();
      } else if (ev.subject) {
        this.#cache.delete(ev.subject);
      }
    }
  }

  async verify(image: Digest): Promise<ChainReport> {
    const c = this.#cache.get(image);
    if (c && this.now() - c.at < this.ttlMs) {
      const basis = await basisHolds(this.ctx, image, c.basis, {
        logIndexes: logIndexesOf(c.report),
        good: c.report.intact,
      });
      if (basis) {
        this.#cache.set(image, { ...c, basis });
        return c.report;
      }
    }
    this.#cache.delete(image);
    const before = await evidenceBasis(this.ctx, image);
    const report = await verifyChain(this.ctx, image);
    const after = await evidenceBasis(this.ctx, image, new Set(), logIndexesOf(report));
    if (unchangedBetween(before, after)) {
      if (this.#cache.size >= 50_000) {
        this.#cache.delete(this.#cache.keys().next().value as Digest);
      }
      this.#cache.set(image, { report, at: this.now(), basis: after });
    }
    return report;
  }
}
