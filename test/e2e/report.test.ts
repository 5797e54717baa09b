import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  buildImage,
  complianceReport,
  createAppContext,
  evaluateImagePolicy,
  identities,
  importVulnData,
  scan,
  trustedKeys,
} from "../../src/app/index.js";
import { verifyEvidenceBundle } from "../../src/attest/index.js";
import {
  renderOscalAssessmentResults,
  renderOscalPoam,
  renderReportHtml,
  renderReportMarkdown,
} from "../../src/compliance/index.js";
import type { Digest } from "../../src/core/digest.js";
import { oscalValidator, SCHEMAS } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

/** Compliance reports of images built, scanned and judged for real. */
describe("compliance reports", () => {
  let home: string;
  let ctx: AppContext;

  const spec = (name: string, files: Record<string, string>): string => {
    const dir = tempDir("cleanimg-report-ctx-");
    for (const [p, body] of Object.entries(files)) {
      mkdirSync(join(dir, "ctx", p, ".."), { recursive: true });
      writeFileSync(join(dir, "ctx", p), body);
    }
    writeFileSync(
      join(dir, "cleanimg.yaml"),
      `image: ${name}\nfiles:\n  - src: ctx/\n    dst: /\n`,
    );
    return join(dir, "cleanimg.yaml");
  };

  beforeAll(async () => {
    home = tempDir("cleanimg-report-");
    ctx = createAppContext({
      home,
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
    });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    await buildImage(ctx, { spec: spec("static:1.0.0", { "app/config.txt": "static\n" }) });
    await scan(ctx, "static:1.0.0");
    await evaluateImagePolicy(ctx, "static:1.0.0");
    await buildImage(ctx, {
      spec: spec("pyapp:1.0.0", {
        "usr/local/lib/python3.11/dist-packages/requests-2.28.1.dist-info/METADATA":
          "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n",
      }),
    });
    await scan(ctx, "pyapp:1.0.0");
  }, 300_000);

  it("lists every control of FedRAMP Rev5 High (410, not the retired rev4 421) with a status", async () => {
    const { report } = await complianceReport(ctx, "static:1.0.0", "fedramp");
    expect(report.framework).toMatchObject({
      id: "fedramp-high",
      name: "FedRAMP Rev5 High",
      controls: 410,
    });
    expect(report.controls).toHaveLength(410);
    const { satisfiedScoped, partial, organizational } = report.summary;
    expect(satisfiedScoped + partial + organizational).toBe(410);
    expect(satisfiedScoped).toBeGreaterThan(0);
    expect(organizational).toBeGreaterThan(300);
    expect(report.summary.text).toMatch(/Not a compliance determination/);
    const by = Object.fromEntries(report.controls.map((c) => [c.id, c]));
    expect(by["ac-2"]?.status).toBe("requires organizational evidence");
    expect(by["cm-8"]?.status).toBe("partial");
    expect(by["au-9.3"]?.status).toBe("satisfied (scoped)"); // cleanimg's own records: signed, logged
    expect(by["au-9.3"]?.note).toMatch(/^scope: /);
    expect(by["sa-15.7"]).toBeUndefined(); // not in the FedRAMP baselines: never counted toward them
    expect(by["cm-14"]?.note).toMatch(/missing automated evidence: ADM/); // no admission records yet
  });

  it("cites, for every satisfied or partial control, evidence that exists and verifies", async () => {
    const { report } = await complianceReport(ctx, "static:1.0.0", "fedramp-high");
    const keys = await trustedKeys(ctx);
    const { log } = await identities(ctx);
    const store = ctx.evidence();
    let checked = 0;
    for (const c of report.controls.filter(
      (x) => x.status !== "requires organizational evidence",
    )) {
      expect(c.evidence.length, c.id).toBeGreaterThan(0);
      for (const e of c.evidence) {
        for (const d of e.digests) {
          const blob = await store.getBlob(d as Digest); // re-hashed on read
          if (blob.mediaType === "application/vnd.dev.sigstore.bundle.v0.3+json") {
            verifyEvidenceBundle(blob.bytes, keys, log);
          }
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("writes OSCAL assessment results valid against the OSCAL 1.2.1 schema", async () => {
    const validate = oscalValidator("assessment-results");
    for (const ref of ["static:1.0.0", "pyapp:1.0.0"]) {
      for (const fw of ["fedramp-high", "fedramp-moderate", "fedramp-low", "nist-800-53"]) {
        const { report } = await complianceReport(ctx, ref, fw);
        const doc = JSON.parse(renderOscalAssessmentResults(report, "cleanimg test"));
        expect(validate(doc), `${ref} ${fw}`).toEqual([]);
        const r = doc["assessment-results"].results[0];
        expect(r["reviewed-controls"]["control-selections"][0]["include-controls"]).toHaveLength(
          report.framework.controls,
        );
        const satisfied = r.findings.filter(
          (f: { target: { status: { state: string } } }) => f.target.status.state === "satisfied",
        );
        expect(satisfied.length).toBe(report.summary.satisfiedScoped);
      }
    }
  });

  it("carries the VEX risk assessment and FedRAMP remediation deadlines from first detection", async () => {
    const { report } = await complianceReport(ctx, "pyapp:1.0.0", "fedramp-high");
    expect(report.riskAssessment.length).toBeGreaterThan(0);
    expect(report.remediation.length).toBeGreaterThan(0);
    for (const r of report.remediation) {
      const days = { CRITICAL: 30, HIGH: 30, MEDIUM: 90, LOW: 180 }[r.severity] ?? 30;
      expect(r.days).toBe(days);
      expect(Date.parse(r.dueBy) - Date.parse(r.firstDetected)).toBe(days * 86_400_000);
    }
    expect(report.remediation.map((r) => r.id)).toContain("PYSEC-2023-74");
    expect(renderReportMarkdown(report)).toMatch(/PYSEC-2023-74 in requests 2.28.1/);
  });

  it("runs the design's command as written: --compliance fedramp --image … --output compliance-report.json", () => {
    const dir = tempDir();
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        MAIN,
        "--compliance",
        "fedramp",
        "--image",
        "static:1.0.0",
        "--output",
        join(dir, "compliance-report.json"),
      ],
      { encoding: "utf8", env: { ...process.env, CLEANIMG_HOME: home } },
    );
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "compliance-report.json"), "utf8"));
    expect(report.framework.controls).toBe(410);
    expect(r.stderr).toMatch(/FedRAMP Rev5 High, 410 controls/);
    const oscal = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        MAIN,
        "report",
        "fedramp-moderate",
        "--image",
        "static:1.0.0",
        "--format",
        "oscal-ar",
      ],
      { encoding: "utf8", env: { ...process.env, CLEANIMG_HOME: home } },
    );
    expect(oscalValidator("assessment-results")(JSON.parse(oscal.stdout))).toEqual([]);
  });

  it("writes an OSCAL plan of action and milestones valid against the OSCAL 1.2.1 schema", async () => {
    const validate = oscalValidator("poam");
    for (const ref of ["static:1.0.0", "pyapp:1.0.0"]) {
      const { report } = await complianceReport(ctx, ref, "fedramp-high");
      const doc = JSON.parse(renderOscalPoam(report, "cleanimg test"));
      expect(validate(doc), ref).toEqual([]);
      const poam = doc["plan-of-action-and-milestones"];
      if (ref === "pyapp:1.0.0") {
        expect(poam["poam-items"]).toHaveLength(report.remediation.length);
        expect(poam.risks.map((r: { deadline: string }) => r.deadline)).toEqual(
          report.remediation.map((x) => x.dueBy),
        );
      } else {
        expect(poam["poam-items"][0].title).toBe("No open findings");
      }
    }
  });

  it("writes one self-contained HTML page that headless Chromium renders", async () => {
    const { report } = await complianceReport(ctx, "pyapp:1.0.0", "fedramp-high");
    const html = renderReportHtml(report);
    expect(html).not.toMatch(/<(script|link)\b|src="http/); // nothing fetched: readable offline
    const dir = tempDir("cleanimg-html-");
    writeFileSync(join(dir, "report.html"), html);
    const chromium = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      `--user-data-dir=${join(dir, "profile")}`,
    ];
    const dom = execFileSync(
      "chromium",
      [...chromium, "--dump-dom", `file://${join(dir, "report.html")}`],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    expect(dom).toContain("FedRAMP Rev5 High, 410 controls");
    expect(dom).toContain("PYSEC-2023-74");
    execFileSync(
      "chromium",
      [
        ...chromium,
        "--window-size=1280,1000",
        `--screenshot=${join(dir, "shot.png")}`,
        `file://${join(dir, "report.html")}`,
      ],
      { stdio: "ignore" },
    );
    const png = readFileSync(join(dir, "shot.png"));
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(statSync(join(dir, "shot.png")).size).toBeGreaterThan(20_000);
  });

  it("reports on SSDF, EU CRA, ISO/IEC 27001:2022 and SOC 2, with ISO's A.14.2 found at 8.25-8.31", async () => {
    const validate = oscalValidator("assessment-results");
    const counts: Record<string, number> = { ssdf: 19, "eu-cra": 22, iso27001: 93, soc2: 33 };
    for (const [fw, n] of Object.entries(counts)) {
      const { report } = await complianceReport(ctx, "static:1.0.0", fw);
      expect(report.controls, fw).toHaveLength(n);
      expect(validate(JSON.parse(renderOscalAssessmentResults(report, "t"))), fw).toEqual([]);
    }
    const iso = (await complianceReport(ctx, "static:1.0.0", "iso27001")).report;
    const by = Object.fromEntries(iso.controls.map((c) => [c.id, c]));
    expect(by["a.8.25"]).toMatchObject({
      title: "Secure development life cycle",
      status: "partial",
    });
    expect(by["a.8.8"]).toMatchObject({
      title: "Management of technical vulnerabilities",
      status: "partial",
    });
    expect(iso.controls.some((c) => c.id.startsWith("a.14"))).toBe(false); // 2013 numbering
    const ssdf = (await complianceReport(ctx, "static:1.0.0", "ssdf")).report;
    expect(ssdf.controls.find((c) => c.id === "ps.2")?.status).toBe("satisfied (scoped)");
  });

  it("imports an OSCAL catalog or profile and reports against it", async () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
        encoding: "utf8",
        env: { ...process.env, CLEANIMG_HOME: home },
      });
    const catalogs = resolve(SCHEMAS, "../catalogs");
    const ssdfFile = join(catalogs, "nist-ssdf", "ssdf.catalog.oscal.json");
    // count the controls independently: every object with an id and a title under "controls"
    const count = (v: unknown): number =>
      Array.isArray(v)
        ? v.reduce((n: number, x) => n + count(x), 0)
        : v && typeof v === "object"
          ? Object.entries(v).reduce(
              (n, [k, x]) => n + (k === "controls" && Array.isArray(x) ? x.length : 0) + count(x),
              0,
            )
          : 0;
    const expected = count(JSON.parse(readFileSync(ssdfFile, "utf8")));
    const imp = cli("catalog", "import", ssdfFile, "--name", "ssdf-oscal", "--json");
    expect(imp.status, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout).controls).toBe(expected);
    const r = JSON.parse(cli("report", "ssdf-oscal", "--image", "static:1.0.0").stdout);
    expect(r.controls).toHaveLength(expected);
    expect(r.framework.source).toBe("imported from ssdf.catalog.oscal.json");
    const prof = cli(
      "catalog",
      "import",
      join(catalogs, "nist-800-53-rev5", "NIST_SP-800-53_rev5_MODERATE-baseline_profile.json"),
      "--name",
      "nist-moderate-profile",
      "--json",
    );
    expect(JSON.parse(prof.stdout).controls).toBe(287);
    const pr = JSON.parse(cli("report", "nist-moderate-profile", "--image", "static:1.0.0").stdout);
    expect(pr.controls.find((c: { id: string }) => c.id === "cm-8")).toMatchObject({
      title: "System Component Inventory",
      status: "partial",
    });
  });
});
