import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, evaluatePolicy, parsePolicy } from "./policy.js";

/** An input document that satisfies every default rule (the shape policyInput assembles). */
const good = () => ({
  image: {
    name: "docker.io/library/app:1.0.0",
    digest: `sha256:${"a".repeat(64)}`,
    provenance: { present: true, verified: true, level: 1, slsaVersion: "v1.0", builder: "b" },
    sbom: { present: true, verified: true, format: "spdx-3.0.1", packages: 4 },
    vulnerabilities: [{ id: "CVE-1", severity: "HIGH", status: "not_affected" }],
    vex: {
      present: true,
      verified: true,
      complete: true,
      unassessedPackages: 0,
      statements: 1,
      affected: 0,
    },
    signature: { present: true, valid: true, signer: "k1" },
    build: {
      present: true,
      tool: "cleanimg",
      reproducible: true,
      hermetic: true as boolean | "unknown",
      isolated: false as boolean | "unknown",
    },
    base: { name: "scratch", digest: "", approved: true },
    chain: { intact: true },
  },
  trust: { signingKey: "k1" },
});

type Doc = ReturnType<typeof good>;
const cases: [string, (d: Doc) => void, string][] = [
  ["require_slsa_provenance", (d) => (d.image.provenance.level = 0), "image.provenance"],
  ["require_slsa_provenance", (d) => (d.image.provenance.verified = false), "image.provenance"],
  ["require_sbom", (d) => (d.image.sbom.format = "cyclonedx-1.6"), "image.sbom"],
  ["require_sbom", (d) => (d.image.sbom.verified = false), "image.sbom"],
  ["require_vulnerability_assessment", (d) => (d.image.vex.affected = 2), "image.vex"],
  ["require_vulnerability_assessment", (d) => (d.image.vex.complete = false), "image.vex"],
  ["require_signature", (d) => (d.image.signature.valid = false), "image.signature"],
  ["require_signature", (d) => (d.image.signature.signer = "someone-else"), "image.signature"],
  ["require_secure_build", (d) => (d.image.build.hermetic = false), "image.build"],
  // what the provenance does not show is "unknown", and never passes
  ["require_secure_build", (d) => (d.image.build.hermetic = "unknown"), "image.build"],
  ["require_secure_build", (d) => (d.image.build.tool = "docker"), "image.build"],
];

describe("the default policy (the design's rules in CEL)", () => {
  it("allows an image whose evidence satisfies every rule", () => {
    const d = evaluatePolicy(DEFAULT_POLICY, good());
    expect(d.rules.map((r) => [r.name, r.result])).toEqual(
      DEFAULT_POLICY.rules.map((r) => [r.name, "pass"]),
    );
    expect(d.allow).toBe(true);
  });

  it.each(cases)(
    "%s fails alone, explaining what it requires and what it looked at",
    (rule, spoil, path) => {
      const doc = good();
      spoil(doc);
      const d = evaluatePolicy(DEFAULT_POLICY, doc);
      expect(d.allow).toBe(false);
      expect(d.rules.filter((r) => r.result !== "pass").map((r) => r.name)).toEqual([rule]);
      const r = d.rules.find((x) => x.name === rule);
      expect(r?.result).toBe("fail");
      expect(r?.message).toBe(DEFAULT_POLICY.rules.find((x) => x.name === rule)?.message);
      expect(r?.observed?.[path]).toEqual(
        path.split(".").reduce((o: unknown, k) => (o as Record<string, unknown>)[k], doc),
      );
    },
  );

  it("takes approved signers and levels from parameters", () => {
    expect(evaluatePolicy(DEFAULT_POLICY, good(), { approvedSigners: ["k2"] }).allow).toBe(false);
    expect(evaluatePolicy(DEFAULT_POLICY, good(), { approvedSigners: ["k1", "k2"] }).allow).toBe(
      true,
    );
    expect(evaluatePolicy(DEFAULT_POLICY, good(), { minSlsaBuildLevel: 3 }).rules[0]?.result).toBe(
      "fail",
    );
  });

  it("denies when a rule cannot be evaluated (a field missing), never allows by accident", () => {
    const doc = good() as Record<string, unknown>;
    delete (doc["image"] as Record<string, unknown>)["build"];
    const d = evaluatePolicy(DEFAULT_POLICY, doc);
    expect(d.allow).toBe(false);
    const r = d.rules.find((x) => x.name === "require_secure_build");
    expect(r?.result).toBe("error");
    expect(r?.error).toMatch(/build/);
  });
});

describe("policy files", () => {
  it("reads a CEL policy in YAML and evaluates it", () => {
    const p = parsePolicy(
      "name: no-critical\nrules:\n  - name: no_critical\n    expression: input.image.vulnerabilities.all(v, v.severity != 'CRITICAL' || v.status != 'affected')\n    message: no affected critical vulnerability\n    looksAt: [image.vulnerabilities]\n",
      "p.yaml",
    );
    expect(evaluatePolicy(p, good()).allow).toBe(true);
    const bad = good();
    bad.image.vulnerabilities = [{ id: "CVE-9", severity: "CRITICAL", status: "affected" }];
    expect(evaluatePolicy(p, bad).rules[0]?.observed?.["image.vulnerabilities"]).toEqual(
      bad.image.vulnerabilities,
    );
  });

  it("reports a syntax error with the rule's name before evaluating anything", () => {
    expect(() =>
      parsePolicy("rules:\n  - name: broken\n    expression: 'input.image +'\n", "p.yaml"),
    ).toThrow(/p.yaml: rule broken: expression at 1:/);
    expect(() => parsePolicy("rules: []\n", "p.yaml")).toThrow(/needs a list of rules/);
  });
});
