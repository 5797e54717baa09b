import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readTar, type TarEntryInput, TarWriter } from "../../src/oci/index.js";
import { debDataTar, debStatusStanza } from "./debs.js";

/** One entry of a hand-described layer (for whiteouts, hostile names and the like). */
export interface LayerFile extends TarEntryInput {
  readonly body?: Uint8Array | string;
}

export type LayerSpec =
  | { readonly kind: "debs"; readonly debs: readonly string[]; readonly dpkgStatus?: boolean }
  | { readonly kind: "files"; readonly files: readonly LayerFile[] }
  | { readonly kind: "raw"; readonly tar: Uint8Array };

export interface BuildOptions {
  readonly dir: string;
  readonly layers: readonly LayerSpec[];
  readonly tag?: string;
  readonly compression?: "gzip" | "none";
  readonly platform?: { os: string; architecture: string };
  readonly config?: Record<string, unknown>;
}

export interface BuiltImage {
  readonly dir: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly diffIds: string[];
  readonly layerDigests: string[];
  readonly manifestBytes: Buffer;
}

const sha = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A minimal writable that keeps what TarWriter writes, for small in-memory archives. */
export class MemoryWritable {
  chunks: Uint8Array[] = [];
  write(c: Uint8Array): boolean {
    this.chunks.push(Buffer.from(c));
    return true;
  }
  once(): this {
    return this;
  }
  off(): this {
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

/** Builds an uncompressed layer tar from .deb data tars (plus a dpkg status file). */
export async function layerFromDebs(debs: readonly string[], dpkgStatus = true): Promise<Buffer> {
  const out = new MemoryWritable();
  const w = new TarWriter(out as never);
  const seen = new Set<string>();
  for (const deb of debs) {
    const data = debDataTar(deb);
    const pending: { e: TarEntryInput; chunks: Uint8Array[] }[] = [];
    await readTar(once(data), {
      onEntry: (e) => {
        const item = { e: { ...e } as TarEntryInput, chunks: [] as Uint8Array[] };
        pending.push(item);
        return {
          write: (c) => {
            item.chunks.push(Buffer.from(c));
          },
          close: () => {},
        };
      },
    });
    for (const { e, chunks } of pending) {
      const key = e.name.replace(/^\.\//, "").replace(/\/$/, "");
      if (e.type === "dir" && seen.has(key)) {
        continue;
      }
      seen.add(key);
      await w.add(e, e.type === "file" ? Buffer.concat(chunks) : undefined);
    }
  }
  if (dpkgStatus) {
    const status = debs.map(debStatusStanza).join("\n");
    for (const d of ["./var/", "./var/lib/", "./var/lib/dpkg/"]) {
      if (!seen.has(d.replace(/^\.\//, "").replace(/\/$/, ""))) {
        await w.add({ name: d, type: "dir", mode: 0o755 });
      }
    }
    await w.add({ name: "./var/lib/dpkg/status", type: "file", mode: 0o644 }, Buffer.from(status));
  }
  await w.finish();
  return out.bytes();
}

/** Builds an uncompressed layer tar from described entries. */
export async function layerFromFiles(files: readonly LayerFile[]): Promise<Buffer> {
  const out = new MemoryWritable();
  const w = new TarWriter(out as never);
  for (const f of files) {
    const body = typeof f.body === "string" ? Buffer.from(f.body) : f.body;
    await w.add(f, body);
  }
  await w.finish();
  return out.bytes();
}

/** Writes a blob into a layout's blobs/sha256 and returns its digest. */
export function writeBlob(dir: string, bytes: Uint8Array): string {
  const d = sha(bytes);
  const p = join(dir, "blobs", "sha256", d.slice(7));
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(p, bytes);
  return d;
}

/** Writes an OCI image layout holding one image built from the given layers. */
export async function buildImageLayout(opts: BuildOptions): Promise<BuiltImage> {
  mkdirSync(opts.dir, { recursive: true });
  const compression = opts.compression ?? "gzip";
  const diffIds: string[] = [];
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  for (const spec of opts.layers) {
    const tar =
      spec.kind === "debs"
        ? await layerFromDebs(spec.debs, spec.dpkgStatus ?? true)
        : spec.kind === "files"
          ? await layerFromFiles(spec.files)
          : Buffer.from(spec.tar);
    diffIds.push(sha(tar));
    const blob = compression === "gzip" ? gzipSync(tar, { level: 6 }) : tar;
    layers.push({
      mediaType:
        compression === "gzip"
          ? "application/vnd.oci.image.layer.v1.tar+gzip"
          : "application/vnd.oci.image.layer.v1.tar",
      digest: writeBlob(opts.dir, blob),
      size: blob.length,
    });
  }
  const platform = opts.platform ?? { os: "linux", architecture: "amd64" };
  const config = Buffer.from(
    JSON.stringify({
      ...platform,
      created: "2024-01-01T00:00:00Z",
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: layers.map(() => ({ created: "2024-01-01T00:00:00Z", created_by: "cleanimg test" })),
      ...opts.config,
    }),
  );
  const configDigest = writeBlob(opts.dir, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: configDigest,
        size: config.length,
      },
      layers,
    }),
  );
  const manifestDigest = writeBlob(opts.dir, manifest);
  writeFileSync(join(opts.dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(opts.dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: manifestDigest,
          size: manifest.length,
          platform,
          ...(opts.tag ? { annotations: { "org.opencontainers.image.ref.name": opts.tag } } : {}),
        },
      ],
    }),
  );
  return {
    dir: opts.dir,
    manifestDigest,
    configDigest,
    diffIds,
    layerDigests: layers.map((l) => l.digest),
    manifestBytes: manifest,
  };
}

/**
 * Writes a layout whose index.json names an image index (optionally nested one level) over
 * one image per platform; returns the digests.
 */
export async function buildMultiPlatformLayout(opts: {
  dir: string;
  tag: string;
  platforms: readonly { os: string; architecture: string; variant?: string }[];
  nested?: boolean;
}): Promise<{ indexDigest: string; manifests: Record<string, string> }> {
  const entries: Record<string, unknown>[] = [];
  const manifests: Record<string, string> = {};
  for (const p of opts.platforms) {
    const b = await buildImageLayout({
      dir: opts.dir,
      platform: p,
      layers: [
        {
          kind: "files",
          files: [
            { name: "etc/", type: "dir" },
            { name: "etc/arch", type: "file", body: `${p.architecture}\n` },
          ],
        },
      ],
    });
    manifests[`${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`] = b.manifestDigest;
    entries.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: b.manifestDigest,
      size: b.manifestBytes.length,
      platform: p,
    });
  }
  let index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: entries,
    }),
  );
  let indexDigest = writeBlob(opts.dir, index);
  if (opts.nested) {
    index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.index.v1+json",
            digest: indexDigest,
            size: index.length,
          },
        ],
      }),
    );
    indexDigest = writeBlob(opts.dir, index);
  }
  writeFileSync(
    join(opts.dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.index.v1+json",
          digest: indexDigest,
          size: index.length,
          annotations: { "org.opencontainers.image.ref.name": opts.tag },
        },
      ],
    }),
  );
  return { indexDigest, manifests };
}
