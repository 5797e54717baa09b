// Makes docs/report-screenshot.png: the first page of an HTML compliance report (FedRAMP Rev5
// High) of a small image built and scanned here, rendered by headless Chromium (Debian chromium).
// Run: node --import tsx scripts/report-screenshot.ts
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  buildImage,
  complianceReport,
  createAppContext,
  evaluateImagePolicy,
  importVulnData,
  renderReportHtml,
  scan,
} from "../src/app/index.js";

const ROOT = resolve(import.meta.dirname, "..");
const work = mkdtempSync(join(tmpdir(), "cleanimg-shot-"));
try {
  const ctxDir = join(work, "ctx");
  const info = join(ctxDir, "site", "requests-2.28.1.dist-info");
  mkdirSync(info, { recursive: true });
  writeFileSync(join(info, "METADATA"), "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n");
  writeFileSync(
    join(ctxDir, "cleanimg.yaml"),
    "image: registry.example/payments/api:1.4.2\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
  );
  const ctx = createAppContext({
    home: join(work, "home"),
    env: { CLEANIMG_CACHE: join(ROOT, ".cache", "build-cache"), SOURCE_DATE_EPOCH: "1700000000" },
  });
  await importVulnData(ctx, [resolve(ROOT, "../shared/corpus/vulndb/pypi-osv.jsonl.gz")]);
  await buildImage(ctx, { spec: join(ctxDir, "cleanimg.yaml") });
  const ref = "registry.example/payments/api:1.4.2";
  await scan(ctx, ref);
  await evaluateImagePolicy(ctx, ref);
  const { report } = await complianceReport(ctx, ref, "fedramp-high");
  await ctx.close();
  writeFileSync(join(work, "report.html"), renderReportHtml(report));
  execFileSync(
    "chromium",
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      `--user-data-dir=${join(work, "profile")}`,
      "--window-size=1280,1100",
      `--screenshot=${join(ROOT, "docs", "report-screenshot.png")}`,
      `file://${join(work, "report.html")}`,
    ],
    { stdio: "ignore" },
  );
  console.log("wrote docs/report-screenshot.png");
} finally {
  rmSync(work, { recursive: true, force: true });
}
