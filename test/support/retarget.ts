import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { expect } from "vitest";
import { tempDir } from "./tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");

/**
 * The corpus's Debian data ends in 2023-04 at bullseye, and the archive serves only current point
 * releases, so no real Debian 12 package matches it. The advisories are therefore real DSA records
 * (their ids, CVEs and summaries) re-targeted at Debian 12 with a fixed version above the one
 * installed; the packages, their files and every analysis are real.
 */
export function retargetedAdvisories(): string {
  const wanted: Record<string, string> = { "DSA-2669-1": "6.1.9999-1", "DSA-740-1": "1:9.9.9-1" };
  const lines = gunzipSync(readFileSync(join(VULNDB, "debian-dsa-osv.jsonl.gz")))
    .toString("utf8")
    .split("\n")
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as {
          id: string;
          affected: { package: { ecosystem: string; name: string } }[];
        },
    )
    .filter((r) => r.id in wanted)
    .map((r) => ({
      ...r,
      affected: [
        {
          package: { ecosystem: "Debian:12", name: r.affected[0]?.package.name },
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: wanted[r.id] }] }],
        },
      ],
    }));
  expect(lines.map((r) => r.id).sort()).toEqual(["DSA-2669-1", "DSA-740-1"]);
  const file = join(tempDir(), "retargeted.jsonl");
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n"));
  return file;
}
