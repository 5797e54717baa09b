import { describe, expect, it } from "vitest";
import type { LinkReport, Stage } from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import type { Issue } from "../core/issues.js";
import type { VexStatement } from "../vex/index.js";
import { keyOfFinding } from "../vex/index.js";
import type { Finding } from "../vuln/index.js";
import { kevToRecords } from "../vuln/sources/index.js";
import { evidenceSignaturesCheck } from "./checks.js";
import { remediationDeadline } from "./deadlines.js";
import type { EvidenceBundle } from "./evidence.js";
import { fedrampReadyCheck } from "./fedramp.js";

/**
 * Wrong verdicts corrected: a known exploited finding whose CISA due date is not a date
 * ("2022-02-30" passed the YYYY-MM-DD pattern) made FedRAMP-ready throw instead of answering,
 * and the POA&M silently fell back to FedRAMP's timeframe as if KEV did not apply. The catalog
 * import now skips such an entry, and the checks say the deadline cannot be told. And
 * "Evidence signed and logged" said each link verified without naming the links that are
 * stale.
 */
const IMAGE = `sha256:${"ab".repeat(32)}` as Digest;
const D = (n: number): Digest => `sha256:${String(n).padStart(2, "0").repeat(32)}` as Digest;
const STAGES: Stage[] = ["provenance", "sbom", "scan", "vex", "policy", "deployment"];

function bundle(
  findings: Finding[],
  statuses: VexStatement["status"],
  stale?: Stage,
): EvidenceBundle {
  const links: LinkReport[] = STAGES.map((stage, i) =>
    stage === "policy" || stage === "deployment"
      ? { stage, state: "not-recorded" }
      : {
          stage,
          state: stage === stale ? "stale" : "valid",
          ...(stage === stale
            ? { reason: `${stage} is older than the newest SBOM: re-run it` }
            : {}),
          attestation: D(i * 2 + 1),
          evidence: D(i * 2 + 2),
          signers: ["key"],
          logIndex: i,
          created: "2026-01-01T00:00:00.000Z",
          predicate: {
            stage,
            created: "2026-01-01T00:00:00.000Z",
            tool: "cleanimg",
            evidence: { digest: D(i * 2 + 2), mediaType: "application/json" },
            previous: [],
            inputs: stage === "scan" ? { dbSnapshot: D(90) } : {},
          },
        },
  );
  return {
    image: { reference: "app:1", digest: IMAGE, manifestKnown: true },
    chain: { image: IMAGE, links, intact: true, ready: stale === undefined },
    now: new Date("2026-02-01T00:00:00Z"),
    requirements: { configFile: "/home/config.json" },
    scan: { findings },
    vex: {
      statements: findings.map((f) => ({
        vulnerability: f.id,
        aliases: f.aliases,
        product: { purl: "pkg:oci/app", digest: IMAGE },
        subcomponent: { purl: f.package.purl, name: f.package.name, version: f.package.version },
        status: statuses,
        timestamp: "2026-01-01T00:00:00Z",
        author: "cleanimg",
      })),
    },
    signature: { kind: "none" },
    base: { kind: "none", reason: "none" },
    build: { hermetic: "unknown", isolated: "unknown", detail: "", evidence: [] },
    signingKey: "key",
    remediation: {
      firstDetected: new Map(findings.map((f) => [keyOfFinding(f), "2026-01-20T00:00:00.000Z"])),
      database: { snapshot: D(90), records: 10 },
    },
  };
}

const finding = (dueDate?: string): Finding =>
  ({
    id: "CVE-2022-33891",
    aliases: [],
    source: "osv",
    package: {
      id: "p",
      name: "pyspark",
      version: "3.2.1",
      purl: "pkg:pypi/pyspark@3.2.1",
      type: "python",
    },
    matchedAs: { ecosystem: "PyPI", name: "pyspark" },
    status: "affected",
    reason: "in range",
    rating: { severity: "HIGH", from: "cvss" },
    flags: [],
    ...(dueDate
      ? { knownExploited: { cveID: "CVE-2022-33891", dateAdded: "2022-01-01", dueDate } }
      : {}),
  }) as Finding;

describe("known exploited findings with a due date that is not a date", () => {
  it("the KEV import skips the entry and says why", () => {
    const issues: Issue[] = [];
    const records = kevToRecords(
      {
        catalogVersion: "1",
        vulnerabilities: [
          { cveID: "CVE-2022-33891", dateAdded: "2022-03-07", dueDate: "2022-02-30" },
          { cveID: "CVE-2021-44228", dateAdded: "2021-12-10", dueDate: "2021-12-24" },
        ],
      },
      "kev.json",
      issues,
    );
    expect(records.map((r) => r.id)).toEqual(["CVE-2021-44228"]);
    expect(issues.map((i) => i.message).join("\n")).toMatch(/CVE-2022-33891 .*skipped/);
  });

  it("FedRAMP ready answers UNKNOWN for the deadline, naming the finding, instead of throwing", () => {
    const c = fedrampReadyCheck(bundle([finding("2022-02-30")], "affected"));
    expect(c.result).toBe("UNKNOWN");
    expect(c.detail).toMatch(
      /UNKNOWN remediation deadlines: .*CVE-2022-33891 is known exploited, but CISA's due date "2022-02-30" is not a date/,
    );
  });

  it("an overdue KEV finding still fails, and a readable one is dated by CISA's date", () => {
    const c = fedrampReadyCheck(bundle([finding("2026-01-25")], "affected"));
    expect(c.result).toBe("FAIL");
    expect(c.detail).toMatch(
      /CVE-2022-33891 \(HIGH, known exploited \(CISA KEV\), due 2026-01-25T23:59:59.999Z\)/,
    );
  });

  it("the POA&M deadline says the KEV date is unreadable, not that FedRAMP's timeframe applies", () => {
    const d = remediationDeadline("HIGH", "2026-01-20T00:00:00.000Z", { dueDate: "2022-13-01" });
    expect(d.rule).toBe("kev-unreadable");
    expect(d.dueBy).toBe("2026-02-19T00:00:00.000Z");
    expect(
      remediationDeadline("HIGH", "2026-01-20T00:00:00.000Z", { dueDate: "2026-01-25" }),
    ).toEqual({
      dueBy: "2026-01-25T23:59:59.999Z",
      days: 30,
      rule: "kev",
    });
  });
});

describe("evidence signed and logged, with a stale link", () => {
  it("passes on the verified signatures and names the stale link", () => {
    const c = evidenceSignaturesCheck(bundle([], "affected", "scan"));
    expect(c.result).toBe("PASS");
    expect(c.detail).toMatch(/4 links, each signature verified/);
    expect(c.detail).toMatch(/stale: scan \(scan is older than the newest SBOM/);
  });
});
