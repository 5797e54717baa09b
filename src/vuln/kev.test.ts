import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { untarMembers } from "../app/vulndb.js";
import { VulnDb } from "./db.js";
import { KEV_SOURCE, parseVulnInput } from "./sources/index.js";

const KEV = resolve(
  import.meta.dirname,
  "../../../shared/corpus/vulndb/kev/known_exploited_vulnerabilities.json.gz",
);
const catalog = JSON.parse(gunzipSync(readFileSync(KEV)).toString("utf8")) as {
  catalogVersion: string;
  count: number;
  vulnerabilities: { cveID: string; dateAdded: string; dueDate: string }[];
};

describe("CISA's Known Exploited Vulnerabilities catalog as a source", () => {
  it("is sniffed from the JSON CISA publishes: one record per entry, its dates kept", async () => {
    const parsed = await parseVulnInput(new Uint8Array(readFileSync(KEV)), KEV, untarMembers);
    expect(parsed.map((p) => p.source)).toEqual([KEV_SOURCE]);
    const records = parsed[0]?.records ?? [];
    expect(records.length).toBe(catalog.count);
    expect(parsed[0]?.issues).toEqual([]);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const v of catalog.vulnerabilities) {
      const kev = byId.get(v.cveID)?.database_specific?.["kev"] as Record<string, string>;
      expect(kev["dueDate"]).toBe(v.dueDate);
      expect(kev["dateAdded"]).toBe(v.dateAdded);
      expect(kev["catalogVersion"]).toBe(catalog.catalogVersion);
      expect(byId.get(v.cveID)?.affected).toBeUndefined();
    }
  });

  it("is imported as its own source and answers which CVEs are known exploited", async () => {
    const db = VulnDb.open(mkdtempSync(join(tmpdir(), "vulndb-kev-")));
    try {
      const r = await db.import([KEV], untarMembers);
      expect(r.sources).toEqual([
        {
          source: KEV_SOURCE,
          records: catalog.count,
          added: catalog.count,
          changed: 0,
          unchanged: 0,
        },
      ]);
      const newest = catalog.vulnerabilities
        .map((v) => v.dateAdded)
        .sort()
        .at(-1);
      expect(db.status()).toMatchObject([
        { source: KEV_SOURCE, records: catalog.count, newestModified: `${newest}T00:00:00Z` },
      ]);
      const some = catalog.vulnerabilities.slice(0, 3);
      const found = db.knownExploited([...some.map((v) => v.cveID), "GHSA-xxxx", "CVE-1900-0001"]);
      expect([...found.keys()].sort()).toEqual(some.map((v) => v.cveID).sort());
      for (const v of some) {
        expect(found.get(v.cveID)?.dueDate).toBe(v.dueDate);
      }
    } finally {
      db.close();
    }
  });
});
