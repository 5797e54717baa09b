import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { recordAuditEvent } from "../chain/index.js";
import { ToolError } from "../core/errors.js";
import type { Issue } from "../core/issues.js";
import { parseJson } from "../core/json.js";
import { concatBytes } from "../core/limits.js";
import { isLoopbackHost, writeFileAtomic } from "../oci/index.js";
import {
  allFeeds,
  checkDownload,
  conditionalHeaders,
  type Feed,
  type FeedFamily,
  type FeedValidators,
  type ImportResult,
  type OsvRecord,
  parseVulnInput,
  publishedDigests,
  selectFeeds,
} from "../vuln/index.js";
import type { AppContext } from "./context.js";
import { openVulnDb, untarMembers } from "./vulndb.js";

export interface UpdateOptions {
  /** feed ids, families or prefixes (`osv:Debian`, `alpine`, `kev`); all feeds when empty */
  readonly sources?: readonly string[];
  /** a site's mirror per family, replacing the upstream base URL */
  readonly baseUrls?: Partial<Record<FeedFamily, string>>;
  /** plain HTTP to a loopback mirror */
  readonly insecure?: boolean;
  /** per-feed limit on the whole request, in milliseconds */
  readonly timeoutMs?: number;
  /** per-feed limit on the body */
  readonly maxBytes?: number;
  /** called as bytes arrive (the CLI shows it on a terminal) */
  readonly onProgress?: (feed: Feed, bytes: number, total: number | undefined) => void;
  readonly fetch?: typeof fetch;
}

export type FeedOutcome =
  | {
      readonly feed: string;
      readonly url: string;
      readonly state: "updated";
      readonly bytes: number;
    }
  | { readonly feed: string; readonly url: string; readonly state: "not-modified" }
  | {
      readonly feed: string;
      readonly url: string;
      readonly state: "failed";
      readonly reason: string;
    };

export interface UpdateResult extends Omit<ImportResult, "issues"> {
  readonly feeds: readonly FeedOutcome[];
  readonly issues: readonly Issue[];
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;

/** The validators of the last good fetch per URL, kept beside the database. */
function validatorsPath(ctx: AppContext): string {
  return join(ctx.home, "vulndb", "feeds.json");
}

async function readValidators(ctx: AppContext): Promise<Record<string, FeedValidators>> {
  const text = await readFile(validatorsPath(ctx), "utf8").catch(() => undefined);
  if (text === undefined) {
    return {};
  }
  let v: unknown;
  try {
    v = parseJson(text, validatorsPath(ctx));
  } catch {
    return {}; // a cache: a damaged one costs a full download, never the update
  }
  const out: Record<string, FeedValidators> = {};
  const header = (x: unknown): x is string =>
    typeof x === "string" && /^[\x20-\x7e]{1,1024}$/.test(x);
  for (const [url, e] of Object.entries(typeof v === "object" && v !== null ? v : {})) {
    const r = e as Partial<FeedValidators> | null;
    if (typeof r !== "object" || r === null || typeof r.sha256 !== "string") {
      continue;
    }
    // only values that can be sent back as headers (no control characters, bounded)
    out[url] = {
      ...(header(r.etag) ? { etag: r.etag } : {}),
      ...(header(r.lastModified) ? { lastModified: r.lastModified } : {}),
      sha256: r.sha256,
      bytes: Number(r.bytes) || 0,
      fetchedAt: String(r.fetchedAt ?? ""),
    };
  }
  return out;
}

/** Refuses a URL the update may not fetch: only https, or http to a loopback mirror with insecure. */
function checkUrl(url: string, insecure: boolean): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ToolError("CORE_INVALID_ARGUMENT", `${url} is not a URL`, {
      hint: "give a mirror as --base-url FAMILY=https://host/path",
    });
  }
  if (u.protocol === "https:") {
    return;
  }
  if (u.protocol === "http:" && insecure && isLoopbackHost(u.host)) {
    return;
  }
  throw new ToolError(
    "CORE_INVALID_ARGUMENT",
    `refusing ${url}: feeds are fetched over https (plain http only to a loopback mirror with --insecure)`,
  );
}

type Fetched =
  | { state: "updated"; body: Uint8Array; validators: FeedValidators }
  | { state: "not-modified" };

/**
 * Fetches one feed with a conditional GET and checks the body against the length and digests
 * the response published.
 * @throws Error with the reason when the fetch or a check fails
 */
