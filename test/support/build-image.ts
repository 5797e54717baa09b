import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readTar, type TarEntryInput, TarWriter } from "../../src/oci/index.js";
import { debDataTar, debMd5sums, debPackageName, debStatusStanza } from "./debs.js";

/** One entry of a hand-described layer (for whiteouts, hostile names and the like). */
export interface LayerFile extends TarEntryInput {
  readonly body?: Uint8Array | string;
}

export type LayerSpec =
  | {
      readonly kind: "debs";
      readonly debs: readonly string[];
      /** Write /var/lib/dpkg/status and info/*.list, *.md5sums (default), or distroless status.d files, or nothing. */
      readonly dpkgStatus?: boolean | "status.d";
      /** Extra entries appended to the layer (whiteouts, files). */
      readonly extra?: readonly LayerFile[];
    }
  | { readonly kind: "files"; readonly files: readonly LayerFile[] }
  /** What `dpkg --purge` leaves: whiteouts of the packages' files and info, a new status file. */
  | { readonly kind: "purge"; readonly debs: readonly string[] }
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

/**
 * Builds an uncompressed layer tar from .deb data tars plus the dpkg database that installing
 * them writes: /var/lib/dpkg/status with info/<pkg>.list and .md5sums (or, distroless-style,
 * one /var/lib/dpkg/status.d/<pkg> file per package with its .md5sums beside it).
 */
export async function layerFromDebs(
  debs: readonly string[],
  dpkgStatus: boolean | "status.d" = true,
  extra: readonly LayerFile[] = [],
  /** Packages whose stanzas the status file holds (those of earlier layers too); default `debs`. */
  statusDebs: readonly string[] = debs,
): Promise<Buffer> {
  const out = new MemoryWritable();
  const w = new TarWriter(out as never);
  const seen = new Set<string>();
  const lists = new Map<string, string[]>();
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
    const list: string[] = [];
    for (const { e, chunks } of pending) {
      const key = e.name.replace(/^\.\//, "").replace(/\/$/, "");
      list.push(key === "." || key === "" ? "/." : `/${key}`);
      if (e.type === "dir" && seen.has(key)) {
        continue;
      }
      seen.add(key);
      await w.add(e, e.type === "file" ? Buffer.concat(chunks) : undefined);
    }
    lists.set(deb, list);
  }
  const ensureDirs = async (dirs: string[]): Promise<void> => {
    for (const d of dirs) {
      const key = d.replace(/^\.\//, "").replace(/\/$/, "");
      if (!seen.has(key)) {
        seen.add(key);
        await w.add({ name: d, type: "dir", mode: 0o755 });
      }
    }
  };
  if (dpkgStatus === true) {
    const status = statusDebs.map(debStatusStanza).join("\n");
    await ensureDirs(["./var/", "./var/lib/", "./var/lib/dpkg/", "./var/lib/dpkg/info/"]);
    await w.add({ name: "./var/lib/dpkg/status", type: "file", mode: 0o644 }, Buffer.from(status));
    for (const deb of debs) {
      const name = debPackageName(deb);
      await w.add(
        { name: `./var/lib/dpkg/info/${name}.list`, type: "file", mode: 0o644 },
        Buffer.from(`${(lists.get(deb) ?? []).join("\n")}\n`),
      );
      const md5 = debMd5sums(deb);
      if (md5) {
        await w.add(
          { name: `./var/lib/dpkg/info/${name}.md5sums`, type: "file", mode: 0o644 },
          Buffer.from(md5),
        );
      }
    }
  } else if (dpkgStatus === "status.d") {
    await ensureDirs(["./var/", "./var/lib/", "./var/lib/dpkg/", "./var/lib/dpkg/status.d/"]);
    for (const deb of debs) {
      const name = debPackageName(deb);
      // distroless writes the control stanza without a Status field
      const stanza = debStatusStanza(deb).replace(/^Status: .*\n/m, "");
      await w.add(
        { name: `./var/lib/dpkg/status.d/${name}`, type: "file", mode: 0o644 },
        Buffer.from(stanza),
      );
      const md5 = debMd5sums(deb);
      if (md5) {
        await w.add(
          { name: `./var/lib/dpkg/status.d/${name}.md5sums`, type: "file", mode: 0o644 },
          Buffer.from(md5),
        );
      }
    }
  }
  for (const f of extra) {
    await w.add(f, typeof f.body === "string" ? Buffer.from(f.body) : f.body);
  }
  await w.finish();
  return out.bytes();
}

async function debEntries(deb: string): Promise<{ path: string; dir: boolean }[]> {
  const out: { path: string; dir: boolean }[] = [];
  await readTar(once(debDataTar(deb)), {
    onEntry: (e) => {
      const rel = e.name.replace(/^\.\//, "").replace(/\/$/, "");
      if (rel && rel !== ".") {
        out.push({ path: rel, dir: e.type === "dir" });
      }
      return undefined;
    },
  });
  return out;
}

/**
 * What `dpkg --purge` leaves as a layer: whiteouts of the packages' files, of their
 * directories that no remaining package uses, of their info files; a new status file.
 */
async function purgeLayer(debs: readonly string[], remaining: readonly string[]): Promise<Buffer> {
  const files: LayerFile[] = [
    {
      name: "var/lib/dpkg/status",
      type: "file",
      mode: 0o644,
      body: remaining.map(debStatusStanza).join("\n"),
    },
  ];
  const kept = new Set<string>();
  for (const deb of remaining) {
    for (const e of await debEntries(deb)) {
      if (e.dir) {
        kept.add(e.path);
      }
    }
  }
  const whiteout = (rel: string): LayerFile => {
    const slash = rel.lastIndexOf("/");
    return { name: `${rel.slice(0, slash + 1)}.wh.${rel.slice(slash + 1)}`, type: "file" };
  };
  for (const deb of debs) {
    const name = debPackageName(deb);
    files.push(
      whiteout(`var/lib/dpkg/info/${name}.list`),
      whiteout(`var/lib/dpkg/info/${name}.md5sums`),
    );
    const entries = await debEntries(deb);
    const gone = new Set(entries.filter((e) => e.dir && !kept.has(e.path)).map((e) => e.path));
    for (const e of entries) {
      const parent = e.path.includes("/") ? e.path.slice(0, e.path.lastIndexOf("/")) : "";
      if (gone.has(parent)) {
        continue; // covered by the whiteout of its directory
      }
      if (!e.dir || gone.has(e.path)) {
        files.push(whiteout(e.path));
      }
    }
  }
  return layerFromFiles(files);
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
  let installed: string[] = [];
  for (const spec of opts.layers) {
    let tar: Buffer;
    if (spec.kind === "debs") {
      if ((spec.dpkgStatus ?? true) === true) {
        installed = [...installed, ...spec.debs];
      }
      tar = await layerFromDebs(spec.debs, spec.dpkgStatus ?? true, spec.extra, installed);
    } else if (spec.kind === "purge") {
      installed = installed.filter((d) => !spec.debs.includes(d));
      tar = await purgeLayer(spec.debs, installed);
    } else {
      tar = spec.kind === "files" ? await layerFromFiles(spec.files) : Buffer.from(spec.tar);
    }
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
