import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadInTotoPublicKey, parseMetadata, signedBy } from "../../src/intoto/index.js";
import { tempDir } from "../support/tmp.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = `${process.execPath} --import ${import.meta.resolve("tsx")} ${join(ROOT, "src/cli/main.ts")}`;
const KEYS = resolve(ROOT, "../shared/corpus/attestations/in-toto/python-demo/demo_files");

interface Action {
  inputs: Record<string, { default?: string }>;
  runs: { steps: { id?: string; run?: string; uses?: string; env?: Record<string, string> }[] };
}

/**
 * Runs a composite action's shell steps as the runner would: inputs and github.action_path
 * substituted in `env`, GITHUB_OUTPUT and RUNNER_TEMP provided; `uses:` steps (upload-artifact)
 * are the runner's and are skipped. CLEANIMG_BIN points to this checkout.
 */
function runAction(dir: string, inputs: Record<string, string>, cwd: string) {
  const action = parse(readFileSync(join(ROOT, dir, "action.yml"), "utf8")) as Action;
  const values = (name: string) => inputs[name] ?? action.inputs[name]?.default ?? "";
  const out = join(tempDir("cleanimg-action-out-"), "output");
  writeFileSync(out, "");
  const results = [];
  for (const step of action.runs.steps.filter((s) => s.run)) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.env ?? {})) {
      env[k] = v
        .replace(/\$\{\{ inputs\.([\w-]+) \}\}/g, (_m, n: string) => values(n))
        .replace(/\$\{\{ github\.action_path \}\}/g, join(ROOT, dir));
    }
    results.push(
      spawnSync("bash", ["-c", step.run as string], {
        cwd,
        encoding: "utf8",
        env: {
          ...process.env,
          ...env,
          CLEANIMG_BIN: BIN,
          GITHUB_OUTPUT: out,
          RUNNER_TEMP: tempDir("cleanimg-runner-"),
        },
      }),
    );
  }
  const outputs = Object.fromEntries(
    readFileSync(out, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return { results, outputs };
}

describe("CI integrations", () => {
  it("the in-toto run action records a build step as a signed link, and fails the job when the step fails", () => {
    const w = tempDir("cleanimg-action-ws-");
    mkdirSync(join(w, "src"));
    writeFileSync(join(w, "src", "main.py"), "print('hi')\n");
    const key = readFileSync(join(KEYS, "bob"), "utf8");
    const { results, outputs } = runAction(
      "actions/intoto-run",
      {
        "step-name": "package",
        key,
        materials: "src",
        products: "app.tgz",
        command: "tar czf app.tgz src",
      },
      w,
    );
    expect(results[0]?.status, results[0]?.stderr).toBe(0);
    expect(outputs["link"]).toMatch(/in-toto-links\/package\.776a00e2\.link$/);
    const link = parseMetadata<{ materials: object; products: object; byproducts: object }>(
      readFileSync(outputs["link"] as string),
      "link",
    );
    expect(signedBy(link, loadInTotoPublicKey(readFileSync(join(KEYS, "bob.pub"), "utf8")))).toBe(
      true,
    );
    expect(Object.keys(link.signed.materials)).toEqual(["src/main.py"]);
    expect(Object.keys(link.signed.products)).toEqual(["app.tgz"]);
    const failed = runAction(
      "actions/intoto-run",
      { "step-name": "test", key, command: "exit 3" },
      w,
    );
    expect(failed.results[0]?.status).toBe(1);
    expect(failed.results[0]?.stdout).toMatch(/::error::the step's command returned 3/);
    // the failure is recorded too
    expect(existsSync(join(w, "in-toto-links", "test.776a00e2.link"))).toBe(true);
  });

  it("the build action builds, scans, evaluates and exports the image's signed evidence", () => {
    const w = tempDir("cleanimg-action-build-");
    mkdirSync(join(w, "www"));
    writeFileSync(join(w, "www", "index.html"), "<p>hi</p>\n");
    writeFileSync(
      join(w, "cleanimg.yaml"),
      "image: ci/web:1.0.0\nfiles:\n  - src: www/\n    dst: /srv/\n",
    );
    const { results, outputs } = runAction(
      "actions/build",
      { image: "ci/web:1.0.0", vulndb: resolve(ROOT, "../shared/corpus/vulndb/pypi-osv.jsonl.gz") },
      w,
    );
    expect(results[0]?.status, `${results[0]?.stdout}${results[0]?.stderr}`).toBe(0);
    expect(outputs["digest"]).toMatch(/^sha256:[0-9a-f]{64}$/);
    const e = JSON.parse(readFileSync(join(w, outputs["evidence"] as string), "utf8"));
    expect(e.image.digest).toBe(outputs["digest"]);
    expect(e.items.length).toBeGreaterThanOrEqual(5);
    expect(existsSync(join(w, "cleanimg-evidence", "signing.pub"))).toBe(true);
  });

  it("the GitLab template's in-toto job records the step as a link", () => {
    const t = parse(readFileSync(join(ROOT, "ci/cleanimg.gitlab-ci.yml"), "utf8")) as Record<
      string,
      { variables?: Record<string, string>; script?: string[] }
    >;
    const job = t[".cleanimg-intoto-run"] as {
      variables: Record<string, string>;
      script: string[];
    };
    const w = tempDir("cleanimg-gitlab-");
    writeFileSync(join(w, "a.txt"), "a\n");
    const r = spawnSync("bash", ["-euo", "pipefail", "-c", job.script.join("\n")], {
      cwd: w,
      encoding: "utf8",
      env: {
        ...process.env,
        ...job.variables,
        CLEANIMG: BIN,
        INTOTO_STEP: "copy",
        INTOTO_MATERIALS: "a.txt",
        INTOTO_PRODUCTS: "b.txt",
        INTOTO_COMMAND: "cp a.txt b.txt",
        INTOTO_KEY: join(KEYS, "carl"),
      },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(w, "in-toto-links", "copy.2f89b927.link"))).toBe(true);
  });
});
