import { type RecordedLink, recordChainLink, STAGES, verifyChain } from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import { clip } from "./admission-workload.js";
import type { AdmissionSettings } from "./config.js";
import type { AppContext } from "./context.js";
import { DEPLOYMENT_MEDIA_TYPE } from "./deploy.js";
import { evaluateImagePolicy } from "./policy.js";
import { TOOL } from "./sbom.js";

/** The admission verdict on one pinned image, and the deployment link an allowed one becomes. */

/** The AdmissionReview v1 request fields this webhook reads. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind?: { readonly group?: string; readonly kind?: string };
  readonly namespace?: string;
  readonly name?: string;
  readonly operation?: string;
  readonly dryRun?: boolean;
  readonly userInfo?: { readonly username?: string };
  readonly object?: unknown;
}

/** One image's verdict. */
export interface ImageVerdict {
  readonly image: string;
  readonly digest?: Digest;
  readonly allowed: boolean;
  /** What failed and how to fix it, or what allowed it. */
  readonly reason: string;
  /** Digests of the evidence the verdict rests on. */
  readonly evidence: readonly string[];
  /** The policy decision recorded in the image's chain for this verdict. */
  readonly decision?: RecordedLink;
  /** The transparency log entries of the chain links the verdict verified. */
  readonly logIndexes?: readonly number[];
  /**
   * Made on a broken chain: judged again on every review rather than cached, so that a repair
   * (a blob, a row or a log entry restored) is seen whatever was broken.
   */
  readonly uncached?: true;
}

/** Stages whose links a verdict verifies (before the policy it evaluates itself). */
const VERDICT_STAGES = new Set<string>(STAGES.filter((s) => s !== "policy" && s !== "deployment"));

/** The verdict on one pinned image: its chain verified, then the policy evaluated on it. */
export async function evaluateVerdict(
  ctx: AppContext,
  settings: AdmissionSettings,
  image: string,
  digest: Digest,
  actor?: string,
): Promise<ImageVerdict> {
  const chain = await verifyChain(ctx, digest);
  const recorded = chain.links.filter((l) => l.state !== "not-recorded");
  if (recorded.length === 0) {
    return {
      image,
      digest,
      allowed: false,
      reason: `no evidence is recorded for ${digest}: build, sbom and scan the image with cleanimg-init, or import its evidence (cleanimg-init evidence pull, or POST it to this server)`,
      evidence: [],
    };
  }
  const bad = chain.links.find(
    (l) => VERDICT_STAGES.has(l.stage) && (l.state === "broken" || l.state === "invalid"),
  );
  if (bad) {
    return {
      image,
      digest,
      allowed: false,
      reason: `the evidence chain is broken at ${bad.stage}: ${bad.reason ?? bad.state}; re-run that stage (cleanimg-init verify --image ${clip(image)} shows every link)`,
      evidence: bad.attestation ? [bad.attestation] : [],
      uncached: true,
    };
  }
  const stale = chain.links.find((l) => VERDICT_STAGES.has(l.stage) && l.state === "stale");
  if (stale) {
    return {
      image,
      digest,
      allowed: false,
      reason: `the evidence is not ready (stale, not tampered with): ${stale.reason ?? stale.stage}`,
      evidence: stale.attestation ? [stale.attestation] : [],
    };
  }
  const ev = await evaluateImagePolicy(ctx, digest, {
    ...(settings.policy ? { policy: settings.policy } : {}),
    name: image,
    ...(actor ? { actor } : {}),
  });
  const failed = ev.decision.rules.filter((r) => r.result !== "pass");
  return {
    image,
    digest,
    allowed: ev.decision.allow,
    reason: ev.decision.allow
      ? `policy ${ev.policy.name} allows it (decision ${ev.link?.attestation ?? "not recorded"})`
      : `policy ${ev.policy.name} denies it: ${failed.map((r) => `${r.name}: ${r.message}`).join("; ")}`,
    ...(ev.link ? { decision: ev.link } : {}),
    logIndexes: chain.links.flatMap((l) =>
      l.state === "valid" && l.logIndex !== undefined && VERDICT_STAGES.has(l.stage)
        ? [l.logIndex]
        : [],
    ),
    evidence: [
      ...chain.links.flatMap((l) =>
        l.state === "valid" && l.attestation && VERDICT_STAGES.has(l.stage) ? [l.attestation] : [],
      ),
      ...(ev.link ? [ev.link.attestation] : []),
    ],
  };
}

/** Records an allowed image as its chain's deployment link, tied to the admission request. */
export async function recordDeployment(
  ctx: AppContext,
  v: ImageVerdict,
  req: AdmissionRequest,
  actor?: string,
): Promise<void> {
  const digest = v.digest as Digest;
  const ns = req.namespace ?? "";
  const store = ctx.evidence();
  const decision = v.decision;
  const environment = `kubernetes/${ns || "cluster"}`;
  const doc = await store.putBlob(
    new TextEncoder().encode(
      JSON.stringify({
        mediaType: DEPLOYMENT_MEDIA_TYPE,
        image: { reference: v.image, digest },
        environment,
        approved: true,
        reason: v.reason,
        admission: {
          uid: req.uid,
          kind: req.kind?.kind ?? "",
          namespace: ns,
          name: req.name ?? "",
          operation: req.operation ?? "",
          user: req.userInfo?.username ?? "",
        },
        ...(decision ? { decision: decision.envelope } : {}),
      }),
    ),
    DEPLOYMENT_MEDIA_TYPE,
  );
  const previous: RecordedLink[] = decision ? [decision] : [];
  await recordChainLink(ctx, {
    image: { name: v.image, digest },
    stage: "deployment",
    evidence: { digest: doc, mediaType: DEPLOYMENT_MEDIA_TYPE },
    previous,
    inputs: { environment, approved: "true", admission: req.uid },
    tool: `${TOOL.name} ${TOOL.version} admission`,
    details: { environment, approved: "true", admission: req.uid },
    ...(actor ? { actor } : {}),
  });
}
