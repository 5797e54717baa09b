import type { OsvRecord } from "../osv.js";
import { groupBy, type VulnSource } from "./source.js";

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

/** OSV records (osv.dev exports and any OSV JSON), grouped by id prefix. */
export const osvSource: VulnSource = {
  id: "osv",
  what: "an OSV record",
  sniff: (o) => isOsv(o),
  toRecords: (objects) => groupBy(objects as unknown as OsvRecord[], (r) => osvSourceOf(r.id)),
};
