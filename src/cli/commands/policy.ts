import type { Command } from "commander";
import type { Policy, PolicyDecision } from "../../app/index.js";
import { UsageError } from "../../core/errors.js";
import { readJsonInput } from "../../core/input.js";
import { app } from "./app.js";
import { inputFile } from "./common.js";
import type { CliDeps } from "./deps.js";

/** The rules of a decision, one line each, with what a failing rule looked at. */
function showDecision(d: PolicyDecision): string[] {
  return d.rules.map((r) =>
    r.result === "pass"
      ? `  PASS  ${r.name}`
      : `  ${r.result.toUpperCase()}  ${r.name}: requires ${r.message}${r.error ? ` (error: ${r.error})` : ""}${Object.entries(
          r.observed ?? {},
        )
          .map(([k, v]) => `\n        looked at ${k} = ${JSON.stringify(v)}`)
          .join("")}`,
  );
}

type Fixture = {
  input: Record<string, unknown>;
  params?: Record<string, unknown>;
  expect: { allow: boolean; failing?: string[] };
};

/** Runs one fixture: whether the decision and its failing rules are the ones expected. */
async function runFixture(policy: Policy, f: string) {
  const fx = (await readJsonInput(
    f,
    "the fixture",
    "give the path of a fixture JSON file: {input, params?, expect: {allow, failing?}}",
  )) as Fixture;
  const d = app().evaluatePolicy(policy, fx.input, fx.params ?? {});
  const failing = d.rules
    .filter((r) => r.result !== "pass")
    .map((r) => r.name)
    .sort();
  const ok =
    d.allow === fx.expect.allow &&
    (fx.expect.failing === undefined ||
      JSON.stringify(failing) === JSON.stringify([...fx.expect.failing].sort()));
  return { fixture: f, ok, allow: d.allow, failing };
}

/** Registers the policy commands. */
export function registerPolicy(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
  // --- policy --------------------------------------------------------------------------------------
  const policyCmd = program.command("policy").description("policies as code (CEL; Rego with OPA)");
  policyCmd
    .command("eval")
    .description(
      "evaluate a policy against an image's verified evidence; the decision joins its chain",
    )
    .argument("[image]", "image location")
    .option("--image <ref>", "image to evaluate")
    .option(
      "--policy <file>",
      "a CEL policy (YAML/JSON) or a Rego file (needs opa); default: the built-in policy",
      inputFile,
    )
    .option("--query <q>", "Rego query whose value is the decision", "data.deployment.allow")
    .action(
      async (
        arg: string | undefined,
        o: { image?: string; policy?: string; query: string },
        cmd: Command,
      ) => {
        const ref = o.image ?? arg;
        if (!ref) {
          throw new UsageError("CLI_USAGE", "which image? give IMAGE or --image REF");
        }
        const r = await app().evaluateImagePolicy(context(cmd), ref, {
          ...(o.policy ? { policy: o.policy } : {}),
          regoQuery: o.query,
        });
        out.result(r, () =>
          [
            `policy ${r.policy.name} (${r.policy.engine}, ${r.policy.digest}) on ${ref} ${r.image.digest}: ${r.decision.allow ? "ALLOW" : "DENY"}`,
            ...showDecision(r.decision),
            ...(r.link ? [`decision recorded as the policy link ${r.link.attestation}`] : []),
          ].join("\n"),
        );
        if (!r.decision.allow) {
          deps.fail();
        }
      },
    );
  policyCmd
    .command("input")
    .description("print the policy input document of an image (what rules can rely on)")
    .argument("[image]", "image location")
    .option("--image <ref>", "image")
    .action(async (arg: string | undefined, o: { image?: string }, cmd: Command) => {
      const ref = o.image ?? arg;
      if (!ref) {
        throw new UsageError("CLI_USAGE", "which image? give IMAGE or --image REF");
      }
      const r = await app().policyInput(context(cmd), ref);
      process.stdout.write(`${JSON.stringify(r.input, null, 2)}\n`);
    });
  policyCmd
    .command("test")
    .description(
      "run a policy's unit tests: fixtures of {input, params?, expect: {allow, failing?}}",
    )
    .option(
      "--policy <file>",
      "the CEL policy under test (default: the built-in policy)",
      inputFile,
    )
    .argument("<fixtures...>", "fixture JSON files")
    .action(async (fixtures: string[], o: { policy?: string }) => {
      const { policy } = await app().loadPolicy(o.policy);
      const results: Awaited<ReturnType<typeof runFixture>>[] = [];
      for (const f of fixtures) {
        results.push(await runFixture(policy, f));
      }
      out.result(results, () =>
        results
          .map(
            (r) =>
              `${r.ok ? "ok  " : "FAIL"} ${r.fixture}: ${r.allow ? "allow" : `deny (${r.failing.join(", ")})`}`,
          )
          .join("\n"),
      );
      if (results.some((r) => !r.ok)) {
        deps.fail();
      }
    });
}
