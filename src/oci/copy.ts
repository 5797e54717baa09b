import { OciError } from "../core/errors.js";
import { selectImageManifest } from "./image.js";
import type { ImageDestination, ImageSource } from "./transport.js";
import { type Descriptor, type Platform, parseManifest } from "./types.js";

export interface CopyOptions {
  /** Copy only this platform's manifest out of an index. Default: everything, byte for byte. */
  readonly platform?: Platform;
  /** Repository of the source in the same registry, allowing cross-repository mounts. */
  readonly mountFrom?: string;
  /** Progress callback (blob digests as they complete). */
  readonly onProgress?: (event: {
    kind: "blob" | "manifest";
    digest: string;
    skipped: boolean;
  }) => void;
}

export interface CopyResult {
  /** Descriptor of the root manifest written at the destination. */
  readonly descriptor: Descriptor;
  readonly blobsCopied: number;
  readonly blobsSkipped: number;
}

/**
 * Copies an image or index between any two transports. Manifests are copied as bytes, so
 * digests are kept; children are written before their parents.
 * Side effects: writes to the destination, visible only after its commit.
 * @throws OciError from either side; CORE_DIGEST_MISMATCH when the source lies
 */
export async function copyImage(
  src: ImageSource,
  dst: ImageDestination,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const stats = { blobsCopied: 0, blobsSkipped: 0 };
  const root = await src.resolve();
  let rootDesc = root.descriptor;
  let rootBytes = root.bytes;
  if (opts.platform) {
    const sel = await selectImageManifest(src, root, opts.platform);
    rootDesc = sel.descriptor;
    rootBytes = sel.bytes;
  }
  await copyManifest(src, dst, rootDesc, rootBytes, true, opts, stats, 0);
  await dst.commit();
  return { descriptor: rootDesc, ...stats };
}

async function copyBlob(
  src: ImageSource,
  dst: ImageDestination,
  desc: Descriptor,
  opts: CopyOptions,
  stats: { blobsCopied: number; blobsSkipped: number },
): Promise<void> {
  if (await dst.hasBlob(desc)) {
    stats.blobsSkipped++;
    opts.onProgress?.({ kind: "blob", digest: desc.digest, skipped: true });
    return;
  }
  if (opts.mountFrom && dst.mountBlob && (await dst.mountBlob(desc, opts.mountFrom))) {
    stats.blobsSkipped++;
    opts.onProgress?.({ kind: "blob", digest: desc.digest, skipped: true });
    return;
  }
  await dst.putBlob(desc, src.openBlob(desc));
  stats.blobsCopied++;
  opts.onProgress?.({ kind: "blob", digest: desc.digest, skipped: false });
}

async function copyManifest(
  src: ImageSource,
  dst: ImageDestination,
  desc: Descriptor,
  bytes: Uint8Array,
  root: boolean,
  opts: CopyOptions,
  stats: { blobsCopied: number; blobsSkipped: number },
  depth: number,
): Promise<void> {
  if (depth > 8) {
    throw new OciError(
      "OCI_INVALID_MANIFEST",
      `${src.description}: indexes nested deeper than 8 levels`,
    );
  }
  const parsed = parseManifest(
    bytes,
    `manifest ${desc.digest} in ${src.description}`,
    desc.mediaType,
  );
  if (parsed.kind === "index") {
    for (const child of parsed.index.manifests) {
      await copyManifest(
        src,
        dst,
        child,
        await src.fetchManifest(child),
        false,
        opts,
        stats,
        depth + 1,
      );
    }
  } else {
    await copyBlob(src, dst, parsed.manifest.config, opts, stats);
    for (const layer of parsed.manifest.layers) {
      await copyBlob(src, dst, layer, opts, stats);
    }
  }
  await dst.putManifest({ ...desc, mediaType: parsed.mediaType }, bytes, root);
  opts.onProgress?.({ kind: "manifest", digest: desc.digest, skipped: false });
}
