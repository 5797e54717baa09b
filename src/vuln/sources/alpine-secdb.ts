import type { OsvRecord } from "../osv.js";
import type { VulnSource } from "./source.js";

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

/** Alpine's secdb (secdb.alpinelinux.org/<branch>/<repo>.json), all documents of a file as one source. */
export const alpineSecdbSource: VulnSource = {
  id: "alpine-secdb",
  what: "an Alpine secdb document",
  sniff: (o) => typeof o["distroversion"] === "string" && "packages" in o,
  toRecords: (objects) =>
    new Map([["alpine:secdb", alpineToOsv(objects as unknown as AlpineSecdb[])]]),
};