async function fetchFeed(
  feed: Feed,
  last: FeedValidators | undefined,
  o: Required<Pick<UpdateOptions, "timeoutMs" | "maxBytes">> & UpdateOptions,
): Promise<Fetched> {
  const doFetch = o.fetch ?? fetch;
  const signal = AbortSignal.timeout(o.timeoutMs);
  // redirects are followed by hand so that every hop obeys the same URL rule as the first
  let url = feed.url;
  let res = await doFetch(url, { headers: conditionalHeaders(last), redirect: "manual", signal });
  for (let hop = 0; res.status >= 300 && res.status < 400 && res.status !== 304; hop++) {
    const to = res.headers.get("location");
    await res.body?.cancel();
    if (!to || hop >= 5) {
      throw new Error(to ? "more than 5 redirects" : `HTTP ${res.status} without a Location`);
    }
    url = new URL(to, url).href;
    checkUrl(url, o.insecure ?? false);
    res = await doFetch(url, { headers: conditionalHeaders(last), redirect: "manual", signal });
  }
  if (res.status === 304 && last) {
    return { state: "not-modified" };
  }
  if (!res.ok || !res.body) {
    throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
  }
  const lengthHeader = res.headers.get("content-length");
  const total = lengthHeader === null ? undefined : Number(lengthHeader);
  if (total !== undefined && total > o.maxBytes) {
    throw new Error(`the body is ${total} bytes, over the ${o.maxBytes}-byte limit (--max-bytes)`);
  }
  const chunks: Uint8Array[] = [];
  let got = 0;
  for await (const c of res.body) {
    got += c.byteLength;
    if (got > o.maxBytes) {
      throw new Error(`the body is over the ${o.maxBytes}-byte limit (--max-bytes)`);
    }
    chunks.push(c);
    o.onProgress?.(feed, got, total);
  }
  const body = concatBytes(chunks, got);
  const bad = checkDownload(body, total, publishedDigests(res.headers));
  if (bad) {
    throw new Error(bad);
  }
  const etag = res.headers.get("etag") ?? undefined;
  const lastModified = res.headers.get("last-modified") ?? undefined;
  return {
    state: "updated",
    body,
    validators: {
      ...(etag ? { etag } : {}),
      ...(lastModified ? { lastModified } : {}),
      sha256: createHash("sha256").update(body).digest("hex"),
      bytes: body.length,
      fetchedAt: new Date().toISOString(),
    },
  };
}

function reasonOf(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") {
    return "timed out";
  }
  const cause = err?.cause?.code ?? err?.cause?.message;
  return `${err?.message ?? String(e)}${cause ? ` (${cause})` : ""}`;
}

/**
 * Fetches the chosen upstream feeds and imports what changed as one new snapshot: every feed
 * that fetched and parsed is applied in one transaction, so the old data is used until the new
 * data is whole and an interrupted update loses nothing. A failed feed is named and the others
 * go on. Contacts the network only when called.
 * Side effects: writes the database, `vulndb/feeds.json` (after the import) and an audit event.
 * @throws ToolError CORE_INVALID_ARGUMENT for an unknown source or a refused URL
 */
export async function updateVulnDb(
  ctx: AppContext,
  opts: UpdateOptions = {},
): Promise<UpdateResult> {
  const o = {
    ...opts,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES,
  };
  const { feeds, unknown } = selectFeeds(opts.sources ?? [], opts.baseUrls);
  if (unknown.length) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `unknown source ${unknown.join(", ")}`, {
      hint: `choose from ${allFeeds()
        .map((f) => f.id)
        .join(", ")} or a family (osv, debian, alpine, kev)`,
    });
  }
  for (const f of feeds) {
    checkUrl(f.url, opts.insecure ?? false);
  }
  const validators = await readValidators(ctx);
  const outcomes: FeedOutcome[] = [];
  const issues: Issue[] = [];
  const bySource = new Map<string, { records: OsvRecord[]; paths: string[] }>();
  const fresh: Record<string, FeedValidators> = {};
  for (const feed of feeds) {
    try {
      const r = await fetchFeed(feed, validators[feed.url], o);
      if (r.state === "not-modified") {
        outcomes.push({ feed: feed.id, url: feed.url, state: "not-modified" });
        continue;
      }
      const parsed = await parseVulnInput(r.body, feed.url, untarMembers);
      const records = parsed.reduce((n, p) => n + p.records.length, 0);
      issues.push(...parsed.flatMap((p) => p.issues));
      if (records === 0) {
        throw new Error("the body holds no vulnerability record the importer reads");
      }
      for (const p of parsed.filter((x) => x.source !== "unknown")) {
        const cur = bySource.get(p.source) ?? { records: [], paths: [] };
        cur.records.push(...p.records);
        cur.paths.push(feed.url);
        bySource.set(p.source, cur);
      }
      fresh[feed.url] = r.validators;
      outcomes.push({ feed: feed.id, url: feed.url, state: "updated", bytes: r.validators.bytes });
    } catch (e) {
      const reason = reasonOf(e);
      outcomes.push({ feed: feed.id, url: feed.url, state: "failed", reason });
      issues.push({ code: "VULN_FEED_FAILED", message: `${feed.id}: ${reason}`, path: feed.url });
    }
  }
  const db = openVulnDb(ctx);
  try {
    const applied = db.apply([...bySource.entries()].map(([source, v]) => ({ source, ...v })));
    // the validators follow the data: written only once the import committed
    if (Object.keys(fresh).length) {
      await writeFileAtomic(
        validatorsPath(ctx),
        `${JSON.stringify({ ...validators, ...fresh }, null, 2)}\n`,
      );
    }
    await recordAuditEvent(ctx, {
      action: "db-update",
      evidence: { dbSnapshot: applied.snapshot },
      details: {
        feeds: outcomes.map((x) => `${x.feed}=${x.state}`).join(" "),
        records: String(applied.sources.reduce((n, s) => n + s.records, 0)),
      },
    });
    return { ...applied, feeds: outcomes, issues };
  } finally {
    db.close();
  }
}
