import type { Digest } from "../core/digest.js";
import { OciError } from "../core/errors.js";
import { DEFAULT_LIMITS, readAllLimited } from "../core/limits.js";
import { isIndexMediaType, layerCompression } from "./media-types.js";
import type { ImageSource } from "./transport.js";
import {
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type ImageConfig,
  type ImageManifest,
  type ParsedManifest,
  type Platform,
  parseImageConfig,
  parseManifest,
} from "./types.js";

/** One platform's image, with its manifest and configuration read and verified. */
export interface ResolvedImage {
  readonly source: ImageSource;
  /** The manifest of the image (the platform's, when the reference named an index). */
  readonly descriptor: Descriptor;
  readonly manifestBytes: Uint8Array;
  readonly manifest: ImageManifest;
  /** Present when the reference named an index. */
  readonly indexDescriptor?: Descriptor;
  readonly configBytes: Uint8Array;
  readonly config: ImageConfig;
  readonly layers: readonly ResolvedLayer[];
}

export interface ResolvedLayer {
  readonly index: number;
  readonly descriptor: Descriptor;
  /** Digest of the uncompressed tar, from the configuration's rootfs.diff_ids. */
  readonly diffId: Digest;
}

export interface ResolveOptions {
  /** Platform to select in an index; default: the only one, else this machine's. */
  readonly platform?: Platform;
}

/** Fetches and parses a manifest or index by descriptor. */
export async function fetchParsed(source: ImageSource, desc: Descriptor): Promise<ParsedManifest> {
  const bytes = await source.fetchManifest(desc);
  return parseManifest(bytes, `manifest ${desc.digest} in ${source.description}`, desc.mediaType);
}

function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) {
    return false;
  }
  return (
    want.os === have.os &&
    want.architecture === have.architecture &&
    (want.variant === undefined || want.variant === have.variant)
  );
}

/** Descriptors in an index that are runnable images (not attestation manifests). */
function imageEntries(manifests: readonly Descriptor[]): Descriptor[] {
  return manifests.filter(
    (m) =>
      !(m.platform?.os === "unknown" && m.platform.architecture === "unknown") &&
      m.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest",
  );
}

/**
 * Walks down from a manifest or index to the image manifest for a platform (or the only /
 * this machine's image when no platform is given). Nested indexes are followed, 8 deep.
 * @throws OciError OCI_PLATFORM_NOT_FOUND, OCI_PLATFORM_AMBIGUOUS, OCI_INVALID_MANIFEST
 */
export async function selectImageManifest(
  source: ImageSource,
  root: { descriptor: Descriptor; bytes: Uint8Array },
  platform?: Platform,
): Promise<{
  descriptor: Descriptor;
  bytes: Uint8Array;
  parsed: ParsedManifest & { kind: "manifest" };
  index?: Descriptor;
}> {
  let desc = root.descriptor;
  let bytes = root.bytes;
  let parsed = parseManifest(
    bytes,
    `manifest ${desc.digest} in ${source.description}`,
    desc.mediaType,
  );
  let indexDescriptor: Descriptor | undefined;
  for (let depth = 0; parsed.kind === "index"; depth++) {
    if (depth >= 8) {
      throw new OciError(
        "OCI_INVALID_MANIFEST",
        `${source.description}: indexes nested deeper than 8 levels`,
      );
    }
    indexDescriptor ??= desc;
    const chosen = chooseEntry(source, parsed.index.manifests, platform);
    desc = chosen;
    bytes = await source.fetchManifest(desc);
    parsed = parseManifest(
      bytes,
      `manifest ${desc.digest} in ${source.description}`,
      desc.mediaType,
    );
  }
  return {
    descriptor: desc,
    bytes,
    parsed,
    ...(indexDescriptor ? { index: indexDescriptor } : {}),
  };
}

function chooseEntry(
  source: ImageSource,
  manifests: readonly Descriptor[],
  want: Platform | undefined,
): Descriptor {
  const entries = imageEntries(manifests);
  if (want) {
    const hit =
      entries.find((m) => platformMatches(want, m.platform)) ??
      // A nested index without a platform may hold the platform further down.
      entries.find((m) => m.platform === undefined && isIndexMediaType(m.mediaType));
    if (!hit) {
      throw new OciError(
        "OCI_PLATFORM_NOT_FOUND",
        `${source.description} has no image for ${formatPlatform(want)}`,
        {
          hint: `available: ${listPlatforms(entries)}`,
        },
      );
    }
    return hit;
  }
  if (entries.length === 1 && entries[0]) {
    return entries[0];
  }
  const host = hostPlatform();
  const hit = entries.find((m) => platformMatches(host, m.platform));
  if (!hit) {
    throw new OciError(
      entries.length === 0 ? "OCI_PLATFORM_NOT_FOUND" : "OCI_PLATFORM_AMBIGUOUS",
      entries.length === 0
        ? `${source.description}: index lists no images`
        : `${source.description} is a multi-platform index without an image for this machine (${formatPlatform(host)})`,
      { hint: `choose one with --platform: ${listPlatforms(entries)}` },
    );
  }
  return hit;
}

/**
 * Resolves the referenced manifest to one platform's image and reads its configuration.
 * Nested indexes are followed (depth-limited).
 * @throws OciError OCI_PLATFORM_NOT_FOUND, OCI_PLATFORM_AMBIGUOUS, OCI_INVALID_MANIFEST, …
 */
export async function resolveImage(
  source: ImageSource,
  opts: ResolveOptions = {},
): Promise<ResolvedImage> {
  const root = await source.resolve();
  const sel = await selectImageManifest(source, root, opts.platform);
  const { descriptor: desc, bytes, parsed } = sel;
  const indexDescriptor = sel.index;
  const manifest = parsed.manifest;
  const configBytes = await readAllLimited(
    source.openBlob(manifest.config),
    DEFAULT_LIMITS.maxJsonBytes,
    `config ${manifest.config.digest} in ${source.description}`,
  );
  const config = parseImageConfig(
    configBytes,
    `config ${manifest.config.digest} in ${source.description}`,
  );
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new OciError(
      "OCI_INVALID_MANIFEST",
      `${source.description}: manifest lists ${manifest.layers.length} layers but the config has ${config.rootfs.diff_ids.length} diff_ids`,
    );
  }
  const layers = manifest.layers.map((d, i) => ({
    index: i,
    descriptor: d,
    diffId: config.rootfs.diff_ids[i] as Digest,
  }));
  for (const l of layers) {
    if (layerCompression(l.descriptor.mediaType) === undefined) {
      throw new OciError(
        "OCI_UNSUPPORTED_MEDIA_TYPE",
        `${source.description}: layer ${l.index} has unsupported media type "${l.descriptor.mediaType}"`,
        { hint: "supported: OCI and Docker tar layers, uncompressed, gzip or zstd" },
      );
    }
  }
  return {
    source,
    descriptor: { ...desc, mediaType: parsed.mediaType },
    manifestBytes: bytes,
    manifest,
    ...(indexDescriptor ? { indexDescriptor } : {}),
    configBytes,
    config,
    layers,
  };
}

function listPlatforms(entries: readonly Descriptor[]): string {
  const names = entries.map((m) =>
    m.platform ? formatPlatform(m.platform) : m.digest.slice(0, 19),
  );
  return names.length > 0 ? names.join(", ") : "(none)";
}
