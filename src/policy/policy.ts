import { ToolError } from "../core/errors.js";
import { lazyModule } from "../core/lazy.js";
import { assertYamlDepth, yaml, yamlErrorMessage } from "../core/yaml.js";

const cel = lazyModule<typeof import("@bufbuild/cel")>("@bufbuild/cel");

/**
 * Policies as code, in CEL (the expression language of Kubernetes admission policies), over one
 * documented input document per image (docs/policy.md). A rule that cannot be evaluated (a
 * field missing, a type error) fails: a policy decision is never "allow" by accident.
 */

export interface PolicyRule {
  readonly name: string;
  /** A CEL expression over `input` (the image's document) and `params`; true means satisfied. */
  readonly expression: string;
  /** What the rule requires, shown when it is violated. */
  readonly message: string;
  /** Paths of `input` the rule looks at (shown with a violation, as its evidence). */
  readonly looksAt?: readonly string[];
}

export interface Policy {
  readonly name: string;
  readonly rules: readonly PolicyRule[];
  /** Default parameters (the configuration can override them). */
  readonly params: Readonly<Record<string, unknown>>;
}

export interface RuleResult {
  readonly name: string;
  readonly result: "pass" | "fail" | "error";
  readonly message: string;
  /** For a failure or error: the values of what the rule looks at, or the evaluation error. */
  readonly observed?: Readonly<Record<string, unknown>>;
  readonly error?: string;
}

export interface PolicyDecision {
  readonly policy: string;
  readonly allow: boolean;
  readonly rules: readonly RuleResult[];
}

/** The design's rules (its compliance.rego), in CEL, against cleanimg's input document. */
export const DEFAULT_POLICY: Policy = {
  name: "cleanimg-default",
  params: {
    minSlsaBuildLevel: 1,
    sbomFormat: "spdx-3.0.1",
    approvedSigners: [],
    approvedTools: ["cleanimg"],
  },
  rules: [
    {
      name: "require_slsa_provenance",
      expression:
        "input.image.provenance.verified && input.image.provenance.level >= params.minSlsaBuildLevel",
      message: "verified SLSA provenance at the required Build level (SLSA v1.0)",
      looksAt: ["image.provenance"],
    },
    {
      name: "require_sbom",
      expression: "input.image.sbom.verified && input.image.sbom.format == params.sbomFormat",
      message: "a signed SBOM in the required format",
      looksAt: ["image.sbom"],
    },
    {
      name: "require_vulnerability_assessment",
      expression:
        "input.image.vex.verified && input.image.vex.complete && input.image.vex.affected == 0",
      message:
        "every vulnerability assessed (a VEX status for each, every package assessed) and none affecting the image",
      looksAt: ["image.vex"],
    },
    {
      name: "require_signature",
      expression:
        "input.image.signature.valid && (size(params.approvedSigners) == 0 ? input.image.signature.signer == input.trust.signingKey : input.image.signature.signer in params.approvedSigners)",
      message: "a valid image signature by an approved signer",
      looksAt: ["image.signature", "trust.signingKey"],
    },
    {
      name: "require_secure_build",
      // true only when the verified provenance shows it: "unknown" never satisfies the rule
      expression:
        "input.image.build.hermetic == true && input.image.build.tool in params.approvedTools",
      message:
        "a hermetic build (the verified provenance records no network during assembly and every input pinned by digest) by an approved tool",
      looksAt: ["image.build"],
    },
  ],
};

/**
 * Reads a policy file (YAML or JSON): `name`, `params`, and `rules` of `name`, `expression`,
 * `message` and optional `looksAt`. Expressions are parsed here, so a syntax error is reported
 * before anything is evaluated.
 * @throws ToolError CORE_INVALID_ARGUMENT naming the rule and what is wrong
 */
export function parsePolicy(text: string, file: string): Policy {
  let v: unknown;
  assertYamlDepth(text, file);
  try {
    v = yaml().parse(text, { prettyErrors: false, logLevel: "error" });
  } catch (e) {
    throw new ToolError(
      "POLICY_INVALID",
      `${file}: not YAML or JSON: ${yamlErrorMessage(text, e)}`,
    );
  }
  const o = v as { name?: unknown; params?: unknown; rules?: unknown };
  if (!o || typeof o !== "object" || !Array.isArray(o.rules) || o.rules.length === 0) {
    throw new ToolError("POLICY_INVALID", `${file}: a policy needs a list of rules`, {
      hint: "see docs/policy.md",
    });
  }
  const rules = o.rules.map((r: unknown, i: number): PolicyRule => {
    const x = r as Record<string, unknown>;
    if (typeof x?.["name"] !== "string" || typeof x["expression"] !== "string") {
      throw new ToolError("POLICY_INVALID", `${file}: rules[${i}] needs a name and an expression`);
    }
    let parsed: unknown;
    try {
      parsed = cel().parse(x["expression"]);
    } catch (e) {
      parsed = e;
    }
    if (cel().isCelError(parsed) || parsed instanceof Error) {
      throw new ToolError(
        "POLICY_INVALID",
        `${file}: rule ${x["name"]}: ${(parsed as Error).message.replace(/^.*?<input>:/, "expression at ")}`,
        { hint: "CEL syntax: https://cel.dev" },
      );
    }
    return {
      name: x["name"],
      expression: x["expression"],
      message: typeof x["message"] === "string" ? x["message"] : x["name"],
      ...(Array.isArray(x["looksAt"]) ? { looksAt: x["looksAt"].map(String) } : {}),
    };
  });
  return {
    name: typeof o.name === "string" ? o.name : file,
    rules,
    params: o.params && typeof o.params === "object" ? (o.params as Record<string, unknown>) : {},
  };
}

/** Plain JSON to CEL values: objects become maps, whole numbers ints. */
function toCel(v: unknown): unknown {
  if (Array.isArray(v)) {
    return v.map(toCel);
  }
  if (v && typeof v === "object") {
    return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  }
  return typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v;
}

function at(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const p of path.split(".")) {
    cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[p] : undefined;
  }
  return cur;
}

/** Evaluates every rule; the decision allows only when every rule passes. */
export function evaluatePolicy(
  policy: Policy,
  input: Readonly<Record<string, unknown>>,
  params: Readonly<Record<string, unknown>> = {},
): PolicyDecision {
  const bound = { input: toCel(input), params: toCel({ ...policy.params, ...params }) };
  const rules = policy.rules.map((r): RuleResult => {
    const observed = Object.fromEntries((r.looksAt ?? []).map((p) => [p, at(input, p) ?? null]));
    let out: unknown;
    try {
      out = cel().run(r.expression, bound as never);
    } catch (e) {
      out = e;
    }
    if (cel().isCelError(out) || out instanceof Error) {
      return {
        name: r.name,
        result: "error",
        message: r.message,
        observed,
        error: (out as Error).message,
      };
    }
    if (typeof out !== "boolean") {
      return {
        name: r.name,
        result: "error",
        message: r.message,
        observed,
        error: `the expression gave ${String(out)}, not a boolean`,
      };
    }
    return out
      ? { name: r.name, result: "pass", message: r.message }
      : { name: r.name, result: "fail", message: r.message, observed };
  });
  return { policy: policy.name, allow: rules.every((r) => r.result === "pass"), rules };
}
