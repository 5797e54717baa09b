import { gunzipSync } from "node:zlib";
import { parseIsoDate } from "../core/dates.js";
import type { Issue } from "../core/issues.js";
import { assertJsonDepth } from "../core/json.js";
import { zipEntries, zipRead } from "../core/zip.js";
import { DEBIAN_RELEASES, type OsvRecord } from "./osv.js";

/** Records parsed from one input, tagged with the source they belong to. */
export interface ParsedSource {
  readonly source: string;
  readonly records: OsvRecord[];
  readonly issues: Issue[];
}

const MONTHS: Record<string, string> = {
  Jan: "01",
  Feb: "02",
  Mar: "03",
  Apr: "04",
  May: "05",
  Jun: "06",
  Jul: "07",
  Aug: "08",
  Sep: "09",
  Oct: "10",
  Nov: "11",
  Dec: "12",
};

interface DebianListEntry {
  id: string;
  date: string;
  source_package: string;
  title: string;
  cves: string[];
  fixed: { release: string; package: string; version: string; annotation?: string }[];
  notes: string[];
}

/** "29 Mar 2023" or "August 26th, 2005" as YYYY-MM-DD (the lists use both). */
function listDate(s: string): string {
  const m = /^(\d{1,2}) (\w{3}) (\d{4})$/.exec(s.trim());
  if (m) {
    return `${m[3]}-${MONTHS[m[2] as string] ?? "01"}-${(m[1] as string).padStart(2, "0")}`;
  }
  const long = /^([A-Za-z]{3})[a-z]* (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})$/.exec(s.trim());
  if (long) {
    return `${long[3]}-${MONTHS[long[1] as string] ?? "01"}-${(long[2] as string).padStart(2, "0")}`;
  }
  return s.trim();
}

/**
 * Parses the Debian security tracker's advisory lists (data/DSA/list, DLA, DTSA):
 *   [29 Mar 2023] DSA-5380-1 xorg-server - security update
 *   	{CVE-2023-1393}
 *   	[bullseye] - xorg-server 2:1.20.11-1+deb11u6
 */
export function parseDebianList(text: string, where: string, issues: Issue[]): DebianListEntry[] {
  const out: DebianListEntry[] = [];
  let cur: DebianListEntry | undefined;
  text.split("\n").forEach((line, n) => {
    const head = /^\[([^\]]+)\] (\S+) (.*?)(?: - (.*))?$/.exec(line);
    if (head) {
      cur = {
        id: head[2] as string,
        date: listDate(head[1] as string),
        source_package: (head[3] as string).trim(),
        title: (head[4] ?? "").trim(),
        cves: [],
        fixed: [],
        notes: [],
      };
      out.push(cur);
      return;
    }
    if (!cur || !line.trim()) {
      return;
    }
    const cves = /^\s+\{([^}]*)\}/.exec(line);
    if (cves) {
      cur.cves.push(...(cves[1] ?? "").split(/\s+/).filter(Boolean));
      return;
    }
    const fixed = /^\s+\[(\w+)\] - (\S+)\s+(\S+)(?:\s+\((.*)\))?/.exec(line);
    if (fixed) {
      cur.fixed.push({
        release: fixed[1] as string,
        package: fixed[2] as string,
        version: fixed[3] as string,
        ...(fixed[4] ? { annotation: fixed[4] } : {}),
      });
      return;
    }
    const note = /^\s+NOTE:\s*(.*)$/.exec(line);
    if (note) {
      cur.notes.push(note[1] ?? "");
      return;
    }
    issues.push({
      code: "VULN_LINE_UNPARSED",
      message: `line not understood: ${line.slice(0, 80)}`,
      path: `${where}:${n + 1}`,
    });
  });
  return out;
}

/**
 * Turns a Debian advisory into an OSV-shaped record: one affected entry per release, keyed by
 * the source package, with the tracker's statuses kept (<not-affected>, <unfixed>,
 * <end-of-life>, <no-dsa>) instead of a made-up range.
 */
export function debianEntryToOsv(e: DebianListEntry): OsvRecord {
  return {
    id: e.id,
    published: e.date,
    modified: e.date,
    summary: `${e.source_package}${e.title ? ` - ${e.title}` : ""}`,
    upstream: e.cves,
    affected: e.fixed.map((f) => {
      const release = DEBIAN_RELEASES[f.release];
      const ecosystem = release ? `Debian:${release}` : `Debian:${f.release}`;
      const status = /^<(.+)>$/.exec(f.version)?.[1];
      return {
        package: { ecosystem, name: f.package },
        ...(status
          ? { database_specific: { status, release: f.release } }
          : {
              ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: f.version }] }],
              database_specific: {
                release: f.release,
                ...(f.annotation ? { annotation: f.annotation } : {}),
              },
            }),
      };
    }),
    database_specific: {
      source_package: e.source_package,
      ...(e.notes.length ? { notes: e.notes } : {}),
    },
  };
}

