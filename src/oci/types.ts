import { type Digest, parseDigest } from "../core/digest.js";
import { isToolError, OciError } from "../core/errors.js";
import { assertJsonDepth } from "../core/json.js";
import { isIndexMediaType, isManifestMediaType } from "./media-types.js";

/** An OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
  readonly artifactType?: string;
  readonly urls?: readonly string[];
}

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly "os.version"?: string;
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The parts of the image configuration this tool reads. Unknown fields are kept in `raw`. */
export interface ImageConfig {
  readonly architecture?: string;
  readonly os?: string;
  readonly variant?: string;
  readonly created?: string;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly rootfs: { readonly type: string; readonly diff_ids: readonly Digest[] };
  readonly history?: readonly Readonly<Record<string, unknown>>[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    assertJsonDepth(text, what);
    v = JSON.parse(text);
  } catch (e) {
    if (isToolError(e)) {
      throw e;
    }
    throw new OciError("OCI_INVALID_MANIFEST", `${what} is not valid JSON`, { cause: e });
  }
  if (!isRecord(v)) {
    throw new OciError("OCI_INVALID_MANIFEST", `${what} is not a JSON object`);
  }
  return v;
}

function parseStringMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined) {
    return undefined;
  }
  if (!isRecord(v) || Object.values(v).some((x) => typeof x !== "string")) {
    throw new OciError("OCI_INVALID_MANIFEST", `${what}: annotations must map strings to strings`);
  }
  return v as Record<string, string>;
}

/**
 * Validates a descriptor object.
 * @throws OciError OCI_INVALID_MANIFEST
 */
export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isRecord(v)) {
    throw new OciError("OCI_INVALID_MANIFEST", `${what}: descriptor is not an object`);
  }
  const { mediaType, digest, size, annotations, platform, artifactType, urls } = v;
  if (typeof mediaType !== "string" || mediaType.length === 0) {
    throw new OciError("OCI_INVALID_MANIFEST", `${what}: descriptor has no mediaType`);
  }
  if (typeof digest !== "string") {
    throw new OciError("OCI_INVALID_MANIFEST", `${what}: descriptor has no digest`);
  }
  let d: Digest;
  try {
    d = parseDigest(digest);
  } catch (e) {
    throw new OciError("OCI_INVALID_MANIFEST", `${what}: ${(e as Error).message}`, { cause: e });
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new OciError("OCI_INVALID_MANIFEST", `${what}: descriptor size must be an integer >= 0`);
  }
  const ann = parseStringMap(annotations, what);
  let plat: Platform | undefined;
  if (platform !== undefined) {
    if (
      !isRecord(platform) ||
      typeof platform["architecture"] !== "string" ||
      typeof platform["os"] !== "string"
    ) {
      throw new OciError("OCI_INVALID_MANIFEST", `${what}: platform needs architecture and os`);
    }
    plat = platform as unknown as Platform;
  }
  return {
    mediaType,
    digest: d,
    size,
    ...(ann ? { annotations: ann } : {}),
    ...(plat ? { platform: plat } : {}),
    ...(typeof artifactType === "string" ? { artifactType } : {}),
    ...(Array.isArray(urls)
      ? { urls: urls.filter((u): u is string => typeof u === "string") }
      : {}),
  };
}

/** A parsed manifest or index, discriminated by `kind`. */
export type ParsedManifest =
  | { readonly kind: "index"; readonly index: ImageIndex; readonly mediaType: string }
  | { readonly kind: "manifest"; readonly manifest: ImageManifest; readonly mediaType: string };

/**
 * Parses a manifest or index. `mediaType` is the type the transport reported (or the
 * descriptor's), used when the document itself omits it (allowed for OCI).
 * @throws OciError OCI_INVALID_MANIFEST, OCI_UNSUPPORTED_MEDIA_TYPE
 */
