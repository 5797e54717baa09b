import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildImage,
  complianceReport,
  createAppContext,
  evaluateImagePolicy,
  evidenceSummary,
  importVulnData,
  scan,
} from "../../src/app/index.js";
import type { ComplianceReport } from "../../src/compliance/index.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const REF = "pyapp:1.0.0";
const env = { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" };

/**
 * A report rests on the verified chain, as the status does: its chain check is not PASS on a
 * stale chain, a finding's first detection is the signed time of a verified scan link (not the
 * store's unsigned row time), and "known exploited" comes from the verified scan document, not
 * from a scan row nobody signed.
 */
describe("report: the chain check, first detections and KEV from signed evidence only", () => {
  let base: string;
  let started: number;

  const copy = (): string => {
    const home = tempDir("cleanimg-neg-detect-");
    rmSync(home, { recursive: true, force: true });
    cpSync(base, home, { recursive: true });
    return home;
  };
  const report = async (home: string): Promise<ComplianceReport> => {
    const ctx = createAppContext({ home, env });
    try {
      return (await complianceReport(ctx, REF, "fedramp")).report;
    } finally {
      await ctx.close();
    }
  };
  const requests = (r: ComplianceReport) => {
    const risk = r.riskAssessment.find((x) => x.package === "requests");
    expect(risk, "the requests finding is in the report").toBeDefined();
    return risk as NonNullable<typeof risk>;
  };

  beforeAll(async () => {
    started = Date.now();
    base = tempDir("cleanimg-neg-detect-base-");
    const dir = tempDir("cleanimg-neg-detect-ctx-");
    const meta = join(
      dir,
      "ctx",
      "usr/local/lib/python3.11/dist-packages/requests-2.28.1.dist-info",
    );
    mkdirSync(meta, { recursive: true });
    writeFileSync(
      join(meta, "METADATA"),
      "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n",
    );
    writeFileSync(join(dir, "cleanimg.yaml"), `image: ${REF}\nfiles:\n  - src: ctx/\n    dst: /\n`);
    const ctx = createAppContext({ home: base, env });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") });
    await scan(ctx, REF);
    await evaluateImagePolicy(ctx, REF);
    await ctx.close();
  }, 300_000);

  it("on intact evidence: the chain check passes and the finding is first detected at the scan", async () => {
    const r = await report(copy());
    expect(r.checks.find((c) => c.id === "chain")).toMatchObject({ result: "PASS" });
    const risk = requests(r);
    expect(Date.parse(risk.firstDetected)).toBeGreaterThanOrEqual(started - 1000);
    expect(risk.knownExploited).toBeUndefined();
  });

  it("a scan after the policy decision leaves the decision stale: the chain check is not PASS", async () => {
    const home = copy();
    const ctx = createAppContext({ home, env });
    await scan(ctx, REF);
    await ctx.close();
    const chain = (await report(home)).checks.find((c) => c.id === "chain");
    expect(chain?.detail).toMatch(/stale/);
    expect(chain?.result).not.toBe("PASS");
  });

  it("the store's row times moved back: first detection stays the signed scan time", async () => {
    const home = copy();
    const db = new Database(join(home, "evidence", "index.db"));
    const moved = db
      .prepare("UPDATE links SET created_at = '2001-01-01T00:00:00.000Z' WHERE kind = 'vuln-scan'")
      .run().changes;
    db.close();
    expect(moved).toBeGreaterThan(0);
    const risk = requests(await report(home));
    expect(risk.firstDetected).not.toMatch(/^2001-/);
    expect(Date.parse(risk.firstDetected)).toBeGreaterThanOrEqual(started - 1000);
  });

  it("an unsigned scan row marking the finding known exploited does not make it KEV", async () => {
    const home = copy();
    const ctx = createAppContext({ home, env });
    const store = ctx.evidence();
    const [row] = await store.find({ kind: "vuln-scan" });
    expect(row).toBeDefined();
    const doc = JSON.parse(
      new TextDecoder().decode((await store.getBlob(row?.evidence as never)).bytes),
    ) as { findings: Record<string, unknown>[] };
    for (const f of doc.findings) {
      f["knownExploited"] = { dateAdded: "2001-01-01", dueDate: "2001-01-22" };
    }
    const forged = await store.putBlob(
      new TextEncoder().encode(JSON.stringify(doc)),
      "application/vnd.cleanimg.vuln-scan.v1+json",
    );
    await store.link(row?.subject as never, forged, "vuln-scan");
    await ctx.close();
    const r = await report(home);
    expect(requests(r).knownExploited).toBeUndefined();
    expect(JSON.stringify(r.remediation)).not.toMatch(/2001-01-22/);
  });

  it("a reproducibility row naming another signed attestation is not reproducibility evidence", async () => {
    const home = copy();
    const ctx = createAppContext({ home, env });
    const store = ctx.evidence();
    const [sig] = await store.find({ kind: "image-signature" });
    expect(sig).toBeDefined();
    // a bundle a trusted key did sign, but as the image's signature, not a rebuild's record
    await store.link(sig?.subject as never, sig?.evidence as never, "reproducibility");
    const repro = (await evidenceSummary(ctx, REF)).evidence.REPRO;
    await ctx.close();
    expect(repro.present).toBe(false);
    expect(repro.detail).toMatch(/not a reproducibility one/);
  });
});