interface AlpineSecdb {
  distroversion: string;
  reponame: string;
  packages: { pkg: { name: string; secfixes?: Record<string, string[] | null> | null } }[] | "";
}

/**
 * Turns Alpine secdb documents into OSV-shaped records, one per CVE, with an affected entry per
 * (release, package): fixed in the secfixes version; the "0" key means never affected.
 */
export function alpineToOsv(docs: readonly AlpineSecdb[]): OsvRecord[] {
  const byCve = new Map<string, { affected: NonNullable<OsvRecord["affected"]>[number][] }>();
  for (const d of docs) {
    const ecosystem = `Alpine:${d.distroversion}`;
    for (const p of Array.isArray(d.packages) ? d.packages : []) {
      for (const [version, cves] of Object.entries(p.pkg.secfixes ?? {})) {
        for (const raw of cves ?? []) {
          const cve = String(raw).split(/\s+/)[0] as string;
          const rec = byCve.get(cve) ?? { affected: [] };
          rec.affected.push({
            package: { ecosystem, name: p.pkg.name },
            ...(version === "0"
              ? { database_specific: { status: "not-affected", repo: d.reponame } }
              : {
                  ranges: [
                    { type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: version }] },
                  ],
                  database_specific: { repo: d.reponame },
                }),
          });
          byCve.set(cve, rec);
        }
      }
    }
  }
  return [...byCve.entries()].map(([id, r]) => ({ id, aliases: [], affected: r.affected }));
}

interface TrackerRelease {
  readonly status?: string;
  readonly fixed_version?: string;
  readonly urgency?: string;
  readonly nodsa?: string;
  readonly nodsa_reason?: string;
}

interface TrackerIssue {
  readonly description?: string;
  readonly scope?: string;
  readonly debianbug?: number;
  readonly releases?: Readonly<Record<string, TrackerRelease>>;
}

/** The tracker's JSON: source package -> issue id (CVE-…, TEMP-…) -> per-release state. */
function isDebianTracker(o: Record<string, unknown>): boolean {
  const first = Object.values(o)[0];
  if (!first || typeof first !== "object" || Array.isArray(first)) {
    return false;
  }
  const issue = Object.values(first as Record<string, unknown>)[0];
  return !!issue && typeof issue === "object" && "releases" in (issue as Record<string, unknown>);
}

/**
 * The Debian security tracker's JSON (security-tracker.debian.org/tracker/data/json) as
 * OSV-shaped records, one per issue id, with an affected entry per (source package, release):
 *   resolved with a fixed version -> fixed in it; resolved with fixed version "0" -> not affected;
 *   open -> unfixed, or no-dsa / ignored / postponed when the tracker says no DSA will be issued,
 *   or end-of-life when the release is no longer supported for that package;
 *   undetermined -> undetermined (the match is "unknown", never "not affected").
 * The tracker's urgency is kept; sid (unstable) has no release number and is left out.
 */
export function debianTrackerToOsv(
  doc: Readonly<Record<string, Readonly<Record<string, TrackerIssue>>>>,
): OsvRecord[] {
  const byId = new Map<
    string,
    { summary?: string; affected: NonNullable<OsvRecord["affected"]>[number][] }
  >();
  for (const [pkg, issues] of Object.entries(doc)) {
    for (const [id, issue] of Object.entries(issues ?? {})) {
      if (!/^(CVE|TEMP)-/.test(id)) {
        continue;
      }
      const rec = byId.get(id) ?? { affected: [] };
      if (!rec.summary && issue.description) {
        rec.summary = issue.description;
      }
      for (const [codename, r] of Object.entries(issue.releases ?? {})) {
        const release = DEBIAN_RELEASES[codename];
        if (!release) {
          continue;
        }
        const common = {
          release: codename,
          ...(r.urgency ? { urgency: r.urgency } : {}),
          ...(issue.scope ? { scope: issue.scope } : {}),
          ...(issue.debianbug ? { debianbug: issue.debianbug } : {}),
          ...(r.nodsa ? { nodsa: r.nodsa } : {}),
        };
        const fixed = r.fixed_version;
        let entry: NonNullable<OsvRecord["affected"]>[number];
        const pkgRef = { ecosystem: `Debian:${release}`, name: pkg };
        if (r.status === "resolved" && fixed === "0") {
          entry = { package: pkgRef, database_specific: { ...common, status: "not-affected" } };
        } else if (r.status === "resolved" && fixed) {
          entry = {
            package: pkgRef,
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }],
            database_specific: common,
          };
        } else if (r.status === "open") {
          const status =
            r.urgency === "end-of-life"
              ? "end-of-life"
              : r.nodsa !== undefined
                ? r.nodsa_reason || "no-dsa"
                : "unfixed";
          entry = { package: pkgRef, database_specific: { ...common, status } };
        } else {
          entry = { package: pkgRef, database_specific: { ...common, status: "undetermined" } };
        }
        rec.affected.push(entry);
      }
      byId.set(id, rec);
    }
  }
  return [...byId.entries()]
    .filter(([, r]) => r.affected.length > 0)
    .map(([id, r]) => ({
      id,
      ...(r.summary ? { summary: r.summary } : {}),
      affected: r.affected,
      database_specific: { source: "debian-security-tracker" },
    }));
}

