import { type Digest, isDigest } from "../core/digest.js";
import { AuditWatcher, recordAuditEvent } from "./audit.js";
import { type RecordedLink, recordChainLink, STAGES, verifyChain } from "./chain.js";
import { type AdmissionSettings, loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { DEPLOYMENT_MEDIA_TYPE } from "./deploy.js";
import { evaluateImagePolicy } from "./policy.js";
import { TOOL } from "./sbom.js";

/**
 * The Kubernetes admission decision (ValidatingAdmissionWebhook, AdmissionReview v1). Every
 * container, init container and ephemeral container image of a Pod or pod template must be
 * pinned by digest; for each digest the evidence chain is verified and the policy evaluated on
 * it. Fail-closed: missing, broken or unreadable evidence denies, and so does any error.
 * Verdicts are cached per digest until that image's evidence changes (seen in the audit log,
 * which every change of evidence appends to, by any process sharing the store) or the cache
 * entry's time runs out. An allowed image is recorded as the deployment link of its chain (once
 * per namespace while its verdict holds); a denial is recorded in the audit trail.
 */

/** The AdmissionReview v1 request fields this webhook reads. */
interface AdmissionRequest {
  readonly uid: string;
  readonly kind?: { readonly group?: string; readonly kind?: string };
  readonly namespace?: string;
  readonly name?: string;
  readonly operation?: string;
  readonly dryRun?: boolean;
  readonly userInfo?: { readonly username?: string };
  readonly object?: unknown;
}

export interface AdmissionReviewResponse {
  readonly apiVersion: "admission.k8s.io/v1";
  readonly kind: "AdmissionReview";
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly status?: { readonly code: number; readonly message: string };
    readonly warnings?: readonly string[];
  };
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
}

/** Which field holds the pod spec, per workload kind. */
const POD_SPEC_PATH: Readonly<Record<string, readonly string[]>> = {
  Pod: ["spec"],
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  ReplicationController: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};

/** The workload kinds the webhook checks. */
export const ADMISSION_KINDS = Object.keys(POD_SPEC_PATH);

/**
 * The images of a workload object: every container, init container and ephemeral container.
 * @throws Error when the object is not a workload of a known kind or has no pod spec
 */
export function workloadImages(
  kind: string,
  object: unknown,
): { container: string; image: string }[] {
  const path = POD_SPEC_PATH[kind];
  if (!path) {
    throw new Error(
      `${kind} is not a workload kind this webhook checks (${ADMISSION_KINDS.join(", ")})`,
    );
  }
  let spec: unknown = object;
  for (const p of path) {
    spec = spec && typeof spec === "object" ? (spec as Record<string, unknown>)[p] : undefined;
  }
  if (!spec || typeof spec !== "object") {
    throw new Error(`the ${kind} has no pod spec at .${path.join(".")}`);
  }
  const out: { container: string; image: string }[] = [];
  for (const field of ["initContainers", "containers", "ephemeralContainers"]) {
    const list = (spec as Record<string, unknown>)[field];
    if (list === undefined) {
      continue;
    }
    if (!Array.isArray(list)) {
      throw new Error(`.${[...path, field].join(".")} is not a list`);
    }
    for (const c of list as { name?: unknown; image?: unknown }[]) {
      if (typeof c?.image !== "string" || !c.image) {
        throw new Error(
          `container ${String(c?.name)} in .${[...path, field].join(".")} has no image`,
        );
      }
      out.push({ container: `${field}/${String(c.name)}`, image: c.image });
    }
  }
  return out;
}

/** The digest an image reference is pinned to, if any (`name@sha256:…`). */
export function pinnedDigest(image: string): Digest | undefined {
  const at = image.lastIndexOf("@");
  const d = at > 0 ? image.slice(at + 1) : "";
  return isDigest(d) ? d : undefined;
}

interface CachedVerdict {
  readonly verdict: ImageVerdict;
  readonly at: number;
  /** Namespaces this verdict was already recorded for. */
  readonly recorded: Set<string>;
}

