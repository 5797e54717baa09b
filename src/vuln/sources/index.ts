import { gunzipSync } from "node:zlib";
import type { Issue } from "../../core/issues.js";
import { assertJsonDepth } from "../../core/json.js";
import { zipEntries, zipRead } from "../../core/zip.js";
import { alpineSecdbSource } from "./alpine-secdb.js";
import { debianListSource } from "./debian-lists.js";
import { debianTrackerSource } from "./debian-tracker.js";
import { kevSource } from "./kev.js";
import { osvSource } from "./osv.js";
import type { ParsedSource, VulnSource } from "./source.js";

export { alpineToOsv } from "./alpine-secdb.js";
export { debianEntryToOsv, parseDebianList } from "./debian-lists.js";
export { debianTrackerToOsv } from "./debian-tracker.js";
export { KEV_SOURCE, type KevEntry, kevToRecords } from "./kev.js";
export { osvSourceOf } from "./osv.js";
export type { ParsedSource, VulnSource } from "./source.js";

/** Every input format, in the order each JSON object is offered to them (OSV, the loosest, last). */
export const SOURCES: readonly VulnSource[] = [
  kevSource,
  debianTrackerSource,
  alpineSecdbSource,
  debianListSource,
  osvSource,
];

/** Unpacks a tar archive into its regular files (the caller owns the tar reader). */
export type Untar = (b: Uint8Array) => Promise<{ name: string; data: Uint8Array }[]>;

/**
 * Parses one input file's bytes (gzip, zip, tar.gz of Debian lists, JSON, JSON lines, or a
 * Debian list) into records grouped by source.
 */
export async function parseVulnInput(
  bytes: Uint8Array,
  where: string,
  untar: Untar,
  sources: readonly VulnSource[] = SOURCES,
): Promise<ParsedSource[]> {
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
        parts.push(...(await parseVulnInput(b, `${where}:${e.name}`, untar, sources)));
      }
    }
    return mergeSources(parts);
  }
  // a tar archive (ustar magic at 257)
  if (data.length > 262 && new TextDecoder().decode(data.subarray(257, 262)) === "ustar") {
    const parts: ParsedSource[] = [];
    for (const m of await untar(data)) {
      parts.push(...(await parseVulnInput(m.data, `${where}:${m.name}`, untar, sources)));
    }
    return mergeSources(parts);
  }
  return parseText(new TextDecoder().decode(data), where, sources);
}

function parseText(text: string, where: string, sources: readonly VulnSource[]): ParsedSource[] {
  const issues: Issue[] = [];
  const textual = sources.find((s) => s.sniffText?.(text) && s.textToRecords);
  if (textual?.textToRecords) {
    return toParsed(textual.textToRecords(text, where, issues), issues);
  }
  const objects = jsonObjects(text, where, issues);
  const taken = new Map<VulnSource, Record<string, unknown>[]>();
  for (const o of objects) {
    const s = sources.find((x) => x.sniff(o, objects.length));
    if (s) {
      taken.set(s, [...(taken.get(s) ?? []), o]);
    } else {
      issues.push({
        code: "VULN_RECORD_UNKNOWN",
        message: `not ${sources.map((x) => x.what).join(", ")}`.replace(/, ([^,]*)$/, " or $1"),
        path: where,
      });
    }
  }
  const bySource = new Map<string, ParsedSource["records"]>();
  for (const [s, list] of taken) {
    for (const [name, records] of s.toRecords(list, where, issues)) {
      bySource.set(name, [...(bySource.get(name) ?? []), ...records]);
    }
  }
  return toParsed(bySource, issues);
}

/** The JSON objects of a file: one document (an object or an array of them) or JSON lines. */
function jsonObjects(text: string, where: string, issues: Issue[]): Record<string, unknown>[] {
  const isObject = (o: unknown): o is Record<string, unknown> =>
    typeof o === "object" && o !== null;
  assertJsonDepth(text, where);
  try {
    const whole = JSON.parse(text) as unknown;
    return (Array.isArray(whole) ? whole : [whole]).filter(isObject);
  } catch {
    const out: Record<string, unknown>[] = [];
    text.split("\n").forEach((line, n) => {
      if (!line.trim()) {
        return;
      }
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        issues.push({ code: "VULN_LINE_UNPARSED", message: "not JSON", path: `${where}:${n + 1}` });
      }
    });
    return out;
  }
}

/** The file's issues ride on its first source (or on "unknown" when it had none). */
function toParsed(bySource: Map<string, ParsedSource["records"]>, issues: Issue[]): ParsedSource[] {
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
