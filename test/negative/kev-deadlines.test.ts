import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  complianceReport,
  complianceStatus,
  createAppContext,
  importVulnData,
  scan,
} from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";
import { offlineBuild } from "./offline-build.js";

/**
 * Wrong claim corrected: a finding CISA's KEV catalog lists (pyspark 3.2.1, PYSEC-2022-236,
 * CVE-2022-33891) was given FedRAMP's 30 days from first detection, so the POA&M set a deadline
 * long after the catalog's BOD 22-01 due date and FedRAMP-ready said nothing was overdue. A
 * known exploited finding is due by the catalog's due date when that is sooner.
 */
const VULNDB = "/work/shared/corpus/vulndb";
const KEV = join(VULNDB, "kev/known_exploited_vulnerabilities.json.gz");
const due = (
  JSON.parse(gunzipSync(readFileSync(KEV)).toString("utf8")) as {
    vulnerabilities: { cveID: string; dueDate: string }[];
  }
).vulnerabilities.find((v) => v.cveID === "CVE-2022-33891")?.dueDate as string;

describe("remediation deadlines of known exploited findings", () => {
  let ctx: AppContext;
  beforeAll(async () => {
    ctx = createAppContext({
      home: tempDir("cleanimg-neg-kev-"),
      env: { SOURCE_DATE_EPOCH: "1700000000" },
    });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz"), KEV]);
    await offlineBuild(
      ctx,
      "image: spark:1.0.0\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
      {
        "site/pyspark-3.2.1.dist-info/METADATA":
          "Metadata-Version: 2.1\nName: pyspark\nVersion: 3.2.1\n",
      },
    );
    await scan(ctx, "spark:1.0.0");
  }, 300_000);
  afterAll(async () => {
    await ctx.close();
  });

  it("the POA&M deadline is CISA's due date, not 30 days from detection", async () => {
    const { report } = await complianceReport(ctx, "spark:1.0.0", "fedramp-moderate");
    const item = report.remediation.find((x) => x.id === "PYSEC-2022-236");
    expect(item).toBeDefined();
    const fedramp = Date.parse(item?.firstDetected as string) + (item?.days as number) * 86_400_000;
    expect(Date.parse(`${due}T23:59:59.999Z`)).toBeLessThan(fedramp);
    expect(item?.dueBy).toBe(`${due}T23:59:59.999Z`);
  });

  it("FedRAMP ready names the known exploited finding as past its deadline", async () => {
    const s = await complianceStatus(ctx, "spark:1.0.0");
    const check = s.checks.find((c) => c.id === "fedramp-ready");
    expect(check?.result).toBe("FAIL");
    expect(check?.detail).toMatch(
      /FAIL remediation deadlines: \d+ unresolved past the deadline: [^;]*PYSEC-2022-236 \([^,]+, known exploited \(CISA KEV\)/,
    );
  });
});
