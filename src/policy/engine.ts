import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ToolError } from "../core/errors.js";
import { readInput } from "../core/input.js";
import {
  DEFAULT_POLICY,
  evaluatePolicy,
  type Policy,
  type PolicyDecision,
  parsePolicy,
} from "./policy.js";

const run = promisify(execFile);

/** A policy read by its engine, ready to evaluate policy input documents (docs/policy.md). */
export interface LoadedPolicy {
  readonly name: string;
  readonly engine: "cel" | "rego";
  /** The policy's bytes as read (their digest names the policy in the decision). */
  readonly bytes: Uint8Array;
  readonly mediaType: string;
  /** `params` override the policy's own parameters (CEL) and are ignored by Rego. */
  evaluate(
    input: Readonly<Record<string, unknown>>,
    params?: Readonly<Record<string, unknown>>,
  ): Promise<PolicyDecision>;
}

/** A policy language: which files it reads, and how it loads one. */
export interface PolicyEngine {
  readonly id: "cel" | "rego";
  handles(path: string): boolean;
  /** @throws ToolError CORE_INPUT_UNREADABLE when the file cannot be read, ToolError when it is invalid */
  load(path: string): Promise<LoadedPolicy>;
}

async function readPolicy(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readInput(path, "the policy"));
}

/** A CEL policy (YAML or JSON), evaluated in-process. */
export function celPolicy(policy: Policy, bytes: Uint8Array): LoadedPolicy & { policy: Policy } {
  return {
    policy,
    name: policy.name,
    engine: "cel",
    bytes,
    mediaType: "application/yaml",
    evaluate: async (input, params = {}) => evaluatePolicy(policy, input, params),
  };
}

/** The default policy (docs/policy.md), as the CEL engine loads it. */
export const defaultPolicy = (): LoadedPolicy & { policy: Policy } =>
  celPolicy(DEFAULT_POLICY, new TextEncoder().encode(JSON.stringify(DEFAULT_POLICY)));

/** A CEL policy file (YAML or JSON), or the default policy. */
export async function loadCelPolicy(path?: string): Promise<LoadedPolicy & { policy: Policy }> {
  if (!path) {
    return defaultPolicy();
  }
  const bytes = await readPolicy(path);
  return celPolicy(parsePolicy(new TextDecoder().decode(bytes), path), bytes);
}

export const celEngine: PolicyEngine = {
  id: "cel",
  handles: (path) => !path.endsWith(".rego"),
  load: loadCelPolicy,
};

/** Rego, evaluated by OPA (`opa` on PATH); the decision is the value of `query`. */
export function regoEngine(query = "data.deployment.allow"): PolicyEngine {
  return {
    id: "rego",
    handles: (path) => path.endsWith(".rego"),
    async load(path) {
      const bytes = await readPolicy(path);
      return {
        name: path,
        engine: "rego",
        bytes,
        mediaType: "application/vnd.opa.rego",
        evaluate: (input) => evaluateRego(path, input, query),
      };
    },
  };
}

/** Loads a policy file with the engine that reads it, or the default policy. */
export async function loadPolicyFile(
  path: string | undefined,
  engines: readonly PolicyEngine[] = [regoEngine(), celEngine],
): Promise<LoadedPolicy> {
  if (!path) {
    return defaultPolicy();
  }
  const engine = engines.find((e) => e.handles(path)) ?? celEngine;
  return engine.load(path);
}

async function evaluateRego(path: string, input: unknown, query: string): Promise<PolicyDecision> {
  const dir = await mkdtemp(join(tmpdir(), "cleanimg-opa-"));
  try {
    await writeFile(join(dir, "input.json"), JSON.stringify(input));
    const out = await run("opa", [
      "eval",
      "--format",
      "json",
      "-d",
      path,
      "-i",
      join(dir, "input.json"),
      query,
    ]).catch((e: NodeJS.ErrnoException & { stderr?: string }) => {
      if (e.code === "ENOENT") {
        throw new ToolError(
          "POLICY_ENGINE_UNAVAILABLE",
          `${path} is a Rego policy, and OPA is not installed`,
          {
            hint: "install the opa executable (openpolicyagent.org) on PATH, or write the policy in CEL (docs/policy.md)",
          },
        );
      }
      throw new ToolError("POLICY_EVAL_FAILED", `opa eval failed: ${e.stderr ?? e.message}`);
    });
    const r = JSON.parse(out.stdout) as { result?: { expressions?: { value?: unknown }[] }[] };
    const allow = r.result?.[0]?.expressions?.[0]?.value === true;
    return {
      policy: path,
      allow,
      rules: [{ name: query, result: allow ? "pass" : "fail", message: `${query} must be true` }],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
