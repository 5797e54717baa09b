import {
  type ChainReport,
  type LinkReport,
  type RecordedLink,
  recordChainLink,
} from "../chain/index.js";
import { policyInputOf } from "../compliance/index.js";
import { type Digest, isDigest, sha256 } from "../core/digest.js";
import { OciError } from "../core/errors.js";
import {
  celEngine,
  loadCelPolicy,
  loadPolicyFile,
  type Policy,
  type PolicyDecision,
  regoEngine,
} from "../policy/index.js";
import { BUILDER_ID } from "./build.js";
import { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { gatherEvidence } from "./evidence-bundle.js";
import { TOOL } from "./sbom.js";

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

/** Loads a CEL policy file (YAML/JSON), or the default policy. */
export async function loadPolicy(path?: string): Promise<{ policy: Policy; bytes: Uint8Array }> {
  const { policy, bytes } = await loadCelPolicy(path);
  return { policy, bytes };
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
  const loaded = await loadPolicyFile(opts.policy, [
    regoEngine(opts.regoQuery ?? "data.deployment.allow"),
    celEngine,
  ]);
  const decision = await loaded.evaluate(input, config.policyParams ?? {});
  const { name, engine, bytes: policyBytes } = loaded;
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
    await store.putBlob(policyBytes, loaded.mediaType);
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