/** The source name of CISA's Known Exploited Vulnerabilities catalog. */
export const KEV_SOURCE = "cisa:kev";

/** What a finding carries from the KEV catalog (kept in the record's database_specific.kev). */
export interface KevEntry {
  readonly cveID: string;
  readonly dateAdded: string;
  /** BOD 22-01's remediation due date (YYYY-MM-DD). */
  readonly dueDate: string;
  readonly requiredAction?: string;
  readonly knownRansomwareCampaignUse?: string;
  readonly vendorProject?: string;
  readonly product?: string;
  readonly catalogVersion?: string;
}

/** The catalog as CISA publishes it (known_exploited_vulnerabilities.json). */
function isKevCatalog(o: Record<string, unknown>): boolean {
  return (
    typeof o["catalogVersion"] === "string" &&
    Array.isArray(o["vulnerabilities"]) &&
    (o["vulnerabilities"] as unknown[]).every(
      (v) =>
        typeof v === "object" &&
        v !== null &&
        typeof (v as Record<string, unknown>)["cveID"] === "string",
    )
  );
}

/** A date as KEV writes them (YYYY-MM-DD) that exists on the calendar. */
const isCalendarDate = (s: string): boolean =>
  /^\d{4}-\d{2}-\d{2}$/.test(s) && parseIsoDate(s) !== undefined;

/**
 * CISA's KEV catalog as records, one per CVE, with no affected packages (KEV names products,
 * not package versions): findings are marked from it by CVE id or alias. dateAdded is the
 * record's published and modified time; the catalog's version and release time are kept.
 */
export function kevToRecords(
  o: Record<string, unknown>,
  where: string,
  issues: Issue[],
): OsvRecord[] {
  const catalogVersion = String(o["catalogVersion"]);
  const out: OsvRecord[] = [];
  for (const v of o["vulnerabilities"] as Record<string, unknown>[]) {
    const id = String(v["cveID"]);
    const dateAdded = typeof v["dateAdded"] === "string" ? v["dateAdded"] : "";
    const dueDate = typeof v["dueDate"] === "string" ? v["dueDate"] : "";
    if (!isCalendarDate(dueDate) || !isCalendarDate(dateAdded)) {
      issues.push({
        code: "VULN_RECORD_UNKNOWN",
        message: `KEV entry ${id} has no dateAdded or dueDate that is a date (YYYY-MM-DD, one that exists); skipped`,
        path: where,
      });
      continue;
    }
    const kev: KevEntry = {
      cveID: id,
      dateAdded,
      dueDate,
      ...(typeof v["requiredAction"] === "string" ? { requiredAction: v["requiredAction"] } : {}),
      ...(typeof v["knownRansomwareCampaignUse"] === "string"
        ? { knownRansomwareCampaignUse: v["knownRansomwareCampaignUse"] }
        : {}),
      ...(typeof v["vendorProject"] === "string" ? { vendorProject: v["vendorProject"] } : {}),
      ...(typeof v["product"] === "string" ? { product: v["product"] } : {}),
      catalogVersion,
    };
    out.push({
      id,
      published: `${dateAdded}T00:00:00Z`,
      modified: `${dateAdded}T00:00:00Z`,
      ...(typeof v["vulnerabilityName"] === "string" ? { summary: v["vulnerabilityName"] } : {}),
      ...(typeof v["shortDescription"] === "string" ? { details: v["shortDescription"] } : {}),
      database_specific: {
        kev,
        ...(typeof o["dateReleased"] === "string" ? { catalogReleased: o["dateReleased"] } : {}),
      },
    });
  }
  return out;
}

function isOsv(o: Record<string, unknown>): boolean {
  return (
    typeof o["id"] === "string" &&
    (Array.isArray(o["affected"]) ||
      typeof o["schema_version"] === "string" ||
      typeof o["modified"] === "string")
  );
}

/** Names the source an OSV record belongs to, from its id prefix. */
export function osvSourceOf(id: string): string {
  const prefix = /^([A-Z]+)-/.exec(id)?.[1] ?? "OSV";
  return `osv:${prefix}`;
}

/**
 * Parses one input file's bytes (gzip, zip, tar.gz of Debian lists, JSON, JSON lines, or a
 * Debian list) into records grouped by source.
 */
