import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildImage,
  complianceReport,
  createAppContext,
  createToken,
  evaluateImagePolicy,
  importVulnData,
  scan,
} from "../../src/app/index.js";
import { generateKeyPair } from "../../src/attest/index.js";
import type { ComplianceReport } from "../../src/compliance/index.js";
import { renderOscalAssessmentResults, renderReportMarkdown } from "../../src/compliance/index.js";
import { oscalValidator } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

/**
 * A report's "satisfied (scoped)" rests on verifications the report ran itself: with the audit
 * log tampered, AU-9(3) is not satisfied; with a published key that does not verify the image's
 * signature, SSDF PS.2 is not. The report lists the checks it ran, with their evidence.
 */
describe("report: satisfied only after the report's own verification", () => {
  let base: string;
  const REF = "static:1.0.0";

  const copy = (): string => {
    const home = tempDir("cleanimg-neg-report-");
    rmSync(home, { recursive: true, force: true });
    cpSync(base, home, { recursive: true });
    return home;
  };
  const report = async (home: string, fw: string, env = {}): Promise<ComplianceReport> => {
    const ctx = createAppContext({ home, env });
    try {
      return (await complianceReport(ctx, REF, fw)).report;
    } finally {
      await ctx.close();
    }
  };
  const control = (r: ComplianceReport, id: string) => r.controls.find((c) => c.id === id);
  const check = (r: ComplianceReport, id: string) => r.checks.find((c) => c.id === id);

  beforeAll(async () => {
    base = tempDir("cleanimg-neg-report-base-");
    const dir = tempDir("cleanimg-neg-report-ctx-");
    mkdirSync(join(dir, "ctx", "app"), { recursive: true });
    writeFileSync(join(dir, "ctx", "app", "config.txt"), "static\n");
    writeFileSync(join(dir, "cleanimg.yaml"), `image: ${REF}\nfiles:\n  - src: ctx/\n    dst: /\n`);
    const ctx = createAppContext({
      home: base,
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
    });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") });
    await scan(ctx, REF);
    await evaluateImagePolicy(ctx, REF);
    await createToken(ctx, { name: "ci", role: "reader" });
    await ctx.close();
  }, 300_000);

  it("on intact evidence: AU-9(3) and PS.2 satisfied, each citing the checks it ran and passed", async () => {
    const home = copy();
    const fed = await report(home, "fedramp");
    expect(check(fed, "audit-trail")).toMatchObject({ result: "PASS" });
    expect(check(fed, "audit-trail")?.evidence[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(control(fed, "au-9.3")).toMatchObject({
      status: "satisfied (scoped)",
      checks: ["audit-trail", "chain"],
    });
    const ssdf = await report(home, "ssdf");
    expect(check(ssdf, "published-key")).toMatchObject({ result: "PASS" });
    expect(control(ssdf, "ps.2")).toMatchObject({
      status: "satisfied (scoped)",
      checks: ["image-signature", "published-key"],
    });
    // every satisfied control rests on checks of this run that passed
    for (const r of [fed, ssdf]) {
      for (const c of r.controls.filter((x) => x.status === "satisfied (scoped)")) {
        expect(c.checks.length, c.id).toBeGreaterThan(0);
        for (const id of c.checks) {
          expect(check(r, id)?.result, `${c.id} ${id}`).toBe("PASS");
          expect(check(r, id)?.evidence.length, `${c.id} ${id}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it("with the audit log tampered, AU-9(3) is not satisfied and the report says why", async () => {
    const home = copy();
    // the last event (a token made after the image's evidence) is about no image and no later
    // event chains to it: the image's chain does not read it, only verifying the whole trail does
    const db = new Database(join(home, "evidence", "index.db"));
    const row = db
      .prepare("SELECT idx, entry FROM log_entries WHERE log='audit' ORDER BY idx DESC LIMIT 1")
      .get() as { idx: number; entry: Buffer };
    const e = JSON.parse(row.entry.toString());
    expect(e.event.action).toBe("token-create");
    e.event.actor = "someone-else";
    db.prepare("UPDATE log_entries SET entry = ? WHERE log='audit' AND idx=?").run(
      Buffer.from(JSON.stringify(e)),
      row.idx,
    );
    db.close();
    const r = await report(home, "fedramp");
    const au = control(r, "au-9.3");
    expect(au?.status).not.toBe("satisfied (scoped)");
    expect(au?.note).toMatch(/audit-trail FAIL/);
    expect(check(r, "audit-trail")).toMatchObject({ result: "FAIL" });
    expect(check(r, "audit-trail")?.detail).toMatch(/its signature does not verify/);
    // the checks are in the assessment results as observations, still valid OSCAL
    const doc = JSON.parse(renderOscalAssessmentResults(r, "t"));
    expect(oscalValidator("assessment-results")(doc)).toEqual([]);
    const obs = doc["assessment-results"].results[0].observations as { title: string }[];
    expect(obs.map((o) => o.title)).toContain("Check audit-trail: FAIL");
    expect(renderReportMarkdown(r)).toMatch(/\| audit-trail \| .* \| FAIL \|/);
  });

  it("with a published key that does not verify the image signature, PS.2 is not satisfied", async () => {
    const home = copy();
    // the key published for verification is not the one that signed
    writeFileSync(join(home, "keys", "signing.pub"), generateKeyPair("ecdsa-p256").publicPem);
    const r = await report(home, "ssdf");
    const ps2 = control(r, "ps.2");
    expect(ps2?.status).not.toBe("satisfied (scoped)");
    expect(ps2?.note).toMatch(/published-key FAIL: the published key .* does not verify/);
    expect(check(r, "published-key")).toMatchObject({ result: "FAIL" });
    expect(check(r, "image-signature")).toMatchObject({ result: "PASS" }); // the store trusts its key
    // the same through CLEANIMG_PUBLISHED_KEY, and by the design's command
    const other = join(tempDir(), "release.pub");
    writeFileSync(other, generateKeyPair("ecdsa-p256").publicPem);
    const home2 = copy();
    const out = join(tempDir(), "r.json");
    const cli = spawnSync(
      process.execPath,
      ["--import", "tsx", MAIN, "--compliance", "ssdf", "--image", REF, "--output", out],
      {
        encoding: "utf8",
        env: { ...process.env, CLEANIMG_HOME: home2, CLEANIMG_PUBLISHED_KEY: other },
      },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const json = JSON.parse(readFileSync(out, "utf8")) as ComplianceReport;
    expect(control(json, "ps.2")?.status).toBe("partial");
    expect(json.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining(["chain", "image-signature", "published-key", "audit-trail"]),
    );
    expect(check(json, "published-key")?.detail).toContain(other);
  });
});
