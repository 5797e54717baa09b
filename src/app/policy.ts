import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type ChainReport,
  type LinkReport,
  type RecordedLink,
  recordChainLink,
} from "../chain/index.js";
import { policyInputOf } from "../compliance/index.js";
import { type Digest, isDigest, sha256 } from "../core/digest.js";
import { OciError, ToolError, UsageError } from "../core/errors.js";
import {
  DEFAULT_POLICY,
  evaluatePolicy,
  type Policy,
  type PolicyDecision,
  parsePolicy,
} from "../policy/index.js";
import { BUILDER_ID } from "./build.js";
import { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { gatherEvidence } from "./evidence-bundle.js";
import { TOOL } from "./sbom.js";

const run = promisify(execFile);

export const POLICY_DECISION_MEDIA_TYPE = "application/vnd.cleanimg.policy-decision.v1+json";

/**
 * The policy input document of an image (documented in docs/policy.md), from its evidence
 * bundle (src/compliance): what a rule can rely on is only what verified evidence shows.
 */
export async function policyInput(
  ctx: AppContext,
  ref: string,
  /** The name to give the image (default: `ref`), e.g. a pod's image when `ref` is a digest. */
  name = ref,
  /** The image's chain, when the caller has just verified it. */
  verified?: ChainReport,
): Promise<{ input: Record<string, unknown>; digest: Digest; links: readonly LinkReport[] }> {
  const b = await gatherEvidence(ctx, ref, verified ? { chain: verified } : {});
  return {
    input: policyInputOf(b, name, BUILDER_ID),
    digest: b.image.digest,
    links: b.chain.links,
  };
}

export interface PolicyEvaluation {
  readonly image: { readonly reference: string; readonly digest: Digest };
  readonly policy: {
    readonly name: string;
    readonly digest: Digest;
    readonly engine: "cel" | "rego";
  };
  readonly decision: PolicyDecision;
  readonly link?: RecordedLink;
}

/** Loads a policy file (CEL in YAML/JSON), or the default policy. */
export async function loadPolicy(path?: string): Promise<{ policy: Policy; bytes: Uint8Array }> {
  if (!path) {
    return {
      policy: DEFAULT_POLICY,
      bytes: new TextEncoder().encode(JSON.stringify(DEFAULT_POLICY)),
    };
  }
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError("CLI_USAGE", `cannot read the policy ${path}: ${e.code ?? e.message}`);
  });
  return { policy: parsePolicy(bytes.toString("utf8"), path), bytes: new Uint8Array(bytes) };
}

/** Evaluates a Rego policy with OPA (`opa` on PATH); the decision is `data.<package>.allow`. */
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
          "CORE_INVALID_ARGUMENT",
          `${path} is a Rego policy, and OPA is not installed`,
          {
            hint: "install the opa executable (openpolicyagent.org) on PATH, or write the policy in CEL (docs/policy.md)",
          },
        );
      }
      throw new ToolError("CORE_INVALID_ARGUMENT", `opa eval failed: ${e.stderr ?? e.message}`);
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

/**
 * Evaluates a policy against an image's verified evidence and records the decision as the
 * chain's policy link (signed, logged, audited), naming every link it read.
 */
/**
 * Refuses a bare digest that names no image here: neither the local image store nor the
 * evidence store holds anything of it, so a decision about it would be about nothing.
 * @throws OciError OCI_MANIFEST_UNKNOWN (exit 3)
 */
async function assertImageHeld(ctx: AppContext, digest: Digest): Promise<void> {
  if (await ctx.local.findDigest(digest)) {
    return;
  }
  if ((await ctx.evidence().find({ subject: digest, limit: 1 })).length > 0) {
    return;
  }
  throw new OciError(
    "OCI_MANIFEST_UNKNOWN",
    `no image with digest ${digest} in the store (neither the local image store nor its evidence)`,
    {
      hint: "give a digest of an image here (cleanimg-init image ls), or import its evidence first (cleanimg-init evidence import FILE or evidence pull REF)",
    },
  );
}

export async function evaluateImagePolicy(
  ctx: AppContext,
  ref: string,
  opts: {
    policy?: string;
    regoQuery?: string;
    record?: boolean;
    /** The image's name for the record (default: `ref`). */
    name?: string;
    /** Who asked, for the audit trail (default: this process's user). */
    actor?: string;
  } = {},
): Promise<PolicyEvaluation> {
  const name0 = opts.name ?? ref;
  if (isDigest(ref)) {
    await assertImageHeld(ctx, ref);
  }
  const { input, digest, links } = await policyInput(ctx, ref, name0);
  const config = await loadConfig(ctx);
  let decision: PolicyDecision;
  let policyBytes: Uint8Array;
  let name: string;
  let engine: "cel" | "rego";
  if (opts.policy?.endsWith(".rego")) {
    policyBytes = new Uint8Array(await readFile(opts.policy));
    decision = await evaluateRego(opts.policy, input, opts.regoQuery ?? "data.deployment.allow");
    name = opts.policy;
    engine = "rego";
  } else {
    const { policy, bytes } = await loadPolicy(opts.policy);
    policyBytes = bytes;
    decision = evaluatePolicy(policy, input, config.policyParams ?? {});
    name = policy.name;
    engine = "cel";
  }
  const policyDigest = sha256(policyBytes);
  let link: RecordedLink | undefined;
  if (opts.record !== false) {
    const store = ctx.evidence();
    const doc = await store.putBlob(
      new TextEncoder().encode(
        JSON.stringify({
          mediaType: POLICY_DECISION_MEDIA_TYPE,
          policy: { name, digest: policyDigest, engine },
          input,
          decision,
        }),
      ),
      POLICY_DECISION_MEDIA_TYPE,
    );
    await store.putBlob(
      policyBytes,
      engine === "rego" ? "application/vnd.opa.rego" : "application/yaml",
    );
    const read = links
      .filter(
        (l) =>
          l.state === "valid" && l.envelope && l.stage !== "policy" && l.stage !== "deployment",
      )
      .map((l) => ({
        stage: l.stage,
        attestation: l.attestation as Digest,
        envelope: l.envelope as Digest,
        evidence: l.evidence as Digest,
        created: l.created ?? "",
      }));
    link = await recordChainLink(ctx, {
      image: { name: name0, digest },
      stage: "policy",
      evidence: { digest: doc, mediaType: POLICY_DECISION_MEDIA_TYPE },
      previous: read,
      inputs: { policy: policyDigest, decision: decision.allow ? "allow" : "deny" },
      tool: `${TOOL.name} ${TOOL.version}`,
      details: { decision: decision.allow ? "allow" : "deny", policy: name },
      ...(opts.actor ? { actor: opts.actor } : {}),
    });
  }
  return {
    image: { reference: ref, digest },
    policy: { name, digest: policyDigest, engine },
    decision,
    ...(link ? { link } : {}),
  };
}
