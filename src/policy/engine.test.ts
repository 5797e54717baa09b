import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describePolicyEngineContract } from "./contract.js";
import { celEngine, loadPolicyFile, regoEngine } from "./engine.js";

describePolicyEngineContract(
  {
    engine: celEngine,
    file: "ok.yaml",
    text: "name: ok\nrules:\n  - name: ok\n    expression: input.image.ok\n",
    mediaType: "application/yaml",
  },
  { describe, it, expect },
);

const opa = spawnSync("opa", ["version"]).status === 0;
// OPA is not packaged for Debian: this suite runs where `opa` is on PATH
describe.skipIf(!opa)("Rego (needs opa on PATH)", () => {
  describePolicyEngineContract(
    {
      engine: regoEngine("data.deployment.allow"),
      file: "ok.rego",
      text: "package deployment\nimport rego.v1\nallow if input.image.ok\n",
      mediaType: "application/vnd.opa.rego",
    },
    { describe, it, expect },
  );
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
