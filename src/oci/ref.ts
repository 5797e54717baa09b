import { type Digest, parseDigest } from "../core/digest.js";
import { OciError } from "../core/errors.js";

/**
 * An image reference parsed and normalised as Docker and the distribution project do
 * (github.com/distribution/reference: grammar, `docker.io` default domain, `library/` prefix
 * for official images, `latest` default tag).
 */
export interface ImageRef {
  /** Registry host with optional port, e.g. `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path without the domain, e.g. `library/alpine`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_PREFIX = "library/";
const NAME_TOTAL_MAX = 255;

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const HOST = `(?:${DOMAIN_NAME}|${IPV6})`;
const DOMAIN_RE = new RegExp(`^${HOST}(?::[0-9]+)?$`);
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;

function fail(s: string, why: string): never {
  throw new OciError("OCI_INVALID_REFERENCE", `invalid image reference "${s}": ${why}`, {
    hint: "references look like name[:tag][@sha256:<hex>], e.g. myapp:1.0.0 or localhost:5000/team/app@sha256:…",
  });
}

/**
 * Parses an image reference and applies Docker's normalisation.
 * @throws OciError OCI_INVALID_REFERENCE
 */
export function parseImageRef(s: string): ImageRef {
  if (s.length === 0) {
    fail(s, "empty reference");
  }
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    try {
      digest = parseDigest(rest.slice(at + 1));
    } catch (e) {
      fail(s, e instanceof Error ? e.message : "invalid digest");
    }
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  const lastSlash = rest.lastIndexOf("/");
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) {
      fail(s, `invalid tag "${tag}"`);
    }
  }
  if (rest.length === 0) {
    fail(s, "missing repository name");
  }
  let domain: string;
  let path: string;
  const slash = rest.indexOf("/");
  const first = slash === -1 ? "" : rest.slice(0, slash);
  if (
    slash === -1 ||
    (!/[.:]/.test(first) && first !== "localhost" && first.toLowerCase() === first)
  ) {
    domain = DEFAULT_DOMAIN;
    path = rest;
  } else {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (!DOMAIN_RE.test(domain)) {
    fail(s, `invalid registry host "${domain}"`);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) {
    domain = DEFAULT_DOMAIN;
  }
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) {
    path = OFFICIAL_PREFIX + path;
  }
  if (path.toLowerCase() !== path && PATH_RE.test(path.toLowerCase())) {
    fail(s, "repository name must be lowercase");
  }
  if (!PATH_RE.test(path)) {
    fail(s, `invalid repository name "${path}"`);
  }
  if (domain.length + 1 + path.length > NAME_TOTAL_MAX) {
    fail(s, `repository name longer than ${NAME_TOTAL_MAX} characters`);
  }
  return {
    domain,
    path,
    ...(tag === undefined && digest === undefined ? { tag: "latest" } : {}),
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** `domain/path`, the fully qualified repository name. */
export function repositoryName(ref: ImageRef): string {
  return `${ref.domain}/${ref.path}`;
}

/** The fully qualified form: `docker.io/library/alpine:3.20@sha256:…`. */
export function formatImageRef(ref: ImageRef): string {
  return `${repositoryName(ref)}${ref.tag === undefined ? "" : `:${ref.tag}`}${
    ref.digest === undefined ? "" : `@${ref.digest}`
  }`;
}

/** Docker's short display form (`alpine:3.20`, `team/app:1`). */
export function familiarImageRef(ref: ImageRef): string {
  let name = repositoryName(ref);
  if (ref.domain === DEFAULT_DOMAIN) {
    name = ref.path.startsWith(OFFICIAL_PREFIX) ? ref.path.slice(OFFICIAL_PREFIX.length) : ref.path;
  }
  return `${name}${ref.tag === undefined ? "" : `:${ref.tag}`}${
    ref.digest === undefined ? "" : `@${ref.digest}`
  }`;
}

/** True when the registry host is a loopback address (plain HTTP allowed with --insecure). */
export function isLoopbackHost(domain: string): boolean {
  const host = domain.startsWith("[")
    ? domain.slice(1, domain.indexOf("]"))
    : (domain.split(":")[0] ?? "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
