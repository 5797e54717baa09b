import { type RecordedLink, recordChainLink, verifyChain } from "../chain/index.js";
import { ToolError } from "../core/errors.js";
import type { AppContext } from "./context.js";
import { inspectImage } from "./images.js";
import { TOOL } from "./sbom.js";

export const DEPLOYMENT_MEDIA_TYPE = "application/vnd.cleanimg.deployment-record.v1+json";

/**
 * Records that an image was deployed to an environment: the chain's last link, naming the policy
 * decision that approved it. Without a current, valid "allow" decision the deployment is refused,
 * unless `force` records it as deployed without approval (which the audit trail then reports).
 * @throws ToolError DEPLOY_NOT_ALLOWED when no current decision allows the image and not forced
 */
export async function recordDeployment(
  ctx: AppContext,
  ref: string,
  opts: { environment: string; force?: boolean },
): Promise<{ link: RecordedLink; approved: boolean; reason: string }> {
  const img = await inspectImage(ctx, ref, { record: false });
  const digest = img.manifest.digest;
  const chain = await verifyChain(ctx, digest);
  const policy = chain.links.find((l) => l.stage === "policy");
  const approved =
    chain.intact && policy?.state === "valid" && policy.predicate?.inputs["decision"] === "allow";
  const reason = approved
    ? `policy decision ${policy?.attestation} allows it`
    : !chain.intact
      ? `the evidence chain is broken at ${chain.firstBroken}`
      : !policy || policy.state === "not-recorded"
        ? "no policy decision is recorded"
        : policy.state !== "valid"
          ? `the policy decision is ${policy.state}`
          : "the policy decision denies it";
  if (!approved && !opts.force) {
    throw new ToolError("DEPLOY_NOT_ALLOWED", `${ref} may not be deployed: ${reason}`, {
      hint: "run cleanimg-init policy eval --image REF, or record it anyway with --force (the audit trail reports it)",
    });
  }
  const store = ctx.evidence();
  const doc = await store.putBlob(
    new TextEncoder().encode(
      JSON.stringify({
        mediaType: DEPLOYMENT_MEDIA_TYPE,
        image: { reference: ref, digest },
        environment: opts.environment,
        approved,
        reason,
        ...(policy?.envelope ? { decision: policy.envelope } : {}),
      }),
    ),
    DEPLOYMENT_MEDIA_TYPE,
  );
  const link = await recordChainLink(ctx, {
    image: { name: ref, digest },
    stage: "deployment",
    evidence: { digest: doc, mediaType: DEPLOYMENT_MEDIA_TYPE },
    previous:
      policy?.state === "valid" && policy.envelope && policy.attestation && policy.evidence
        ? [
            {
              stage: "policy",
              attestation: policy.attestation,
              envelope: policy.envelope,
              evidence: policy.evidence,
              created: policy.created ?? "",
            },
          ]
        : [],
    inputs: { environment: opts.environment, approved: String(approved) },
    tool: `${TOOL.name} ${TOOL.version}`,
    details: { environment: opts.environment, approved: String(approved) },
  });
  return { link, approved, reason };
}
