import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  complianceReport,
  createAppContext,
  importVulnData,
  renderCycloneDxVulnerabilities,
  renderSarif,
  scan,
  TOOL,
} from "../../src/app/index.js";
import { renderOscalPoam } from "../../src/compliance/index.js";
import { offlineBuild } from "../negative/offline-build.js";
import { cycloneDxValidator, oscalValidator, sarifValidator } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

/**
 * Findings CISA's Known Exploited Vulnerabilities catalog lists carry "known exploited" and its
 * BOD 22-01 due date; `--fail-on kev` fails on them. Real data: the corpus's PyPI advisories and
 * KEV catalog (pyspark 3.2.1: PYSEC-2022-236, CVE-2022-33891, in the catalog).
 */
const VULNDB = "/work/shared/corpus/vulndb";
const KEV = join(VULNDB, "kev/known_exploited_vulnerabilities.json.gz");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const TSX = pathToFileURL(
  resolve(import.meta.dirname, "../../node_modules/tsx/dist/loader.mjs"),
).href;
const catalog = JSON.parse(gunzipSync(readFileSync(KEV)).toString("utf8")) as {
  vulnerabilities: { cveID: string; dateAdded: string; dueDate: string }[];
};
const kevOf = new Map(catalog.vulnerabilities.map((v) => [v.cveID, v]));
const site = (name: string, version: string) => ({
  [`site/${name}-${version}.dist-info/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
});
const SPEC = (image: string) =>
  `image: ${image}\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n`;

describe("known exploited vulnerabilities (CISA KEV)", () => {
  let home: string;
  let ctx: AppContext;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", TSX, MAIN, ...args], {
      encoding: "utf8",
      env: { ...process.env, CLEANIMG_HOME: home, SOURCE_DATE_EPOCH: "1700000000" },
    });

  beforeAll(async () => {
    home = tempDir("cleanimg-kev-");
    ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz"), KEV]);
    await offlineBuild(ctx, SPEC("spark:1.0.0"), site("pyspark", "3.2.1"));
    await offlineBuild(ctx, SPEC("req:1.0.0"), site("requests", "2.28.1"));
  }, 300_000);
  afterAll(async () => {
    await ctx.close();
  });

  it("marks exactly the findings whose CVE the catalog lists, with its dates", async () => {
    const r = await scan(ctx, "spark:1.0.0");
    expect(r.findings.length).toBeGreaterThan(1);
    for (const f of r.findings) {
      const listed = [f.id, ...f.aliases].map((a) => kevOf.get(a)).filter((v) => v !== undefined);
      if (listed.length === 0) {
        expect(f.knownExploited).toBeUndefined();
      } else {
        expect(f.knownExploited?.dueDate).toBe(listed.map((v) => v.dueDate).sort()[0]);
        expect(listed.map((v) => v.dateAdded)).toContain(f.knownExploited?.dateAdded);
      }
    }
    const marked = r.findings.filter((f) => f.knownExploited);
    expect(marked.map((f) => f.id)).toContain("PYSEC-2022-236");
    // carried into SARIF and CycloneDX, each valid against its schema
    const sarif = JSON.parse(renderSarif(r.findings, TOOL, "spark:1.0.0"));
    expect(sarifValidator()(sarif)).toEqual([]);
    const res = sarif.runs[0].results.find(
      (x: { ruleId: string }) => x.ruleId === "PYSEC-2022-236",
    );
    expect(res.properties.kevDueDate).toBe(kevOf.get("CVE-2022-33891")?.dueDate);
    const bom = JSON.parse(renderCycloneDxVulnerabilities(r.sbom, r.findings));
    expect(cycloneDxValidator("1.6")(bom)).toEqual([]);
    const v = bom.vulnerabilities.find((x: { id: string }) => x.id === "PYSEC-2022-236");
    expect(v.properties).toContainEqual({
      name: "cisa:kev:dueDate",
      value: kevOf.get("CVE-2022-33891")?.dueDate,
    });
  });

  it("--fail-on kev exits 1 on a known exploited finding, 0 when findings are not known exploited", () => {
    const spark = cli("scan", "spark:1.0.0", "--fail-on", "kev");
    expect(spark.status, spark.stderr).toBe(1);
    expect(spark.stdout).toMatch(/KNOWN EXPLOITED/);
    expect(spark.stdout).toMatch(/PYSEC-2022-236\s+due \d{4}-\d{2}-\d{2}/);
    expect(spark.stderr).toMatch(/known exploited findings \(CISA KEV\) not resolved by VEX/);
    const req = cli("--json", "scan", "req:1.0.0", "--fail-on", "kev");
    expect(req.status, req.stderr).toBe(0);
    const doc = JSON.parse(req.stdout);
    expect(doc.findings.length).toBeGreaterThan(0);
    expect(doc.findings.some((f: { knownExploited?: unknown }) => f.knownExploited)).toBe(false);
    expect(cli("scan", "req:1.0.0", "--fail-on", "exploited").status).toBe(2);
  }, 120_000);

  it("puts the KEV rule into the POA&M, valid OSCAL", async () => {
    const { report } = await complianceReport(ctx, "spark:1.0.0", "fedramp-moderate");
    const poam = JSON.parse(renderOscalPoam(report, TOOL.name));
    expect(oscalValidator("poam")(poam)).toEqual([]);
    const items = poam["plan-of-action-and-milestones"]["poam-items"] as {
      title: string;
      props: { name: string; value: string }[];
    }[];
    const tracking = (t: string) =>
      items
        .find((i) => i.title.includes(t))
        ?.props.find((p) => p.name === "binding-operational-directive-22-01-tracking")?.value;
    expect(tracking("PYSEC-2022-236")).toBe("yes");
    const other = report.remediation.find((x) => !x.knownExploited);
    expect(other).toBeDefined();
    expect(tracking(other?.id as string)).toBe("no");
  });
});
