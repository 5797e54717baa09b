import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  auditEvents,
  auditSummary,
  buildImage,
  createAppContext,
  evaluateImagePolicy,
  importVulnData,
  policyInput,
  recordDeployment,
  scan,
  verifyChain,
} from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

/**
 * Policies over the verified evidence of images built and scanned for real: one whose evidence
 * satisfies the design's rules, one whose Debian packages the database cannot assess.
 */
describe("policy evaluation on real evidence", () => {
  let home: string;
  let ctx: AppContext;

  const spec = (name: string, body: string): string => {
    const dir = tempDir("cleanimg-policy-ctx-");
    mkdirSync(join(dir, "app"));
    writeFileSync(join(dir, "app", "config.txt"), "static content\n");
    writeFileSync(join(dir, "cleanimg.yaml"), `image: ${name}\n${body}`);
    return join(dir, "cleanimg.yaml");
  };

  beforeAll(async () => {
    home = tempDir("cleanimg-policy-");
    ctx = createAppContext({
      home,
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
    });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    // no packages at all: nothing the database cannot assess, nothing affected
    await buildImage(ctx, {
      spec: spec("static:1.0.0", "files:\n  - src: app/\n    dst: /app/\n"),
    });
    await scan(ctx, "static:1.0.0");
    // Debian packages, for which the database has no Debian 12 data
    await buildImage(ctx, {
      spec: spec("hello:1.0.0", "packages: [hello]\nentrypoint: [/usr/bin/hello]\n"),
    });
    await scan(ctx, "hello:1.0.0");
  }, 300_000);

  it("assembles the input document from verified evidence", async () => {
    const { input } = await policyInput(ctx, "static:1.0.0");
    const image = input["image"] as Record<string, Record<string, unknown>>;
    expect(image["provenance"]).toMatchObject({ verified: true, level: 1, slsaVersion: "v1.0" });
    expect(image["sbom"]).toMatchObject({ verified: true, format: "spdx-3.0.1" });
    expect(image["vex"]).toMatchObject({ verified: true, complete: true, affected: 0 });
    expect(image["signature"]).toMatchObject({ present: true, valid: true });
    // hermetic as the verified provenance records it; not isolated: the assembly has no sandbox
    expect(image["build"]).toMatchObject({ tool: "cleanimg", hermetic: true, isolated: false });
  });

  it("allows an image whose evidence satisfies the design's rules, and records the decision in its chain", async () => {
    const r = await evaluateImagePolicy(ctx, "static:1.0.0");
    expect(r.decision.rules.map((x) => `${x.name} ${x.result}`)).toEqual([
      "require_slsa_provenance pass",
      "require_sbom pass",
      "require_vulnerability_assessment pass",
      "require_signature pass",
      "require_secure_build pass",
    ]);
    expect(r.decision.allow).toBe(true);
    const chain = await verifyChain(ctx, r.image.digest);
    expect(chain.intact).toBe(true);
    const policy = chain.links.find((l) => l.stage === "policy");
    expect(policy?.state).toBe("valid");
    expect(policy?.predicate?.previous.map((p) => p.stage)).toEqual([
      "provenance",
      "sbom",
      "scan",
      "vex",
    ]);
    expect(policy?.predicate?.inputs["decision"]).toBe("allow");
    const events = await auditEvents(ctx);
    expect(events.at(-1)).toMatchObject({
      action: "policy",
      details: { decision: "allow", stage: "policy" },
    });
  });

  it("denies an image whose packages could not be assessed, naming the rule and what it looked at", async () => {
    const r = await evaluateImagePolicy(ctx, "hello:1.0.0");
    expect(r.decision.allow).toBe(false);
    const failing = r.decision.rules.filter((x) => x.result !== "pass");
    expect(failing.map((x) => x.name)).toEqual(["require_vulnerability_assessment"]);
    expect(failing[0]?.observed?.["image.vex"]).toMatchObject({
      complete: false,
      unassessedPackages: 4,
    });
  });

  it("records deployments as the chain's last link; refuses a denied image unless forced, and the audit trail reports it", async () => {
    const ok = await recordDeployment(ctx, "static:1.0.0", { environment: "prod/payments" });
    expect(ok.approved).toBe(true);
    const chain = await verifyChain(ctx, (await policyInput(ctx, "static:1.0.0")).digest);
    expect(chain.intact).toBe(true);
    expect(chain.links.map((l) => l.state)).toEqual([
      "valid",
      "valid",
      "valid",
      "valid",
      "valid",
      "valid",
    ]);
    expect(
      chain.links.find((l) => l.stage === "deployment")?.predicate?.previous.map((p) => p.stage),
    ).toEqual(["policy"]);
    await expect(
      recordDeployment(ctx, "hello:1.0.0", { environment: "prod/payments" }),
    ).rejects.toThrow(/may not be deployed: the policy decision denies it/);
    const forced = await recordDeployment(ctx, "hello:1.0.0", {
      environment: "prod/payments",
      force: true,
    });
    expect(forced.approved).toBe(false);
    const { summary } = await auditSummary(ctx);
    expect(summary.deployments).toBe(2);
    expect(summary.deployedWithoutApproval).toBe(1);
  });

  it("a re-scan makes the recorded decision stale", async () => {
    await scan(ctx, "static:1.0.0");
    const { links } = await policyInput(ctx, "static:1.0.0");
    expect(links.find((l) => l.stage === "policy")?.state).toBe("stale");
  });

  it("says how to enable Rego when OPA is not installed", async () => {
    const rego = join(tempDir(), "compliance.rego");
    writeFileSync(rego, "package deployment\nallow := true\n");
    const env = { ...process.env, PATH: "/nonexistent" };
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", MAIN, "policy", "eval", "static:1.0.0", "--policy", rego],
      {
        encoding: "utf8",
        env: { ...env, CLEANIMG_HOME: home },
      },
    );
    expect(r.status).toBe(3); // the environment lacks the engine: operational, not usage
    expect(r.stderr).toMatch(/is a Rego policy, and OPA is not installed/);
    expect(r.stderr).toMatch(/install the opa executable/);
  });

  it("runs from the command line: exit 0 on allow, 1 on deny with the explanation; policy test", () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
        encoding: "utf8",
        env: { ...process.env, CLEANIMG_HOME: home, CLEANIMG_CACHE: CACHE },
      });
    const deny = cli("policy", "eval", "--image", "hello:1.0.0");
    expect(deny.status).toBe(1);
    expect(deny.stdout).toMatch(/: DENY\n/);
    expect(deny.stdout).toMatch(
      /FAIL {2}require_vulnerability_assessment: requires every vulnerability assessed/,
    );
    expect(deny.stdout).toMatch(/looked at image.vex = \{/);
    const dir = tempDir();
    const input = JSON.parse(cli("policy", "input", "--image", "static:1.0.0").stdout);
    writeFileSync(join(dir, "allow.json"), JSON.stringify({ input, expect: { allow: true } }));
    const unsigned = structuredClone(input);
    unsigned.image.signature.valid = false;
    writeFileSync(
      join(dir, "unsigned.json"),
      JSON.stringify({ input: unsigned, expect: { allow: false, failing: ["require_signature"] } }),
    );
    writeFileSync(
      join(dir, "wrong.json"),
      JSON.stringify({ input: unsigned, expect: { allow: true } }),
    );
    const t = cli(
      "policy",
      "test",
      join(dir, "allow.json"),
      join(dir, "unsigned.json"),
      join(dir, "wrong.json"),
    );
    expect(t.status).toBe(1);
    expect(t.stdout).toMatch(/^ok {3}.*allow.json: allow$/m);
    expect(t.stdout).toMatch(/^ok {3}.*unsigned.json: deny \(require_signature\)$/m);
    expect(t.stdout).toMatch(/^FAIL .*wrong.json/m);
  });
});
