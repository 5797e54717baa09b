import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseVulnInput, SOURCES, type VulnSource } from "./index.js";

// The contract every input format keeps, on real data from the corpus where it has the format.
const CORPUS = resolve(import.meta.dirname, "../../../../shared/corpus/vulndb");
const firstLine = (file: string): Record<string, unknown> =>
  JSON.parse(
    gunzipSync(readFileSync(resolve(CORPUS, file)))
      .toString("utf8")
      .split("\n")[0] as string,
  ) as Record<string, unknown>;
const kev = JSON.parse(
  gunzipSync(readFileSync(resolve(CORPUS, "kev/known_exploited_vulnerabilities.json.gz"))).toString(
    "utf8",
  ),
) as Record<string, unknown>;
const alpineMain = gunzipSync(readFileSync(resolve(CORPUS, "alpine-secdb.jsonl.gz")))
  .toString("utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Record<string, unknown>)
  .find((d) => Array.isArray(d["packages"]) && (d["packages"] as unknown[]).length > 0);

// The tracker's JSON is too large for the corpus; this is one issue in its layout.
const tracker = {
  zlib: {
    "CVE-2023-45853": {
      description: "MiniZip in zlib through 1.3 has an integer overflow",
      scope: "local",
      releases: { bookworm: { status: "open", urgency: "unimportant", nodsa: "Minor issue" } },
    },
  },
};

const SAMPLES: Record<string, Record<string, unknown>> = {
  kev,
  "debian-tracker": tracker,
  "alpine-secdb": alpineMain as Record<string, unknown>,
  "debian-lists": firstLine("debian-dsa-list.jsonl.gz"),
  osv: firstLine("go-osv.jsonl.gz"),
};

const takerOf = (o: Record<string, unknown>): VulnSource | undefined =>
  SOURCES.find((s) => s.sniff(o, 1));

describe("vulnerability input formats (the VulnSource contract)", () => {
  it("has one sample per source, and distinct ids", () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(SOURCES.map((s) => s.id).sort());
    expect(new Set(SOURCES.map((s) => s.id)).size).toBe(SOURCES.length);
  });

  describe.each(SOURCES.map((s) => [s.id, s] as const))("%s", (id, source) => {
    const sample = SAMPLES[id] as Record<string, unknown>;

    it("is the first source to take its own format, and takes no other source's sample", () => {
      expect(takerOf(sample)?.id).toBe(id);
      for (const [other, o] of Object.entries(SAMPLES)) {
        if (other !== id) {
          expect(takerOf(o)?.id, `${id} on ${other}`).not.toBe(id);
        }
      }
      expect(source.sniff({ unrelated: true }, 1)).toBe(false);
    });

    it("turns its sample into records with ids, under named sources, the same way each time", () => {
      const issues: never[] = [];
      const once = source.toRecords([sample], "sample", issues);
      expect(once.size).toBeGreaterThan(0);
      for (const [name, records] of once) {
        expect(name).toMatch(/^[a-z]+:\S+$/);
        expect(records.length).toBeGreaterThan(0);
        expect(records.every((r) => typeof r.id === "string" && r.id.length > 0)).toBe(true);
      }
      expect(source.toRecords([sample], "sample", [])).toEqual(once);
      expect(source.what.length).toBeGreaterThan(0);
    });
  });

  it("names every format in the issue for input no source takes", async () => {
    const [only] = await parseVulnInput(
      new TextEncoder().encode('{"neither": 1}'),
      "x.json",
      async () => [],
    );
    expect(only?.source).toBe("unknown");
    const message = only?.issues[0]?.message ?? "";
    for (const s of SOURCES) {
      expect(message).toContain(s.what);
    }
  });
});
