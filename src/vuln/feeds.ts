import { createHash } from "node:crypto";

/**
 * The upstream feeds `db update` fetches, where they live, and how a download is checked.
 * Pure: no I/O. The fetch itself is the app's (`app/vulndb-update.ts`).
 */

/** The feed families; each has one base URL a site can point at its own mirror. */
export type FeedFamily = "osv" | "debian" | "alpine" | "kev";

/** One file to fetch. `id` names it on the command line and in the validators cache. */
export interface Feed {
  readonly id: string;
  readonly family: FeedFamily;
  readonly url: string;
}

/** The ecosystems OSV publishes as `<ecosystem>/all.zip` that the matcher reads. */
export const OSV_ECOSYSTEMS = [
  "Debian",
  "Ubuntu",
  "Alpine",
  "Red Hat",
  "PyPI",
  "npm",
  "Go",
  "crates.io",
  "Maven",
  "RubyGems",
  "Packagist",
  "NuGet",
] as const;

/** The Alpine branches whose secdb is fetched by default (main and community each). */
export const ALPINE_BRANCHES = ["v3.19", "v3.20", "v3.21", "v3.22"] as const;

export const DEFAULT_BASE_URLS: Readonly<Record<FeedFamily, string>> = {
  osv: "https://osv-vulnerabilities.storage.googleapis.com",
  debian: "https://security-tracker.debian.org/tracker/data",
  alpine: "https://secdb.alpinelinux.org",
  kev: "https://www.cisa.gov/sites/default/files/feeds",
};

/** Every feed, with its URL under `base` (a family's base replaces the default). */
export function allFeeds(base: Partial<Record<FeedFamily, string>> = {}): Feed[] {
  const b = (f: FeedFamily): string => (base[f] ?? DEFAULT_BASE_URLS[f]).replace(/\/+$/, "");
  return [
    ...OSV_ECOSYSTEMS.map((e) => ({
      id: `osv:${e.replace(/ /g, "-")}`,
      family: "osv" as const,
      url: `${b("osv")}/${encodeURIComponent(e)}/all.zip`,
    })),
    { id: "debian:tracker", family: "debian", url: `${b("debian")}/json` },
    ...ALPINE_BRANCHES.flatMap((v) =>
      (["main", "community"] as const).map((r) => ({
        id: `alpine:${v}/${r}`,
        family: "alpine" as const,
        url: `${b("alpine")}/${v}/${r}.json`,
      })),
    ),
    { id: "kev", family: "kev", url: `${b("kev")}/known_exploited_vulnerabilities.json` },
  ];
}

/**
 * The feeds a selection names: a feed id (`osv:Debian`, `kev`), a family (`osv`, `alpine`), an id
 * prefix (`alpine:v3.20`), or any Alpine branch and repository (`alpine:v3.11/main`, `alpine:edge/community`).
 * All feeds when `names` is empty. Returns the unknown names too, so the caller can refuse them.
 */
export function selectFeeds(
  names: readonly string[],
  base: Partial<Record<FeedFamily, string>> = {},
): { feeds: Feed[]; unknown: string[] } {
  const feeds = allFeeds(base);
  if (names.length === 0) {
    return { feeds, unknown: [] };
  }
  const unknown: string[] = [];
  const chosen = new Map<string, Feed>();
  for (const n of names) {
    const hit = feeds.filter(
      (f) => f.id === n || f.family === n || f.id.startsWith(`${n}/`) || f.id === `osv:${n}`,
    );
    const branch = /^alpine:(v\d+\.\d+|edge)\/(main|community)$/.exec(n);
    if (hit.length === 0 && branch) {
      const root = (base.alpine ?? DEFAULT_BASE_URLS.alpine).replace(/\/+$/, "");
      hit.push({ id: n, family: "alpine", url: `${root}/${branch[1]}/${branch[2]}.json` });
    }
    if (hit.length === 0) {
      unknown.push(n);
    }
    for (const f of hit) {
      chosen.set(f.id, f);
    }
  }
  return { feeds: [...chosen.values()], unknown };
}

/** What the last successful fetch of a URL returned: for conditional requests and the record. */
export interface FeedValidators {
  readonly etag?: string;
  readonly lastModified?: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly fetchedAt: string;
}

/** The request headers of a conditional GET from the validators of the last fetch. */
export function conditionalHeaders(v: FeedValidators | undefined): Record<string, string> {
  return {
    ...(v?.etag ? { "if-none-match": v.etag } : {}),
    ...(v?.lastModified ? { "if-modified-since": v.lastModified } : {}),
  };
}

/**
 * The digests a response's headers publish for its body: Google Cloud Storage's
 * `x-goog-hash: md5=…` (OSV's exports) and RFC 9530 `Repr-Digest` / `Content-Digest`
 * (`sha-256=:…:`). Returns `[algorithm, base64]` pairs.
 */
export function publishedDigests(headers: {
  get(name: string): string | null;
}): [alg: "md5" | "sha256", b64: string][] {
  const out: ["md5" | "sha256", string][] = [];
  for (const part of (headers.get("x-goog-hash") ?? "").split(",")) {
    const m = /^\s*md5=([A-Za-z0-9+/=]+)\s*$/.exec(part);
    if (m) {
      out.push(["md5", m[1] as string]);
    }
  }
  for (const h of ["repr-digest", "content-digest"]) {
    for (const m of (headers.get(h) ?? "").matchAll(/sha-256=:([A-Za-z0-9+/=]+):/g)) {
      out.push(["sha256", m[1] as string]);
    }
  }
  return out;
}

/**
 * Checks a downloaded body against the length and digests its response published.
 * Returns what is wrong, or undefined when everything published matches.
 */
export function checkDownload(
  body: Uint8Array,
  contentLength: number | undefined,
  digests: readonly [alg: "md5" | "sha256", b64: string][],
): string | undefined {
  if (contentLength !== undefined && body.length !== contentLength) {
    return `the body is ${body.length} bytes, the response said ${contentLength} (truncated or changed during the download)`;
  }
  for (const [alg, b64] of digests) {
    const got = createHash(alg).update(body).digest("base64");
    if (got !== b64) {
      return `the body's ${alg} is ${got}, the response published ${b64} (changed during the download or corrupted)`;
    }
  }
  return undefined;
}
