import {
  AuditWatcher,
  basisHolds,
  type EvidenceBasis,
  evidenceBasis,
  recordAuditEvent,
  type Stage,
  unchangedBetween,
} from "../chain/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import {
  type AdmissionRequest,
  evaluateVerdict,
  type ImageVerdict,
  recordDeployment,
} from "./admission-verdict.js";
import {
  admissionSummary,
  clip,
  denialMessage,
  MAX_ADMISSION_CONTAINERS,
  pinnedDigest,
  requestFieldProblem,
  workloadImages,
} from "./admission-workload.js";
import { type AdmissionSettings, loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { outageMessage, type StoreHealth, StoreUnavailable, storeHealth } from "./store-health.js";

export type { ImageVerdict } from "./admission-verdict.js";
export {
  ADMISSION_AUDIT_IMAGES,
  ADMISSION_KINDS,
  MAX_ADMISSION_CONTAINERS,
  pinnedDigest,
  workloadImages,
} from "./admission-workload.js";

/**
 * The Kubernetes admission decision (ValidatingAdmissionWebhook, AdmissionReview v1). Every
 * container, init container and ephemeral container image of a Pod or pod template must be
 * pinned by digest; for each digest the evidence chain is verified and the policy evaluated on
 * it. Fail-closed: missing, broken or unreadable evidence denies, and so does any error.
 * Verdicts are cached per digest until that image's evidence changes (seen in the audit log,
 * which every change of evidence appends to, by any process sharing the store, and in the store
 * itself: the image's index links and the versions of their blobs, see EvidenceBasis; an allowed
 * verdict re-hashes a blob whose version moved) or the cache entry's time runs out. A verdict
 * whose evidence moved while it was made is not cached. An allowed image is recorded as the deployment link of its chain (once
 * per namespace while its verdict holds); a denial is recorded in the audit trail, as a bounded
 * summary. While the store is unhealthy (a part of it does not answer: storeHealth), every review
 * is denied with code 503 naming the part, nothing cached is served, and a denial the outage
 * caused is not cached. A review naming more than MAX_ADMISSION_CONTAINERS containers is denied
 * with code 400 before any image is looked at.
 */

/** Links a verdict does not rest on: the deployments it makes itself. */
const UNRELIED: ReadonlySet<Stage> = new Set<Stage>(["deployment"]);

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

interface CachedVerdict {
  readonly verdict: ImageVerdict;
  readonly at: number;
  /** What the verdict rests on in the store (its deployments aside). */
  basis: EvidenceBasis;
  /** Namespaces this verdict was already recorded for. */
  readonly recorded: Set<string>;
}

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
    private readonly health: () => Promise<StoreHealth> = () => storeHealth(ctx),
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
      // reports and deployments are made from the evidence; they do not change it
      if (
        !ev.subject ||
        ev.action === "admission" ||
        stage === "deployment" ||
        ev.details?.["kind"] === "compliance-report"
      ) {
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

  /** The cached verdict on `digest` while it holds (its time and its basis in the store). */
  async #cached(digest: Digest): Promise<ImageVerdict | undefined> {
    const c = this.#cache.get(digest);
    const ttl = (this.settings.cacheSeconds ?? 300) * 1000;
    if (!c || this.now() - c.at >= ttl) {
      return undefined;
    }
    const basis = await basisHolds(this.ctx, digest, c.basis, {
      except: UNRELIED,
      logIndexes: c.verdict.logIndexes ?? [],
      good: c.verdict.allowed,
    });
    if (!basis) {
      this.#cache.delete(digest);
      this.stats.invalidations++;
      return undefined;
    }
    c.basis = basis;
    return c.verdict;
  }

  /** The verdict on one pinned image, from the cache while it holds. */
  async verdict(image: string, digest: Digest, actor?: string): Promise<ImageVerdict> {
    const c = await this.#cached(digest);
    if (c) {
      this.stats.hits++;
      return c.image === image ? c : { ...c, image };
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
      return await p;
    } finally {
      this.#pending.delete(digest);
    }
  }

  /** A verdict made now, cached when the store did not move under it. */
  async #evaluate(image: string, digest: Digest, actor?: string): Promise<ImageVerdict> {
    const before = await evidenceBasis(this.ctx, digest, UNRELIED);
    const v = await evaluateVerdict(this.ctx, this.settings, image, digest, actor);
    // a denial made while the store does not answer says nothing about the image
    const h = v.allowed ? undefined : await this.health();
    if (h && !h.ok) {
      throw new StoreUnavailable(h);
    }
    const after = await evidenceBasis(this.ctx, digest, UNRELIED, v.logIndexes ?? []);
    const own = new Set(v.decision ? [v.decision.attestation] : []);
    if (!v.uncached && unchangedBetween(before, after, own)) {
      if (this.#cache.size >= 50_000) {
        // bounded: the oldest verdict goes first
        this.#cache.delete(this.#cache.keys().next().value as Digest);
      }
      this.#cache.set(digest, { verdict: v, at: this.now(), basis: after, recorded: new Set() });
    }
    return v;
  }

  /** Records an allowed image as its chain's deployment link, once per namespace per verdict. */
  async #recordAllowed(v: ImageVerdict, req: AdmissionRequest, actor?: string): Promise<void> {
    const digest = v.digest as Digest;
    const c = this.#cache.get(digest);
    const ns = req.namespace ?? "";
    // a verdict that was not cached (its evidence moved as it was made) is recorded each time
    if (c?.recorded.has(ns)) {
      return;
    }
    c?.recorded.add(ns);
    await recordDeployment(this.ctx, v, req, actor);
  }

  /** The AdmissionReview answering `uid`; counted in the stats. */
  #answer(
    uid: string,
    allowed: boolean,
    message: string,
    opts: { warnings?: string[]; code?: number } = {},
  ): AdmissionReviewResponse {
    if (allowed) {
      this.stats.allowed++;
    } else {
      this.stats.denied++;
    }
    return {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid,
        allowed,
        ...(allowed ? {} : { status: { code: opts.code ?? 403, message } }),
        ...(opts.warnings?.length ? { warnings: opts.warnings } : {}),
      },
    };
  }

  /**
   * The denial of a review while the store is unhealthy (code 503, naming the failing parts);
   * for callers that could not even reach the review (e.g. the token could not be checked).
   * Nothing cached is trusted after an outage: the cache is emptied.
   */
  unavailable(body: unknown, health: StoreHealth): AdmissionReviewResponse {
    this.#cache.clear();
    const req = (body as { request?: { uid?: unknown } } | undefined)?.request;
    const uid = typeof req?.uid === "string" ? req.uid : "";
    return this.#answer(uid, false, outageMessage(health), { code: 503 });
  }

  /** Records a denial, once per workload and reason while verdicts hold, as a bounded summary. */
  async #recordDenial(
    req: AdmissionRequest,
    images: readonly { container: string; image: string }[],
    denied: readonly string[],
    actor?: string,
  ): Promise<void> {
    const kind = req.kind?.kind ?? "";
    // a controller retrying a denied pod does not flood the trail
    const key = sha256(`${req.namespace ?? ""}\n${kind}\n${req.name ?? ""}\n${denied.join("\n")}`);
    const last = this.#deniedRecorded.get(key);
    const ttl = (this.settings.cacheSeconds ?? 300) * 1000;
    if (req.dryRun || denied.length === 0 || (last !== undefined && this.now() - last < ttl)) {
      return;
    }
    this.#deniedRecorded.set(key, this.now());
    if (this.#deniedRecorded.size > 10_000) {
      this.#deniedRecorded.clear();
    }
    await recordAuditEvent(this.ctx, {
      action: "admission",
      evidence: {},
      details: {
        allowed: "false",
        uid: clip(req.uid),
        kind: clip(kind, 100),
        namespace: clip(req.namespace ?? "", 100),
        name: clip(req.name ?? "", 300),
        ...admissionSummary(images, denied),
      },
      ...(actor ? { actor } : {}),
    });
  }

  /** The verdict on each image of a review (the unpinned denied without a look at the store). */
  async #verdicts(
    images: readonly { container: string; image: string }[],
    actor?: string,
  ): Promise<{ container: string; v: ImageVerdict }[]> {
    return Promise.all(
      images.map(async ({ container, image }) => {
        const digest = pinnedDigest(image);
        if (!digest) {
          return {
            container,
            v: {
              image,
              allowed: false,
              reason: `${clip(image)} is not pinned by digest: a tag can move, so it is not evidence of what will run; use ${clip(image.split("@")[0] ?? "")}@sha256:<digest> (cleanimg-init inspect shows it)`,
              evidence: [],
            } satisfies ImageVerdict,
          };
        }
        return { container, v: await this.verdict(image, digest, actor) };
      }),
    );
  }

  /** Answers one AdmissionReview. Never throws: any failure denies (fail-closed). */
  async review(body: unknown, actor?: string): Promise<AdmissionReviewResponse> {
    const req = (body as { request?: AdmissionRequest } | undefined)?.request;
    const uid = typeof req?.uid === "string" ? req.uid : "";
    if (!req || !uid) {
      return this.#answer(
        uid,
        false,
        "cleanimg: the body is not an AdmissionReview v1 with a request uid",
      );
    }
    const bad = requestFieldProblem(req);
    if (bad) {
      return this.#answer(
        clip(uid, 128),
        false,
        `cleanimg: not an AdmissionReview the API server sends: ${bad}`,
        {
          code: 400,
        },
      );
    }
    const kind = req.kind?.kind ?? "";
    if (this.settings.exemptNamespaces?.includes(req.namespace ?? "")) {
      return this.#answer(uid, true, "", {
        warnings: [`cleanimg: namespace ${req.namespace} is exempt from image checks`],
      });
    }
    let images: { container: string; image: string }[];
    try {
      images = workloadImages(kind, req.object);
    } catch (e) {
      return this.#answer(uid, false, `cleanimg: ${clip((e as Error).message, 1000)}`, {
        code: 400,
      });
    }
    const what = `${kind} ${req.namespace ? `${req.namespace}/` : ""}${clip(req.name ?? "", 300)}`;
    if (images.length > MAX_ADMISSION_CONTAINERS) {
      const reason = `the ${kind} names ${images.length} containers (containers, init and ephemeral containers together), more than the ${MAX_ADMISSION_CONTAINERS} this webhook checks in one review`;
      await this.#recordDenial(req, images, [reason], actor).catch(() => {});
      return this.#answer(uid, false, `cleanimg denied ${what}: ${reason}`, { code: 400 });
    }
    try {
      const health = await this.health();
      if (!health.ok) {
        throw new StoreUnavailable(health);
      }
      await this.#invalidate();
      const verdicts = await this.#verdicts(images, actor);
      const denied = verdicts.filter((x) => !x.v.allowed);
      if (!req.dryRun) {
        for (const { v } of verdicts) {
          if (v.allowed) {
            await this.#recordAllowed(v, req, actor);
          }
        }
        await this.#recordDenial(
          req,
          images,
          denied.map((d) => `${d.container} ${d.v.image}: ${d.v.reason}`),
          actor,
        );
      }
      if (denied.length > 0) {
        return this.#answer(
          uid,
          false,
          denialMessage(
            `cleanimg denied ${what}`,
            denied.map((d) => `${d.container} (${d.v.image}): ${d.v.reason}`),
          ),
        );
      }
      return this.#answer(uid, true, "");
    } catch (e) {
      const h =
        e instanceof StoreUnavailable
          ? e.health
          : await this.health().catch((): undefined => undefined);
      if (h && !h.ok) {
        return this.unavailable(body, h);
      }
      return this.#answer(
        uid,
        false,
        `cleanimg could not verify the images, so it denies (fail-closed): ${clip((e as Error).message, 1000)}`,
      );
    }
  }
}

/** The admission settings from `$CLEANIMG_HOME/config.json` (`admission`). */
export async function admissionSettings(ctx: AppContext): Promise<AdmissionSettings> {
  return (await loadConfig(ctx)).admission ?? {};
}
