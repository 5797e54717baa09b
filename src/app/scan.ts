import { type RecordedLink, recordChainLink } from "../chain/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { ToolError, UsageError } from "../core/errors.js";

import type { Sbom } from "../sbom/index.js";
import type { EvidenceLink } from "../store/index.js";
import { analyzeFindings, applyVex, readVex, type VexStatement } from "../vex/index.js";
import {
  type DataFreshness,
  DEFAULT_MAX_DB_AGE_MS,
  type DistroSupport,
  dataFreshness,
  distroSupport,
  type Finding,
  freshnessText,
  type MatchResult,
  matchSbom,
  type OsvRecord,
  parseDuration,
  type VulnDb,
} from "../vuln/index.js";
import { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { generateSbom, type SbomOptions, TOOL } from "./sbom.js";
import { verifiedVexDecisions } from "./vex.js";
import { openVulnDb } from "./vulndb.js";

export const SCAN_MEDIA_TYPE = "application/vnd.cleanimg.vuln-scan.v1+json";
export const VEX_MEDIA_TYPE = "application/vnd.cleanimg.vex-statements.v1+json";
export const VEX_AUTHOR = "cleanimg automated analysis";

export interface ScanResult extends MatchResult {
  readonly sbom: Sbom;
  readonly sbomEvidence?: EvidenceLink;
  readonly evidence?: EvidenceLink;
  /** One VEX statement per finding (images only: the product is the image). */
  readonly vex: readonly VexStatement[];
  readonly vexEvidence?: EvidenceLink;
  /** The signed chain links this scan recorded (SBOM, scan, VEX). */
  readonly links?: readonly RecordedLink[];
  /** How old the data is (its build time: the newest record's modified time). */
  readonly freshness: DataFreshness;
  /** Whether the image's distribution release is supported (distro-info-data). */
  readonly distroSupport?: DistroSupport;
}

/**
 * Scans an image (any location) or an SBOM (`sbom:FILE`): catalogs it, matches every package
 * against the offline database and, for images, records the SBOM and the scan (with the database
 * snapshot it used) as evidence linked to the image.
 * @throws ToolError VULN_DB_EMPTY when there is no data to match against (never "no findings")
 */
export interface ScanOptions extends SbomOptions {
  /** VEX documents (OpenVEX, CSAF, CycloneDX) whose statements override the automatic ones. */
  readonly vexDocuments?: readonly { readonly name: string; readonly bytes: Uint8Array }[];
  /** The data's maximum age (default: the config's `maxDbAge`, else 5 days, as Grype). */
  readonly maxDbAgeMs?: number;
  /** Refuse to scan on data older than that (VULN_DB_STALE, exit 3). */
  readonly failOnStale?: boolean;
  readonly now?: () => Date;
  /** Where distro-info-data's CSV files are (default /usr/share/distro-info). */
  readonly distroInfoDir?: string;
}

/** The longest maximum data age a scan takes: 100 years (36500 days); fixtures and archives can be decades old. */
export const MAX_DB_AGE_LIMIT_DAYS = 36500;

/**
 * A maximum data age (`--max-db-age`, `maxDbAge` in config.json): a duration of at most
 * MAX_DB_AGE_LIMIT_DAYS, so that data can still be found stale.
 * @throws UsageError CLI_USAGE naming `what`
 */
export function parseMaxDbAge(s: string, what = "--max-db-age"): number {
  const ms = parseDuration(s, what);
  if (!Number.isFinite(ms) || ms > MAX_DB_AGE_LIMIT_DAYS * 86_400_000) {
    throw new UsageError(
      "CLI_USAGE",
      `${what} "${s.length > 40 ? `${s.slice(0, 40)}…` : s}" is longer than ${MAX_DB_AGE_LIMIT_DAYS} days`,
      { hint: `give a duration up to ${MAX_DB_AGE_LIMIT_DAYS}d, e.g. 5d (the default) or 2w` },
    );
  }
  return ms;
}

/** The maximum age the scan applies: the option, the config's `maxDbAge`, else 5 days. */
async function maxDbAge(ctx: AppContext, opts: ScanOptions): Promise<number> {
  if (opts.maxDbAgeMs !== undefined) {
    return opts.maxDbAgeMs;
  }
  const c = (await loadConfig(ctx)).maxDbAge;
  return c === undefined ? DEFAULT_MAX_DB_AGE_MS : parseMaxDbAge(c, "maxDbAge in config.json");
}

/**
 * The data a scan may use: not empty, and (with failOnStale) no older than the maximum age.
 * @throws ToolError VULN_DB_EMPTY when empty; VULN_DB_STALE when stale and refused
 */
async function usableData(
  ctx: AppContext,
  db: VulnDb,
  opts: ScanOptions,
): Promise<{ now: Date; freshness: DataFreshness }> {
  if (db.count() === 0) {
    throw new ToolError(
      "VULN_DB_EMPTY",
      "the vulnerability database is empty, so nothing can be said about vulnerabilities",
      {
        hint: "import data first: cleanimg-init db import PATH (OSV, Debian, Alpine)",
      },
    );
  }
  const now = (opts.now ?? (() => new Date()))();
  const freshness = dataFreshness(db.status(), now, await maxDbAge(ctx, opts));
  if (opts.failOnStale && freshness.stale) {
    throw new ToolError(
      "VULN_DB_STALE",
      `the vulnerability data is too old to scan with --fail-on-stale: ${freshnessText(freshness)}`,
      {
        hint: `import current data (cleanimg-init db import PATH), or raise --max-db-age; stale sources: ${freshness.staleSources.join(", ") || "-"}`,
      },
    );
  }
  return { now, freshness };
}

/**
 * Records the VEX statements of an image scan: the document, its link to the image, and the
 * chain's vex link after the scan link (pushed onto `links`).
 */
async function recordVex(
  ctx: AppContext,
  o: {
    image: { name: string; digest: Digest };
    scan: EvidenceLink;
    given: readonly { name: string; digest: string; doc: { format: string } }[];
    vex: readonly VexStatement[];
    links: RecordedLink[];
    tool: string;
  },
): Promise<EvidenceLink> {
  const { scan: evidence, given, vex, links, tool } = o;
  const store = ctx.evidence();
  const d = await store.putBlob(
    new TextEncoder().encode(
      JSON.stringify({
        mediaType: VEX_MEDIA_TYPE,
        scan: evidence.evidence,
        documents: given.map((g) => ({ name: g.name, digest: g.digest, format: g.doc.format })),
        statements: vex,
      }),
    ),
    VEX_MEDIA_TYPE,
  );
  const vexEvidence = await store.link(o.image.digest, d, "vex", {
    scan: evidence.evidence,
    notAffected: String(vex.filter((v) => v.status === "not_affected").length),
    statements: String(vex.length),
  });
  const scanLink = links.find((l) => l.stage === "scan");
  if (scanLink) {
    links.push(
      await recordChainLink(ctx, {
        image: o.image,
        stage: "vex",
        evidence: { digest: d, mediaType: VEX_MEDIA_TYPE },
        previous: [scanLink],
        inputs: {
          statements: String(vex.length),
          ...Object.fromEntries(given.map((g, i) => [`document${i}`, g.digest])),
        },
        tool,
      }),
    );
  }
  return vexEvidence;
}

/** The records symbol-level analyses read (Go advisories list the vulnerable functions). */
function goRecords(db: VulnDb, findings: readonly Finding[]): Map<string, OsvRecord> {
  const records = new Map<string, OsvRecord>();
  for (const f of findings) {
    if (f.matchedAs.ecosystem === "Go" && !records.has(f.id)) {
      for (const h of db.lookup("Go", f.matchedAs.name)) {
        if (h.record.id === f.id) {
          records.set(f.id, h.record);
        }
      }
    }
  }
  return records;
}

export async function scan(
  ctx: AppContext,
  ref: string,
  opts: ScanOptions = {},
): Promise<ScanResult> {
  // read first: a bad VEX document fails before any work
  const given = (opts.vexDocuments ?? []).map((d) => ({
    name: d.name,
    digest: sha256(d.bytes),
    doc: readVex(d.bytes, d.name),
  }));
  const db = openVulnDb(ctx);
  try {
    const { now, freshness } = await usableData(ctx, db, opts);
    const s = await generateSbom(ctx, ref, { ...opts, format: opts.format ?? "spdx-3" });
    const m = matchSbom(s.sbom, db);
    const support = distroSupport(s.sbom.distro, now, opts.distroInfoDir);
    let evidence: EvidenceLink | undefined;
    const links: RecordedLink[] = s.link ? [s.link] : [];
    const tool = `${TOOL.name} ${TOOL.version}`;
    if (opts.record !== false && s.sbom.subject.kind === "image" && s.evidence) {
      const doc = new TextEncoder().encode(
        JSON.stringify({
          mediaType: SCAN_MEDIA_TYPE,
          image: s.sbom.subject.manifestDigest,
          sbom: s.evidence.evidence,
          dbSnapshot: m.snapshot,
          scanned: s.sbom.created,
          packagesMatched: m.packagesMatched,
          unassessed: m.unassessed,
          findings: m.findings,
          issues: m.issues,
          dataFreshness: freshness,
          ...(support ? { distroSupport: support } : {}),
        }),
      );
      const store = ctx.evidence();
      const d = await store.putBlob(doc, SCAN_MEDIA_TYPE);
      evidence = await store.link(s.sbom.subject.manifestDigest, d, "vuln-scan", {
        sbom: s.evidence.evidence,
        dbSnapshot: m.snapshot,
        findings: String(m.findings.length),
      });
      if (s.link) {
        links.push(
          await recordChainLink(ctx, {
            image: { name: s.sbom.subject.name, digest: s.sbom.subject.manifestDigest },
            stage: "scan",
            evidence: { digest: d, mediaType: SCAN_MEDIA_TYPE },
            previous: [s.link],
            inputs: {
              dbSnapshot: m.snapshot,
              findings: String(m.findings.length),
              unassessed: String(m.unassessed.reduce((n, u) => n + u.packages, 0)),
            },
            tool,
          }),
        );
      }
    }
    const records = goRecords(db, m.findings);
    const automatic =
      s.sbom.subject.kind === "image"
        ? analyzeFindings(s.sbom, m.findings, {
            records,
            dbSnapshot: m.snapshot,
            ...(evidence ? { scan: evidence.evidence } : {}),
            author: VEX_AUTHOR,
            timestamp: s.sbom.created,
          })
        : [];
    // decisions recorded with `vex add` for this image apply to every scan of it, once their
    // signature verifies against the people this site trusts; the others are named in issues
    const decisions =
      s.sbom.subject.kind === "image"
        ? await verifiedVexDecisions(ctx, s.sbom.subject.manifestDigest)
        : { documents: [], issues: [] };
    given.push(...decisions.documents);
    const applied = applyVex(
      automatic,
      given.flatMap((g) => g.doc.statements),
    );
    const vex = applied.statements;
    const vexEvidence =
      evidence && s.sbom.subject.kind === "image"
        ? await recordVex(ctx, {
            image: { name: s.sbom.subject.name, digest: s.sbom.subject.manifestDigest },
            scan: evidence,
            given,
            vex,
            links,
            tool,
          })
        : undefined;
    return {
      ...m,
      freshness,
      ...(support ? { distroSupport: support } : {}),
      issues: [...m.issues, ...decisions.issues, ...applied.issues],
      vex,
      ...(vexEvidence ? { vexEvidence } : {}),
      ...(links.length ? { links } : {}),
      sbom: s.sbom,
      ...(s.evidence ? { sbomEvidence: s.evidence } : {}),
      ...(evidence ? { evidence } : {}),
    };
  } finally {
    db.close();
  }
}
