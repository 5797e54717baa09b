import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { untarMembers } from "../app/vulndb.js";
import { VulnDb } from "./db.js";
import { dataFreshness, distroSupport, parseDuration } from "./freshness.js";

const PYPI = resolve(import.meta.dirname, "../../../shared/corpus/vulndb/pypi-osv.jsonl.gz");
const DAY = 86_400_000;

describe("the data's age", () => {
  it("parses durations and refuses what is not one", () => {
    expect(parseDuration("5d")).toBe(5 * DAY);
    expect(parseDuration("36h")).toBe(36 * 3_600_000);
    expect(parseDuration("2w")).toBe(14 * DAY);
    for (const bad of ["5", "d", "-1d", "1.5d", "5 days"]) {
      expect(() => parseDuration(bad)).toThrow(/is not a duration/);
    }
  });

  it("takes the newest record's modified time as the build time, stale past the maximum age", async () => {
    const newest = gunzipSync(readFileSync(PYPI))
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { modified?: string }).modified ?? "")
      .sort((a, b) => Date.parse(a || "0") - Date.parse(b || "0"))
      .at(-1) as string;
    const db = VulnDb.open(mkdtempSync(join(tmpdir(), "vulndb-age-")));
    try {
      await db.import([PYPI], untarMembers);
      const built = Date.parse(newest);
      const fresh = dataFreshness(db.status(), new Date(built + 4 * DAY));
      expect(Date.parse(fresh.built as string)).toBe(built);
      expect(fresh).toMatchObject({ ageDays: 4, maxAgeDays: 5, stale: false, staleSources: [] });
      const old = dataFreshness(db.status(), new Date(built + 6 * DAY));
      expect(old).toMatchObject({ ageDays: 6, stale: true, staleSources: ["osv:PYSEC"] });
      expect(dataFreshness(db.status(), new Date(built + 6 * DAY), 7 * DAY).stale).toBe(false);
    } finally {
      db.close();
    }
  });
});

describe("a distribution release's end of life, from distro-info-data", () => {
  const csv = "/usr/share/distro-info/debian.csv";
  const rows = readFileSync(csv, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","))
    .filter((r) => r[0] && r[5] && r[6]);

  it("reads each release's dates from the CSV: supported, regular support ended, end of life", () => {
    expect(rows.length).toBeGreaterThan(3);
    for (const r of rows) {
      const [version, , series, , , eol, lts] = r as string[];
      const d = { id: "debian", versionId: version as string, versionCodename: series as string };
      const at = (date: string, days: number) =>
        new Date(Date.parse(`${date}T12:00:00Z`) + days * DAY);
      expect(distroSupport(d, at(eol as string, -1))).toMatchObject({
        state: "supported",
        eol,
        eolExtended: lts,
      });
      expect(distroSupport(d, at(eol as string, 1))?.state).toBe(
        (lts as string) > (eol as string) ? "regular support ended" : "end of life",
      );
      const past = distroSupport(d, at(lts as string, 1));
      expect(past?.state).toBe("end of life");
      expect(past?.detail).toMatch(/past its end of life/);
    }
  });

  it("says the end of life is unknown without the file, or for a release it does not list", () => {
    const d = { id: "debian", versionId: "12", versionCodename: "bookworm" };
    expect(distroSupport(d, new Date(), "/nonexistent")).toMatchObject({
      state: "unknown",
      detail: expect.stringMatching(/end of life unknown: .*distro-info-data/),
    });
    expect(distroSupport({ id: "debian", versionId: "99" }, new Date())?.state).toBe("unknown");
    expect(distroSupport({ id: "wolfi" }, new Date())?.state).toBe("unknown");
  });
});