export function parseManifest(bytes: Uint8Array, what: string, mediaType?: string): ParsedManifest {
  const v = parseJson(bytes, what);
  if (v["schemaVersion"] !== 2) {
    throw new OciError(
      "OCI_UNSUPPORTED_MEDIA_TYPE",
      `${what}: schemaVersion ${String(v["schemaVersion"])} is not supported (only 2)`,
      { hint: "Docker schema 1 manifests are deprecated; re-push the image with a current tool" },
    );
  }
  const docType = typeof v["mediaType"] === "string" ? v["mediaType"] : undefined;
  const mt =
    docType ??
    (mediaType && (isIndexMediaType(mediaType) || isManifestMediaType(mediaType))
      ? mediaType
      : undefined) ??
    (Array.isArray(v["manifests"]) ? "application/vnd.oci.image.index.v1+json" : undefined) ??
    (isRecord(v["config"]) ? "application/vnd.oci.image.manifest.v1+json" : undefined);
  const annotations = parseStringMap(v["annotations"], what);
  const subject =
    v["subject"] === undefined ? undefined : parseDescriptor(v["subject"], `${what} subject`);
  const common = {
    schemaVersion: 2 as const,
    ...(docType ? { mediaType: docType } : {}),
    ...(typeof v["artifactType"] === "string" ? { artifactType: v["artifactType"] } : {}),
    ...(subject ? { subject } : {}),
    ...(annotations ? { annotations } : {}),
  };
  if (isIndexMediaType(mt)) {
    const m = v["manifests"];
    if (!Array.isArray(m)) {
      throw new OciError("OCI_INVALID_MANIFEST", `${what}: index has no manifests array`);
    }
    return {
      kind: "index",
      mediaType: mt as string,
      index: {
        ...common,
        manifests: m.map((d, i) => parseDescriptor(d, `${what} manifests[${i}]`)),
      },
    };
  }
  if (isManifestMediaType(mt)) {
    const layers = v["layers"];
    if (!Array.isArray(layers)) {
      throw new OciError("OCI_INVALID_MANIFEST", `${what}: manifest has no layers array`);
    }
    return {
      kind: "manifest",
      mediaType: mt as string,
      manifest: {
        ...common,
        config: parseDescriptor(v["config"], `${what} config`),
        layers: layers.map((d, i) => parseDescriptor(d, `${what} layers[${i}]`)),
      },
    };
  }
  throw new OciError(
    "OCI_UNSUPPORTED_MEDIA_TYPE",
    `${what}: unsupported manifest media type "${mt ?? "(none)"}"`,
  );
}

/**
 * Parses an image configuration.
 * @throws OciError OCI_INVALID_MANIFEST
 */
export function parseImageConfig(bytes: Uint8Array, what: string): ImageConfig {
  const v = parseJson(bytes, what);
  const rootfs = v["rootfs"];
  if (!isRecord(rootfs) || !Array.isArray(rootfs["diff_ids"])) {
    throw new OciError("OCI_INVALID_MANIFEST", `${what}: config has no rootfs.diff_ids`);
  }
  const diffIds = rootfs["diff_ids"].map((d, i) => {
    if (typeof d !== "string") {
      throw new OciError("OCI_INVALID_MANIFEST", `${what}: rootfs.diff_ids[${i}] is not a string`);
    }
    try {
      return parseDigest(d);
    } catch (e) {
      throw new OciError(
        "OCI_INVALID_MANIFEST",
        `${what}: rootfs.diff_ids[${i}]: ${(e as Error).message}`,
      );
    }
  });
  return {
    ...(v as Omit<ImageConfig, "rootfs">),
    rootfs: { type: String(rootfs["type"] ?? "layers"), diff_ids: diffIds },
  };
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/**
 * Parses `os/arch[/variant]`.
 * @throws OciError OCI_INVALID_REFERENCE
 */
export function parsePlatform(s: string): Platform {
  const parts = s.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.length === 0)) {
    throw new OciError("OCI_INVALID_REFERENCE", `invalid platform "${s}"`, {
      hint: "use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8",
    });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** The platform of this machine, in OCI terms. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm" };
  return { os: "linux", architecture: arch[process.arch] ?? process.arch };
}
