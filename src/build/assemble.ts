import { promisify } from "node:util";
import { gzip as gzipCb } from "node:zlib";
import { sha256 } from "../core/digest.js";
import { LayoutDestination, MediaType, type ResolvedImage, streamOf } from "../oci/index.js";
import { configBytes, manifestBytes } from "./image-config.js";
import {
  type AssembledImage,
  type AssembleOptions,
  checkDebs,
  type FileRecord,
  layerSetsOf,
  records,
  tarOf,
} from "./layers.js";

export type { AssembledImage, FileRecord, LockedPackage } from "./layers.js";

/**
 * Assembles an image from verified .deb files and build-context files, deterministically:
 * entries sorted by path, times clamped to the build epoch, owner names dropped, one gzip
 * setting, JSON written in a fixed key order. The same inputs give the same digest on any day.
 * Packages are recorded the distroless way (/var/lib/dpkg/status.d/NAME and NAME.md5sums) so
 * that scanners see them.
 */

/**
 * Builds the image into an OCI layout directory (tagged `refName`).
 * @throws ToolError CORE_DIGEST_MISMATCH when a .deb is not the one the lock names
 */
export async function assembleImage(o: AssembleOptions): Promise<AssembledImage> {
  await checkDebs(o.debs);
  const layerSets = await layerSetsOf(o);
  const created = new Date(o.epoch * 1000).toISOString().replace(/\.000Z$/, "Z");
  const dest = new LayoutDestination(o.outDir, { refName: o.refName });
  const layers: AssembledImage["layers"][number][] = [];
  const files: FileRecord[] = [];
  const baseImg = o.base?.image;
  const baseLayers = (baseImg?.layers ?? []).map((l) => ({
    // the same bytes under the OCI name of their media type
    mediaType:
      l.descriptor.mediaType === MediaType.DockerLayerGzip
        ? MediaType.OciLayerGzip
        : l.descriptor.mediaType,
    digest: l.descriptor.digest,
    size: l.descriptor.size,
  }));
  try {
    for (const [i, l] of (baseImg?.layers ?? []).entries()) {
      await dest.putBlob(
        baseLayers[i] as never,
        (baseImg as ResolvedImage).source.openBlob(l.descriptor),
      );
    }
    for (const set of layerSets) {
      const tar = tarOf(set.items);
      const gz = await gzipMembers(tar);
      const digest = sha256(gz);
      await dest.putBlob(
        { mediaType: MediaType.OciLayerGzip, digest, size: gz.length },
        streamOf(gz),
      );
      layers.push({ digest, diffId: sha256(tar), size: gz.length });
      files.push(...records(set.items));
    }
    const config = configBytes(o, created, layerSets, layers);
    const configDigest = sha256(config);
    await dest.putBlob(
      { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
      streamOf(config),
    );
    const manifest = manifestBytes(
      o,
      created,
      { digest: configDigest, size: config.length },
      baseLayers,
      layers,
    );
    const manifestDigest = sha256(manifest);
    await dest.putManifest(
      { mediaType: MediaType.OciManifest, digest: manifestDigest, size: manifest.length },
      manifest,
      true,
    );
    await dest.commit();
    return { manifestDigest, manifest, configDigest, layers, files };
  } finally {
    await dest.close();
  }
}

const GZIP_MEMBER = 4 * 1024 * 1024;
const gzip = promisify(gzipCb);

/**
 * Gzip in fixed 4 MiB members compressed in parallel (zlib's thread pool) and concatenated: a
 * valid multi-member gzip stream that every layer reader accepts, and the same bytes for the
 * same input whatever the machine's core count.
 */
async function gzipMembers(data: Uint8Array): Promise<Uint8Array> {
  const parts: Promise<Buffer>[] = [];
  for (let off = 0; off < data.length || off === 0; off += GZIP_MEMBER) {
    parts.push(gzip(data.subarray(off, off + GZIP_MEMBER), { level: 6 }));
    if (data.length === 0) {
      break;
    }
  }
  return Buffer.concat(await Promise.all(parts));
}

/** What differs between two builds' filesystems (empty when they match). */
export function diffFiles(a: readonly FileRecord[], b: readonly FileRecord[]): string[] {
  const key = (r: FileRecord): string =>
    JSON.stringify([
      r.type,
      r.mode,
      r.uid,
      r.gid,
      r.mtime,
      r.size,
      r.sha256 ?? "",
      r.linkname ?? "",
    ]);
  const ma = new Map(a.map((r) => [r.path, r]));
  const mb = new Map(b.map((r) => [r.path, r]));
  const out: string[] = [];
  for (const [p, r] of ma) {
    const s = mb.get(p);
    if (!s) {
      out.push(`${p}: only in the first build (from ${r.from})`);
    } else if (key(r) !== key(s)) {
      const fields = (
        ["type", "mode", "uid", "gid", "mtime", "size", "sha256", "linkname"] as const
      ).filter((f) => r[f] !== s[f]);
      out.push(
        `${p}: ${fields.map((f) => `${f} ${String(r[f])} vs ${String(s[f])}`).join(", ")} (from ${r.from})`,
      );
    }
  }
  for (const [p, s] of mb) {
    if (!ma.has(p)) {
      out.push(`${p}: only in the second build (from ${s.from})`);
    }
  }
  return out;
}
