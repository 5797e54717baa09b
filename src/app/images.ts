import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { type Digest, isDigest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import type { Issue } from "../core/issues.js";
import type { Limits } from "../core/limits.js";
import {
  copyImage,
  type Descriptor,
  formatPlatform,
  type ImageSource,
  openDestination,
  openSource,
  type Platform,
  parseImageLocation,
  type ResolvedImage,
  resolveImage,
} from "../oci/index.js";
import {
  type ExportResult,
  exportFilesystem,
  type FileNode,
  ImageFilesystem,
} from "../source/index.js";
import type { EvidenceLink } from "../store/index.js";
import type { AppContext } from "./context.js";

/** Media type of the file inventory evidence this tool records. */
export const FILE_INVENTORY_MEDIA_TYPE = "application/vnd.cleanimg.file-inventory.v1+json";

export interface ImageOptions {
  readonly platform?: Platform;
  readonly limits?: Partial<Limits>;
  readonly signal?: AbortSignal;
}

async function withImage<T>(
  ctx: AppContext,
  ref: string,
  opts: ImageOptions,
  fn: (img: ResolvedImage) => Promise<T>,
): Promise<T> {
  const src: ImageSource = await openSource(parseImageLocation(ref), ctx);
  try {
    const img = await resolveImage(src, opts.platform ? { platform: opts.platform } : {});
    return await fn(img);
  } finally {
    await src.close();
  }
}

/** What `image inspect` reports. */
export interface ImageInspection {
  readonly reference: string;
  readonly source: string;
  readonly index?: Descriptor;
  readonly manifest: Descriptor;
  readonly platform?: string;
  readonly config: Descriptor & { readonly created?: string };
  readonly layers: readonly { readonly descriptor: Descriptor; readonly diffId: Digest }[];
  readonly env?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly evidence: readonly EvidenceLink[];
  /** The manifest's annotations (org.opencontainers.image.base.digest names the base image). */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * Reads an image's manifest and configuration (verified) and records both as evidence.
 * Side effects: writes the manifest and config into the evidence store unless `record` is false.
 */
export async function inspectImage(
  ctx: AppContext,
  ref: string,
  opts: ImageOptions & { record?: boolean } = {},
): Promise<ImageInspection> {
  return withImage(ctx, ref, opts, async (img) => {
    const evidence = opts.record === false ? [] : await recordImageDocuments(ctx, img);
    const c = img.config.config as Record<string, unknown> | undefined;
    const arr = (v: unknown): string[] | undefined =>
      Array.isArray(v) ? v.map(String) : undefined;
    const platform =
      img.config.os && img.config.architecture
        ? formatPlatform({
            os: img.config.os,
            architecture: img.config.architecture,
            ...(img.config.variant ? { variant: img.config.variant } : {}),
          })
        : undefined;
    const env = arr(c?.["Env"]);
    const entrypoint = arr(c?.["Entrypoint"]);
    const cmd = arr(c?.["Cmd"]);
    return {
      reference: ref,
      source: img.source.description,
      ...(img.manifest.annotations ? { annotations: img.manifest.annotations } : {}),
      ...(img.indexDescriptor ? { index: img.indexDescriptor } : {}),
      manifest: img.descriptor,
      ...(platform ? { platform } : {}),
      config: {
        ...img.manifest.config,
        ...(img.config.created ? { created: img.config.created } : {}),
      },
      layers: img.layers.map((l) => ({ descriptor: l.descriptor, diffId: l.diffId })),
      ...(env ? { env } : {}),
      ...(entrypoint ? { entrypoint } : {}),
      ...(cmd ? { cmd } : {}),
      evidence,
    };
  });
}

async function recordImageDocuments(ctx: AppContext, img: ResolvedImage): Promise<EvidenceLink[]> {
  const store = ctx.evidence();
  const subject = img.descriptor.digest;
  const m = await store.putBlob(img.manifestBytes, img.descriptor.mediaType);
  const c = await store.putBlob(img.configBytes, img.manifest.config.mediaType);
  return [
    await store.link(subject, m, "image-manifest"),
    await store.link(subject, c, "image-config"),
  ];
}

/** What `image files` reports. */
export interface FileListing {
  readonly manifest: Digest;
  readonly layers: readonly { readonly digest: Digest; readonly diffId: Digest }[];
  readonly files: readonly FileNode[];
  readonly issues: readonly Issue[];
  readonly evidence?: EvidenceLink;
}

/**
 * Walks the merged filesystem of an image and, unless `record` is false, records the file
 * inventory as evidence linked to the manifest digest.
 */
export async function listImageFiles(
  ctx: AppContext,
  ref: string,
  opts: ImageOptions & { record?: boolean } = {},
): Promise<FileListing> {
  return withImage(ctx, ref, opts, async (img) => {
    ctx.progress(`reading ${img.layers.length} layers of ${img.source.description}`);
    const fs = await ImageFilesystem.open(img, {
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const files = fs.list();
    const layers = img.layers.map((l) => ({ digest: l.descriptor.digest, diffId: l.diffId }));
    let evidence: EvidenceLink | undefined;
    if (opts.record !== false) {
      await recordImageDocuments(ctx, img);
      const inventory = new TextEncoder().encode(
        JSON.stringify({
          mediaType: FILE_INVENTORY_MEDIA_TYPE,
          image: img.descriptor.digest,
          layers,
          files: files.map(fileRecord),
          issues: fs.issues,
        }),
      );
      const store = ctx.evidence();
      const d = await store.putBlob(inventory, FILE_INVENTORY_MEDIA_TYPE);
      evidence = await store.link(img.descriptor.digest, d, "file-inventory", {
        files: String(files.length),
      });
    }
    return {
      manifest: img.descriptor.digest,
      layers,
      files,
      issues: fs.issues,
      ...(evidence ? { evidence } : {}),
    };
  });
}

/** The JSON shape of one file (mode as an octal string, layer index and diff id). */
export function fileRecord(f: FileNode): Record<string, unknown> {
  return {
    path: f.path,
    type: f.type,
    mode: f.mode.toString(8).padStart(4, "0"),
    uid: f.uid,
    gid: f.gid,
    size: f.size,
    layer: f.layer,
    ...(f.linkname !== undefined ? { linkname: f.linkname } : {}),
  };
}

/** Writes an image's merged filesystem into a new or empty directory. */
export async function exportImage(
  ctx: AppContext,
  ref: string,
  dir: string,
  opts: ImageOptions & { maxBytes?: number } = {},
): Promise<ExportResult & { manifest: Digest }> {
  return withImage(ctx, ref, opts, async (img) => {
    ctx.progress(`reading ${img.layers.length} layers of ${img.source.description}`);
    const fs = await ImageFilesystem.open(img, opts.limits ? { limits: opts.limits } : {});
    ctx.progress(`writing ${dir}`);
    const r = await exportFilesystem(fs, dir, {
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
    });
    return { ...r, manifest: img.descriptor.digest };
  });
}

/** Copies an image between any two locations. */
/**
 * Refuses a destination whose directory `dir` cannot be made: the nearest part of it that
 * exists is not a directory (a regular file in the way of an image layout or an archive).
 * Missing parts are fine (they are made).
 * @throws ToolError CORE_OUTPUT_UNWRITABLE naming `path` (the user's) and the part in the way
 */
async function assertDirectoryPath(dir: string, path: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    const s = await stat(d).catch((e: NodeJS.ErrnoException) =>
      e.code === "ENOENT" || e.code === "ENOTDIR" ? undefined : null,
    );
    if (s === null || s?.isDirectory()) {
      return; // a directory (or a problem the write itself reports)
    }
    if (s) {
      throw new ToolError(
        "CORE_OUTPUT_UNWRITABLE",
        `cannot write ${path}: ${d} is not a directory`,
        {
          hint: "give a path whose existing parts are directories (missing ones are made)",
        },
      );
    }
    if (dirname(d) === d) {
      return;
    }
  }
}

export async function copyImageBetween(
  ctx: AppContext,
  from: string,
  to: string,
  opts: { platform?: Platform } = {},
): Promise<{
  digest: Digest;
  mediaType: string;
  blobsCopied: number;
  blobsSkipped: number;
  destination: string;
}> {
  const srcLoc = parseImageLocation(from);
  const dstLoc = parseImageLocation(to);
  if (dstLoc.kind === "oci") {
    await assertDirectoryPath(dstLoc.path, dstLoc.path);
  } else if (dstLoc.kind === "oci-archive" || dstLoc.kind === "docker-archive") {
    await assertDirectoryPath(dirname(dstLoc.path), dstLoc.path);
  }
  const src = await openSource(srcLoc, ctx);
  const dst = openDestination(dstLoc, ctx);
  const mountFrom =
    (srcLoc.kind === "registry" || srcLoc.kind === "bare") &&
    (dstLoc.kind === "registry" || dstLoc.kind === "bare") &&
    srcLoc.ref.domain === dstLoc.ref.domain &&
    srcLoc.ref.path !== dstLoc.ref.path
      ? srcLoc.ref.path
      : undefined;
  try {
    const r = await copyImage(src, dst, {
      ...(opts.platform ? { platform: opts.platform } : {}),
      ...(mountFrom ? { mountFrom } : {}),
      onProgress: (e) =>
        ctx.progress(`${e.kind} ${e.digest.slice(0, 19)} ${e.skipped ? "exists" : "copied"}`),
    });
    return {
      digest: r.descriptor.digest,
      mediaType: r.descriptor.mediaType,
      blobsCopied: r.blobsCopied,
      blobsSkipped: r.blobsSkipped,
      destination: dst.description,
    };
  } finally {
    await dst.close();
    await src.close();
  }
}

/** Evidence linked to a subject (or all, filtered by kind and time). */
export async function listEvidence(
  ctx: AppContext,
  q: { subject?: Digest; kind?: string; since?: string; until?: string },
): Promise<readonly EvidenceLink[]> {
  return ctx.evidence().find(q);
}

/** An image as the evidence sees it: its digest and, when known, its manifest's annotations. */
export interface ImageSubject {
  readonly reference: string;
  readonly digest: Digest;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Whether the manifest could be read (from the image, or as evidence in the store). */
  readonly manifestKnown: boolean;
}

/**
 * Resolves an image reference to its subject. A bare digest (`sha256:…`) is resolved from the
 * evidence store alone, never by reading an image: its manifest is known only when recorded as
 * evidence. Anything else is read as `inspectImage` does.
 */
export async function resolveSubject(ctx: AppContext, ref: string): Promise<ImageSubject> {
  if (!isDigest(ref)) {
    const img = await inspectImage(ctx, ref, { record: false });
    return {
      reference: ref,
      digest: img.manifest.digest,
      ...(img.annotations ? { annotations: img.annotations } : {}),
      manifestKnown: true,
    };
  }
  const store = ctx.evidence();
  const [m] = await store.find({ subject: ref, kind: "image-manifest", limit: 1 });
  if (!m) {
    return { reference: ref, digest: ref, manifestKnown: false };
  }
  const manifest = JSON.parse(
    new TextDecoder().decode((await store.getBlob(m.evidence)).bytes),
  ) as {
    annotations?: Record<string, string>;
  };
  return {
    reference: ref,
    digest: ref,
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
    manifestKnown: true,
  };
}