/** Stages whose links a verdict verifies (before the policy it evaluates itself). */
const VERDICT_STAGES = new Set<string>(STAGES.filter((s) => s !== "policy" && s !== "deployment"));

export interface AdmissionStats {
  hits: number;
  misses: number;
  invalidations: number;
  allowed: number;
  denied: number;
}

/** The admission controller of one server process. */
export class AdmissionController {
  readonly #cache = new Map<Digest, CachedVerdict>();
  readonly #pending = new Map<Digest, Promise<ImageVerdict>>();
  readonly #deniedRecorded = new Map<string, number>();
  readonly #watcher: AuditWatcher;
  readonly stats: AdmissionStats = { hits: 0, misses: 0, invalidations: 0, allowed: 0, denied: 0 };

  constructor(
    private readonly ctx: AppContext,
    private readonly settings: AdmissionSettings = {},
    private readonly now: () => number = Date.now,
  ) {
    this.#watcher = new AuditWatcher(ctx);
  }

  /** Forgets the verdict of images whose evidence changed since the last look at the audit log. */
  async #invalidate(): Promise<void> {
    for (const ev of await this.#watcher.changes()) {
      if (!ev) {
        this.#cache.clear(); // an unreadable entry: trust nothing cached
        this.stats.invalidations++;
        continue;
      }
      const stage = ev.details?.["stage"];
      if (!ev.subject || ev.action === "admission" || stage === "deployment") {
        continue;
      }
      // a policy decision other than the one the verdict recorded (made elsewhere) changes it;
      // the verdict's own decision does not
      const cached = this.#cache.get(ev.subject);
      const own =
        stage === "policy" && ev.evidence["attestation"] === cached?.verdict.decision?.attestation;
      if (cached && !own && this.#cache.delete(ev.subject)) {
        this.stats.invalidations++;
      }
    }
  }

  /** The verdict on one pinned image, from the cache while it holds. */
  async verdict(image: string, digest: Digest, actor?: string): Promise<ImageVerdict> {
    const c = this.#cache.get(digest);
    const ttl = (this.settings.cacheSeconds ?? 300) * 1000;
    if (c && this.now() - c.at < ttl) {
      this.stats.hits++;
      return c.verdict.image === image ? c.verdict : { ...c.verdict, image };
    }
    // one evaluation per digest at a time, however many requests ask
    const pending = this.#pending.get(digest);
    if (pending) {
      return { ...(await pending), image };
    }
    this.stats.misses++;
    const p = this.#evaluate(image, digest, actor);
    this.#pending.set(digest, p);
    try {
      const v = await p;
      if (this.#cache.size >= 50_000) {
        // bounded: the oldest verdict goes first
        this.#cache.delete(this.#cache.keys().next().value as Digest);
      }
      this.#cache.set(digest, { verdict: v, at: this.now(), recorded: new Set() });
      return v;
    } finally {
      this.#pending.delete(digest);
    }
  }

  async #evaluate(image: string, digest: Digest, actor?: string): Promise<ImageVerdict> {
    const chain = await verifyChain(this.ctx, digest);
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
        reason: `the evidence chain is broken at ${bad.stage}: ${bad.reason ?? bad.state}; re-run that stage (cleanimg-init verify --image ${image} shows every link)`,
        evidence: bad.attestation ? [bad.attestation] : [],
      };
    }
    const ev = await evaluateImagePolicy(this.ctx, digest, {
      ...(this.settings.policy ? { policy: this.settings.policy } : {}),
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
      evidence: [
        ...chain.links.flatMap((l) =>
          l.state === "valid" && l.attestation && VERDICT_STAGES.has(l.stage)
            ? [l.attestation]
            : [],
        ),
        ...(ev.link ? [ev.link.attestation] : []),
      ],
    };
  }

  /** Records an allowed image as its chain's deployment link, once per namespace per verdict. */
  async #recordAllowed(v: ImageVerdict, req: AdmissionRequest, actor?: string): Promise<void> {
    const digest = v.digest as Digest;
    const c = this.#cache.get(digest);
    const ns = req.namespace ?? "";
    if (!c || c.recorded.has(ns)) {
      return;
    }
    c.recorded.add(ns);
    const store = this.ctx.evidence();
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
    await recordChainLink(this.ctx, {
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

  /** Answers one AdmissionReview. Never throws: any failure denies (fail-closed). */
  async review(body: unknown, actor?: string): Promise<AdmissionReviewResponse> {
    const req = (body as { request?: AdmissionRequest } | undefined)?.request;
    const uid = typeof req?.uid === "string" ? req.uid : "";
    const answer = (allowed: boolean, message: string, warnings: string[] = []) => {
      if (allowed) {
        this.stats.allowed++;
      } else {
        this.stats.denied++;
      }
      return {
        apiVersion: "admission.k8s.io/v1" as const,
        kind: "AdmissionReview" as const,
        response: {
          uid,
          allowed,
          ...(allowed ? {} : { status: { code: 403, message } }),
          ...(warnings.length ? { warnings } : {}),
        },
      };
    };
    if (!req || !uid) {
      return answer(false, "cleanimg: the body is not an AdmissionReview v1 with a request uid");
    }
    const kind = req.kind?.kind ?? "";
    if (this.settings.exemptNamespaces?.includes(req.namespace ?? "")) {
      return answer(true, "", [`cleanimg: namespace ${req.namespace} is exempt from image checks`]);
    }
    let images: { container: string; image: string }[];
    try {
      images = workloadImages(kind, req.object);
    } catch (e) {
      return answer(false, `cleanimg: ${(e as Error).message}`);
    }
    try {
      await this.#invalidate();
      const verdicts = await Promise.all(
        images.map(async ({ container, image }) => {
          const digest = pinnedDigest(image);
          if (!digest) {
            return {
              container,
              v: {
                image,
                allowed: false,
                reason: `${image} is not pinned by digest: a tag can move, so it is not evidence of what will run; use ${image.split("@")[0]}@sha256:<digest> (cleanimg-init inspect shows it)`,
                evidence: [],
              } satisfies ImageVerdict,
            };
          }
          return { container, v: await this.verdict(image, digest, actor) };
        }),
      );
      const denied = verdicts.filter((x) => !x.v.allowed);
      if (!req.dryRun) {
        for (const { v } of verdicts) {
          if (v.allowed) {
            await this.#recordAllowed(v, req, actor);
          }
        }
        // a denial is recorded once per workload and reason while verdicts hold (a controller
        // retrying a denied pod does not flood the trail)
        const key = `${req.namespace ?? ""}\n${kind}\n${req.name ?? ""}\n${denied.map((d) => d.v.reason).join("\n")}`;
        const last = this.#deniedRecorded.get(key);
        const ttl = (this.settings.cacheSeconds ?? 300) * 1000;
        if (denied.length > 0 && (last === undefined || this.now() - last >= ttl)) {
          this.#deniedRecorded.set(key, this.now());
          if (this.#deniedRecorded.size > 10_000) {
            this.#deniedRecorded.clear();
          }
          await recordAuditEvent(this.ctx, {
            action: "admission",
            evidence: {},
            details: {
              allowed: "false",
              uid,
              kind,
              namespace: req.namespace ?? "",
              name: req.name ?? "",
              denied: denied.map((d) => `${d.container} ${d.v.image}: ${d.v.reason}`).join("\n"),
            },
            ...(actor ? { actor } : {}),
          });
        }
      }
      if (denied.length > 0) {
        return answer(
          false,
          `cleanimg denied ${kind} ${req.namespace ? `${req.namespace}/` : ""}${req.name ?? ""}: ${denied
            .map((d) => `${d.container} (${d.v.image}): ${d.v.reason}`)
            .join(" | ")}`,
        );
      }
      return answer(true, "");
    } catch (e) {
      return answer(
        false,
        `cleanimg could not verify the images, so it denies (fail-closed): ${(e as Error).message}`,
      );
    }
  }
}

/** The admission settings from `$CLEANIMG_HOME/config.json` (`admission`). */
export async function admissionSettings(ctx: AppContext): Promise<AdmissionSettings> {
  return (await loadConfig(ctx)).admission ?? {};
}
