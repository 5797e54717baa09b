import { type Digest, isDigest, sha256 } from "../core/digest.js";

/**
 * What an admission review is about: the images of a workload's pod spec, and the bounded
 * summary of them that the audit trail records.
 */

/** The most containers (containers, init and ephemeral containers together) a review may name. */
export const MAX_ADMISSION_CONTAINERS = 1000;
/** How many images, and denials, an admission event of the audit trail lists by name. */
export const ADMISSION_AUDIT_IMAGES = 20;
/** How many denials the message of a denied review names. */
const MESSAGE_DENIALS = 10;

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
 * The longest image reference accepted: a registry host and port, a repository name (at most 255
 * characters in the distribution spec), a tag (128) and a digest fit well within it.
 */
export const MAX_IMAGE_REFERENCE = 1024;

/**
 * The images of a workload object: every container, init container and ephemeral container.
 * @throws Error when the object is not a workload of a known kind or has no pod spec, or a
 *   container's name or image reference is longer than Kubernetes and registries allow
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
      const name = String(c.name);
      if (name.length > 253 || c.image.length > MAX_IMAGE_REFERENCE) {
        // what the trail records of an allowed image (its chain links, deployment, decision)
        throw new Error(
          `container ${clip(name, 60)} in .${[...path, field].join(".")}: its name (${name.length} characters, at most 253) or image reference (${c.image.length}, at most ${MAX_IMAGE_REFERENCE}) is longer than Kubernetes and registries allow`,
        );
      }
      out.push({ container: `${field}/${name}`, image: c.image });
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

/**
 * Why an AdmissionReview request is not one the API server sends, judged on the fields this
 * webhook records (Kubernetes' own limits: a namespace is a DNS label of at most 63 characters,
 * a name at most 253; a uid is a UUID; an operation one word), or undefined. A request over
 * them is denied before anything is recorded, so a review cannot make the trail hold its bulk.
 */
export function requestFieldProblem(req: {
  readonly uid: string;
  readonly kind?: { readonly kind?: string };
  readonly namespace?: string;
  readonly name?: string;
  readonly operation?: string;
  readonly userInfo?: { readonly username?: string };
}): string | undefined {
  const checks: [string, unknown, number][] = [
    ["uid", req.uid, 128],
    ["kind.kind", req.kind?.kind, 100],
    ["namespace", req.namespace, 63],
    ["name", req.name, 253],
    ["operation", req.operation, 16],
    ["userInfo.username", req.userInfo?.username, 1024],
  ];
  for (const [field, v, max] of checks) {
    if (v !== undefined && typeof v !== "string") {
      return `request.${field} is not a string`;
    }
    if (typeof v === "string" && v.length > max) {
      return `request.${field} is ${v.length} characters long, more than Kubernetes allows (${max})`;
    }
  }
  if (req.namespace && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(req.namespace)) {
    return `request.namespace ${clip(req.namespace, 70)} is not a DNS label (a Kubernetes namespace)`;
  }
  return undefined;
}

/** `s`, cut to `max` characters (an image reference can be as long as the request allows). */
export function clip(s: string, max = 300): string {
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

/**
 * What the audit trail records of a denied review, bounded whatever the review names: how many
 * containers and denials, the first ADMISSION_AUDIT_IMAGES of each, and the digest of the full
 * image list (sha256 of the JSON array of `{container, image}` in pod-spec order), which
 * identifies it without holding it.
 */
export function admissionSummary(
  images: readonly { container: string; image: string }[],
  denied: readonly string[],
): Record<string, string> {
  const more = (n: number) =>
    n > ADMISSION_AUDIT_IMAGES ? [`… and ${n - ADMISSION_AUDIT_IMAGES} more`] : [];
  return {
    containers: String(images.length),
    deniedCount: String(denied.length),
    denied: [
      ...denied.slice(0, ADMISSION_AUDIT_IMAGES).map((d) => clip(d, 1000)),
      ...more(denied.length),
    ].join("\n"),
    images: images
      .slice(0, ADMISSION_AUDIT_IMAGES)
      .map((i) => `${clip(i.container, 100)} ${clip(i.image)}`)
      .join("\n"),
    imagesDigest: sha256(JSON.stringify(images)),
  };
}

/** The message of a denied review: the first denials by name, then how many more. */
export function denialMessage(head: string, denied: readonly string[]): string {
  const named = denied.slice(0, MESSAGE_DENIALS).map((d) => clip(d, 1000));
  const rest = denied.length - named.length;
  return `${head}: ${named.join(" | ")}${rest > 0 ? ` | … and ${rest} more denied containers (the audit trail counts them)` : ""}`;
}
