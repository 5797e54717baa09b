import type { Issue } from "../../core/issues.js";
import { DEBIAN_RELEASES, type OsvRecord } from "../osv.js";
import { groupBy, type VulnSource } from "./source.js";

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

export interface DebianListEntry {
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

const kindOf = (id: string): string => /^(DSA|DLA|DTSA)-/.exec(id)?.[1] ?? "DSA";

/** Debian's advisory lists (data/DSA/list, DLA, DTSA), as text or as one JSON object per entry. */
export const debianListSource: VulnSource = {
  id: "debian-lists",
  what: "a Debian advisory",
  sniff: (o) => typeof o["source_package"] === "string" && Array.isArray(o["fixed"]),
  toRecords: (objects) =>
    groupBy(
      objects.map((o) => debianEntryToOsv(o as unknown as DebianListEntry)),
      (r) => `debian:${kindOf(r.id)}`,
    ),
  sniffText: (text) => /^\[[^\]\n]+\] (DSA|DLA|DTSA)-/.test(text.trimStart()),
  textToRecords: (text, where, issues) => {
    const kind = /\b(DSA|DLA|DTSA)-/.exec(text.trimStart())?.[1] ?? "DSA";
    return new Map([
      [`debian:${kind}`, parseDebianList(text, where, issues).map(debianEntryToOsv)],
    ]);
  },
};
