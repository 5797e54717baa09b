import type { Digest } from "../core/digest.js";
import {
  AUDIT_LOG,
  type AuditEvent,
  type AuditVerification,
  auditEvents,
  type StoredAuditEntry,
  verifyAuditTrail,
} from "./audit.js";
import type { ChainContext } from "./context.js";

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
  ctx: ChainContext,
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
  ctx: ChainContext,
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
 * evidence appends an event. `undefined` entries stand for unreadable events, and for entries
 * lost from the log (it shrank): trust nothing cached.
 */
export class AuditWatcher {
  #size = -1;
  constructor(private readonly ctx: ChainContext) {}

  async changes(): Promise<(AuditEvent | undefined)[]> {
    const store = this.ctx.evidence();
    const size = await store.size(AUDIT_LOG);
    if (this.#size < 0 || size === this.#size) {
      this.#size = size;
      return [];
    }
    if (size < this.#size) {
      // the log lost entries: nothing seen before can be matched to what changed
      this.#size = size;
      return [undefined];
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
