import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { untarMembers } from "../app/vulndb.js";
import { VulnDb } from "./db.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const manifest = JSON.parse(readFileSync(join(VULNDB, "MANIFEST.json"), "utf8")) as {
  files: { file: string; records?: number }[];
};
const count = (file: string): number => manifest.files.find((f) => f.file === file)?.records ?? -1;

describe("vulnerability database import", () => {
  let dir: string;
  let db: VulnDb;
  let first: Awaited<ReturnType<VulnDb["import"]>>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "vulndb-"));
    db = VulnDb.open(dir);
    first = await db.import([VULNDB], untarMembers);
  });

  it("imports every record of every source in the corpus, with the MANIFEST's counts", () => {
    const by = Object.fromEntries(first.sources.map((s) => [s.source, s.records]));
    expect(by["osv:GO"]).toBe(count("go-osv.jsonl.gz"));
    expect(by["osv:PYSEC"]).toBe(count("pypi-osv.jsonl.gz"));
    expect(by["osv:RUSTSEC"]).toBe(count("crates-osv.jsonl.gz"));
    expect(by["osv:GHSA"]).toBe(count("ghsa-sample-osv.jsonl.gz"));
    expect(by["debian:DSA"]).toBe(count("debian-dsa-list.jsonl.gz"));
    expect(by["debian:DLA"]).toBe(count("debian-dla-list.jsonl.gz"));
    expect(by["debian:DTSA"]).toBe(count("debian-dtsa-list.jsonl.gz"));
    // Alpine: one record per CVE, from the MANIFEST's 12028 CVE references
    expect(by["alpine:secdb"]).toBeGreaterThan(1000);
    expect(first.snapshot).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(db.status().map((s) => s.source)).toContain("osv:GO");
  });

  it("gives no age to a source whose records carry only Go's zero time (0001-01-01), never one of 739,000 days", () => {
    // golang/vulndb's repository writes 0001-01-01T00:00:00Z for modified: no date at all
    const go = db.status().find((s) => s.source === "osv:GO");
    expect(go?.records).toBe(count("go-osv.jsonl.gz"));
    expect(go?.newestModified).toBeUndefined();
    const pysec = db.status().find((s) => s.source === "osv:PYSEC");
    expect(pysec?.newestModified).toMatch(/^2024-10-/);
  });

  it("reads the raw tracker list files into the same advisories as the corpus' parsed lists", async () => {
    const before = db.snapshot();
    const r = await db.import([join(VULNDB, "debian-security-tracker-lists.tar.gz")], untarMembers);
    const dsa = r.sources.find((s) => s.source === "debian:DSA");
    expect(dsa?.records).toBe(count("debian-dsa-list.jsonl.gz"));
    // the parsed lists in the corpus came from these files: the same records, nothing changed
    expect(dsa).toMatchObject({ added: 0 });
    expect((dsa?.changed ?? 0) / (dsa?.records ?? 1)).toBeLessThan(0.01);
    expect(r.issues.length).toBeLessThan(50);
    void before;
  });

  it("re-importing the same data changes nothing and keeps the snapshot; a changed record replaces the old", async () => {
    const snap = db.snapshot();
    const again = await db.import([join(VULNDB, "go-osv.jsonl.gz")], untarMembers);
    expect(again.sources[0]).toMatchObject({ added: 0, changed: 0 });
    expect(again.snapshot).toBe(snap);
    const lines = gunzipSync(readFileSync(join(VULNDB, "go-osv.jsonl.gz")))
      .toString()
      .split("\n")
      .filter(Boolean);
    const rec = JSON.parse(lines[0] as string);
    rec.summary = `${rec.summary} (edited)`;
    const f = join(dir, "edited.json");
    writeFileSync(f, JSON.stringify(rec));
    const edited = await db.import([f], untarMembers);
    expect(edited.sources[0]).toMatchObject({ records: 1, added: 0, changed: 1 });
    expect(edited.snapshot).not.toBe(snap);
    // the stored snapshot is the digest of the data as it now is
    expect(db.snapshot()).toBe(db.computeSnapshot());
    expect(db.snapshot()).toBe(edited.snapshot);
    expect(
      db.lookup("Go", rec.affected[0].package.name).find((h) => h.record.id === rec.id)?.record
        .summary,
    ).toContain("(edited)");
  });

  it("looks up a package by ecosystem and release, keeping the distribution's statuses", () => {
    const hits = db.lookup("Debian:11", "xorg-server").map((h) => h.record.id);
    expect(hits).toContain("DSA-5380-1");
    expect(db.lookup("Debian:10", "xorg-server").map((h) => h.record.id)).not.toContain(
      "DSA-5380-1",
    );
    const eol = db.lookup("Debian:8", "virtualbox").find((h) => h.record.id === "DSA-3699-1");
    expect(eol?.affected.database_specific?.["status"]).toBe("end-of-life");
    const pypi = db.lookup("PyPI", "Django");
    expect(pypi.length).toBeGreaterThan(10);
    expect(db.lookup("PyPI", "django").length).toBe(pypi.length);
  });
});
