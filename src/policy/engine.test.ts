import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { celEngine, loadPolicyFile, type PolicyEngine, regoEngine } from "./engine.js";

/**
 * The contract every policy engine keeps: a file it handles loads with its bytes and media
 * type; the decision follows the input (allowed when the rule holds, denied when it does not);
 * an unreadable file is a usage error naming it.
 */
interface EngineCase {
  readonly engine: PolicyEngine;
  readonly file: string;
  /** A policy that allows exactly when input.image.ok is true. */
  readonly text: string;
  readonly mediaType: string;
}

function policyEngineContract(c: EngineCase): void {
  const dir = mkdtempSync(join(tmpdir(), "cleanimg-engine-"));
  const path = join(dir, c.file);
  writeFileSync(path, c.text);

  it("handles its own files", () => {
    expect(c.engine.handles(path)).toBe(true);
  });
  it("loads the policy with its bytes and media type", async () => {
    const p = await c.engine.load(path);
    expect(p.engine).toBe(c.engine.id);
    expect(new TextDecoder().decode(p.bytes)).toBe(c.text);
    expect(p.mediaType).toBe(c.mediaType);
  });
  it("allows when the rule holds and denies when it does not", async () => {
    const p = await c.engine.load(path);
    expect((await p.evaluate({ image: { ok: true } })).allow).toBe(true);
    const denied = await p.evaluate({ image: { ok: false } });
    expect(denied.allow).toBe(false);
    expect(denied.rules.some((r) => r.result !== "pass")).toBe(true);
  });
  it("refuses an unreadable file as a usage error naming it", async () => {
    const missing = join(dir, `missing-${c.file}`);
    await expect(c.engine.load(missing)).rejects.toMatchObject({
      code: "CLI_USAGE",
      message: expect.stringContaining(missing),
    });
  });
}

describe("policy engine contract: CEL", () => {
  policyEngineContract({
    engine: celEngine,
    file: "ok.yaml",
    text: "name: ok\nrules:\n  - name: ok\n    expression: input.image.ok\n",
    mediaType: "application/yaml",
  });
});

const opa = spawnSync("opa", ["version"]).status === 0;
// OPA is not packaged for Debian: this suite runs where `opa` is on PATH
describe.skipIf(!opa)("policy engine contract: Rego (needs opa on PATH)", () => {
  policyEngineContract({
    engine: regoEngine("data.deployment.allow"),
    file: "ok.rego",
    text: "package deployment\nimport rego.v1\nallow if input.image.ok\n",
    mediaType: "application/vnd.opa.rego",
  });
});

describe("engine selection", () => {
  it("a .rego file goes to Rego, anything else to CEL, no file to the default policy", async () => {
    const rego = regoEngine();
    expect(rego.handles("p.rego")).toBe(true);
    expect(celEngine.handles("p.rego")).toBe(false);
    expect(celEngine.handles("p.yaml")).toBe(true);
    const d = await loadPolicyFile(undefined);
    expect(d.engine).toBe("cel");
    expect(d.name).toBe("cleanimg-default");
  });
  it.skipIf(opa)("without OPA, a Rego policy says how to enable it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cleanimg-engine-"));
    const path = join(dir, "p.rego");
    writeFileSync(path, "package deployment\nallow := true\n");
    const p = await loadPolicyFile(path);
    expect(p.engine).toBe("rego");
    await expect(p.evaluate({})).rejects.toThrow(/OPA is not installed/);
  });
});