export type Untar = (b: Uint8Array) => Promise<{ name: string; data: Uint8Array }[]>;

export async function parseVulnInput(
  bytes: Uint8Array,
  where: string,
  untar: Untar,
): Promise<ParsedSource[]> {
  const issues: Issue[] = [];
  let data = bytes;
  if (data[0] === 0x1f && data[1] === 0x8b) {
    data = new Uint8Array(gunzipSync(data));
  }
  if (data[0] === 0x50 && data[1] === 0x4b) {
    const entries = zipEntries(data);
    if (typeof entries === "string") {
      return [
        {
          source: "unknown",
          records: [],
          issues: [{ code: "VULN_INPUT_UNREADABLE", message: entries, path: where }],
        },
      ];
    }
    const parts: ParsedSource[] = [];
    for (const e of entries.filter((x) => x.name.endsWith(".json"))) {
      const b = zipRead(data, e, 64 * 1024 * 1024);
      if (b) {
        parts.push(...(await parseVulnInput(b, `${where}:${e.name}`, untar)));
      }
    }
    return mergeSources(parts);
  }
  // a tar archive (ustar magic at 257)
  if (data.length > 262 && new TextDecoder().decode(data.subarray(257, 262)) === "ustar") {
    const parts: ParsedSource[] = [];
    for (const m of await untar(data)) {
      parts.push(...(await parseVulnInput(m.data, `${where}:${m.name}`, untar)));
    }
    return mergeSources(parts);
  }
  const text = new TextDecoder().decode(data);
  const trimmed = text.trimStart();
  if (/^\[[^\]\n]+\] (DSA|DLA|DTSA)-/.test(trimmed)) {
    const kind = /\b(DSA|DLA|DTSA)-/.exec(trimmed)?.[1] ?? "DSA";
    return [
      {
        source: `debian:${kind}`,
        records: parseDebianList(text, where, issues).map(debianEntryToOsv),
        issues,
      },
    ];
  }
  const objects: Record<string, unknown>[] = [];
  assertJsonDepth(text, where);
  try {
    const whole = JSON.parse(text) as unknown;
    objects.push(
      ...(Array.isArray(whole) ? whole : [whole]).filter(
        (o): o is Record<string, unknown> => typeof o === "object" && o !== null,
      ),
    );
  } catch {
    text.split("\n").forEach((line, n) => {
      if (!line.trim()) {
        return;
      }
      try {
        objects.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        issues.push({ code: "VULN_LINE_UNPARSED", message: "not JSON", path: `${where}:${n + 1}` });
      }
    });
  }
  const bySource = new Map<string, OsvRecord[]>();
  const alpine: AlpineSecdb[] = [];
  const add = (source: string, r: OsvRecord): void => {
    bySource.set(source, [...(bySource.get(source) ?? []), r]);
  };
  for (const o of objects) {
    if (objects.length === 1 && isKevCatalog(o)) {
      bySource.set(KEV_SOURCE, kevToRecords(o, where, issues));
    } else if (objects.length === 1 && isDebianTracker(o)) {
      bySource.set(
        "debian:tracker",
        debianTrackerToOsv(o as Record<string, Record<string, TrackerIssue>>),
      );
    } else if (typeof o["distroversion"] === "string" && "packages" in o) {
      alpine.push(o as unknown as AlpineSecdb);
    } else if (typeof o["source_package"] === "string" && Array.isArray(o["fixed"])) {
      const e = o as unknown as DebianListEntry;
      add(`debian:${/^(DSA|DLA|DTSA)-/.exec(e.id)?.[1] ?? "DSA"}`, debianEntryToOsv(e));
    } else if (isOsv(o)) {
      const r = o as unknown as OsvRecord;
      add(osvSourceOf(r.id), r);
    } else {
      issues.push({
        code: "VULN_RECORD_UNKNOWN",
        message:
          "not an OSV record, a Debian advisory, an Alpine secdb document or CISA's KEV catalog",
        path: where,
      });
    }
  }
  if (alpine.length) {
    bySource.set("alpine:secdb", alpineToOsv(alpine));
  }
  const out = [...bySource.entries()].map(([source, records]) => ({
    source,
    records,
    issues: [] as Issue[],
  }));
  if (out.length === 0) {
    return [{ source: "unknown", records: [], issues }];
  }
  (out[0] as ParsedSource).issues.push(...issues);
  return out;
}

function mergeSources(parts: ParsedSource[]): ParsedSource[] {
  const m = new Map<string, ParsedSource>();
  for (const p of parts) {
    const cur = m.get(p.source);
    if (cur) {
      cur.records.push(...p.records);
      cur.issues.push(...p.issues);
    } else {
      m.set(p.source, { source: p.source, records: [...p.records], issues: [...p.issues] });
    }
  }
  return [...m.values()];
}
