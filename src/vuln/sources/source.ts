import type { Issue } from "../../core/issues.js";
import type { OsvRecord } from "../osv.js";

/** Records parsed from one input, tagged with the source they belong to. */
export interface ParsedSource {
  readonly source: string;
  readonly records: OsvRecord[];
  readonly issues: Issue[];
}

/**
 * One feed's input format. `parseVulnInput` unwraps gzip, zip and tar, then offers each JSON
 * object of a file to the sources in order: the first whose `sniff` accepts it takes it, and
 * `toRecords` turns all the objects a source took from one file into records, by source name.
 * A format that is not JSON (Debian's advisory lists) is offered whole through `sniffText`.
 * Adding a feed is one file here and a line in SOURCES (index.ts).
 */
export interface VulnSource {
  readonly id: string;
  /** What the format is, for the message naming input no source took. */
  readonly what: string;
  /** Does this object (one of `count` in the file) belong to this source? */
  sniff(o: Record<string, unknown>, count: number): boolean;
  toRecords(
    objects: readonly Record<string, unknown>[],
    where: string,
    issues: Issue[],
  ): Map<string, OsvRecord[]>;
  sniffText?(text: string): boolean;
  textToRecords?(text: string, where: string, issues: Issue[]): Map<string, OsvRecord[]>;
}

/** Records grouped by the source name `sourceOf` gives each. */
export function groupBy(
  records: readonly OsvRecord[],
  sourceOf: (r: OsvRecord) => string,
): Map<string, OsvRecord[]> {
  const m = new Map<string, OsvRecord[]>();
  for (const r of records) {
    const k = sourceOf(r);
    const list = m.get(k);
    if (list) {
      list.push(r);
    } else {
      m.set(k, [r]);
    }
  }
  return m;
}
