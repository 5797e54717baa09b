import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  type Digest,
  Digester,
  digestHex,
  parseDigest,
  sha256,
  verifyStream,
} from "../core/digest.js";
import { OciError } from "../core/errors.js";
import { DEFAULT_LIMITS } from "../core/limits.js";
import { endStream, writeTarAtomically } from "./archive.js";
import { decompressLayer } from "./compress.js";
import { TarFiles } from "./files.js";
import { MediaType } from "./media-types.js";
import { formatImageRef, parseImageRef } from "./ref.js";
import type { ImageDestination, ImageSource } from "./transport.js";
import { type Descriptor, parseManifest } from "./types.js";

/** Docker archives (`docker save` format): reading and writing. */
interface DockerManifestEntry {
  readonly Config: string;
  readonly RepoTags?: readonly string[] | null;
  readonly Layers: readonly string[];
}

function parseDockerManifestJson(bytes: Uint8Array, what: string): DockerManifestEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new OciError("OCI_INVALID_ARCHIVE", `${what}: manifest.json is not valid JSON`, {
      cause: e,
    });
  }
  if (
    !Array.isArray(v) ||
    v.some(
      (e) =>
        typeof e !== "object" ||
        e === null ||
        typeof e.Config !== "string" ||
        !Array.isArray(e.Layers) ||
        e.Layers.some((l: unknown) => typeof l !== "string"),
    )
  ) {
    throw new OciError(
      "OCI_INVALID_ARCHIVE",
      `${what}: manifest.json does not have the docker save shape`,
    );
  }
  return v as DockerManifestEntry[];
}

/**
 * Reads a `docker save` archive. The archive holds no registry manifest, so one is synthesised
 * (Docker schema 2) as skopeo does: the config digest and the layer diff ids are the archive's.
 */
export class DockerArchiveSource implements ImageSource {
  readonly description: string;
  #blobs = new Map<Digest, string>();

  private constructor(
    private readonly files: TarFiles,
    private readonly manifestDesc: Descriptor,
    private readonly manifestBytes: Uint8Array,
    blobs: Map<Digest, string>,
  ) {
    this.description = files.description;
    this.#blobs = blobs;
  }

  /**
   * @param ref a RepoTags entry to select, when the archive holds several images
   * @throws OciError OCI_INVALID_ARCHIVE, OCI_MANIFEST_UNKNOWN
   */
  static async open(path: string, ref?: string): Promise<DockerArchiveSource> {
    const what = `docker-archive ${path}`;
    const files = await TarFiles.open(path, what);
    const mj = await files.read("manifest.json", DEFAULT_LIMITS.maxJsonBytes);
    if (!mj) {
      throw new OciError("OCI_INVALID_ARCHIVE", `${what} has no manifest.json`, {
        hint: "is this an oci-archive? use oci-archive:PATH",
      });
    }
    const entries = parseDockerManifestJson(mj, what);
    let entry: DockerManifestEntry | undefined;
    if (ref !== undefined) {
      const want = formatImageRef(parseImageRef(ref));
      entry = entries.find((e) => (e.RepoTags ?? []).some((t) => safeNormalize(t) === want));
      if (!entry) {
        throw new OciError("OCI_MANIFEST_UNKNOWN", `${what} has no image tagged ${ref}`);
      }
    } else if (entries.length === 1) {
      entry = entries[0];
    } else {
      throw new OciError(
        "OCI_MANIFEST_UNKNOWN",
        `${what} holds ${entries.length} images; say which one`,
        {
          hint: "add :NAME:TAG after the path",
        },
      );
    }
    if (!entry) {
      throw new OciError("OCI_INVALID_ARCHIVE", `${what}: manifest.json lists no images`);
    }
    const blobs = new Map<Digest, string>();
    const configBytes = await files.read(entry.Config, DEFAULT_LIMITS.maxJsonBytes);
    if (!configBytes) {
      throw new OciError("OCI_BLOB_UNKNOWN", `${what}: config ${entry.Config} is missing`);
    }
    const configDigest = sha256(configBytes);
    blobs.set(configDigest, entry.Config);
    const layers: Descriptor[] = [];
    for (const layerPath of entry.Layers) {
      const size = await files.size(layerPath);
      if (size === undefined) {
        throw new OciError("OCI_BLOB_UNKNOWN", `${what}: layer ${layerPath} is missing`);
      }
      const head = await readHead(files, layerPath);
      const gz = head[0] === 0x1f && head[1] === 0x8b;
      const zst = head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd;
      const named = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(layerPath);
      let digest: Digest;
      if (named?.[1]) {
        digest = parseDigest(`sha256:${named[1]}`);
      } else {
        const d = new Digester();
        for await (const c of files.stream(layerPath)) {
          d.update(c);
        }
        digest = d.digest();
      }
      blobs.set(digest, layerPath);
      layers.push({
        mediaType: gz
          ? MediaType.DockerLayerGzip
          : zst
            ? MediaType.OciLayerZstd
            : "application/vnd.docker.image.rootfs.diff.tar",
        digest,
        size,
      });
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { mediaType: MediaType.DockerConfig, size: configBytes.length, digest: configDigest },
      layers,
    };
    const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
    const manifestDesc: Descriptor = {
      mediaType: MediaType.DockerManifest,
      digest: sha256(manifestBytes),
      size: manifestBytes.length,
    };
    return new DockerArchiveSource(files, manifestDesc, manifestBytes, blobs);
  }

  async resolve(): Promise<{ descriptor: Descriptor; bytes: Uint8Array }> {
    return { descriptor: this.manifestDesc, bytes: this.manifestBytes };
  }

  async fetchManifest(desc: Descriptor): Promise<Uint8Array> {
    if (desc.digest !== this.manifestDesc.digest) {
      throw new OciError("OCI_MANIFEST_UNKNOWN", `${this.description}: no manifest ${desc.digest}`);
    }
    return this.manifestBytes;
  }

  openBlob(desc: Descriptor): AsyncIterable<Uint8Array> {
    const path = this.#blobs.get(desc.digest);
    if (!path) {
      return failing(
        new OciError("OCI_BLOB_UNKNOWN", `${this.description}: no blob ${desc.digest}`),
      );
    }
    return verifyStream(this.files.stream(path), {
      digest: desc.digest,
      size: desc.size,
      what: `${path} in ${this.description}`,
    });
  }

  async close(): Promise<void> {}
}

// biome-ignore lint/correctness/useYield: a stream that fails when first read
async function* failing(e: Error): AsyncGenerator<Uint8Array> {
  throw e;
}

function safeNormalize(t: string): string | undefined {
  try {
    return formatImageRef(parseImageRef(t));
  } catch {
    return undefined;
  }
}

async function readHead(files: TarFiles, rel: string): Promise<Uint8Array> {
  for await (const c of files.stream(rel)) {
    return c.subarray(0, 4);
  }
  return new Uint8Array(0);
}

/**
 * Writes a `docker save` archive of one image. Layers are stored uncompressed, as Docker
 * expects; their names are the diff ids, the config's name its digest.
 */
export class DockerArchiveDestination implements ImageDestination {
  readonly description: string;
  #tmp: string | undefined;
  #blobs = new Map<Digest, { path: string; mediaType: string }>();
  #root: Uint8Array | undefined;

  constructor(
    readonly path: string,
    private readonly repoTag?: string,
  ) {
    this.description = `docker-archive ${path}`;
  }

  async #dir(): Promise<string> {
    if (!this.#tmp) {
      await mkdir(dirname(this.path), { recursive: true });
      this.#tmp = await mkdtemp(join(dirname(this.path), `.${basename(this.path)}.tmp-`));
    }
    return this.#tmp;
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.#blobs.has(desc.digest);
  }

  async putBlob(desc: Descriptor, data: AsyncIterable<Uint8Array>): Promise<void> {
    const dir = await this.#dir();
    const p = join(dir, digestHex(desc.digest));
    const out = createWriteStream(p);
    for await (const c of verifyStream(data, {
      digest: desc.digest,
      size: desc.size,
      what: `blob ${desc.digest}`,
    })) {
      if (!out.write(c)) {
        await new Promise<void>((r) => out.once("drain", () => r()));
      }
    }
    await endStream(out);
    this.#blobs.set(desc.digest, { path: p, mediaType: desc.mediaType });
  }

  async putManifest(desc: Descriptor, bytes: Uint8Array, root: boolean): Promise<void> {
    const parsed = parseManifest(bytes, `manifest ${desc.digest}`, desc.mediaType);
    if (parsed.kind === "index") {
      throw new OciError(
        "OCI_UNSUPPORTED_MEDIA_TYPE",
        "docker-archive holds one platform's image, not an index",
        {
          hint: "choose a platform with --platform",
        },
      );
    }
    if (root) {
      this.#root = bytes;
    }
  }

  async commit(): Promise<void> {
    if (!this.#root) {
      throw new OciError("OCI_INVALID_ARCHIVE", `${this.description}: no image written`);
    }
    const parsed = parseManifest(this.#root, "manifest", MediaType.OciManifest);
    if (parsed.kind !== "manifest") {
      throw new OciError(
        "OCI_INVALID_ARCHIVE",
        `${this.description}: root is not an image manifest`,
      );
    }
    const m = parsed.manifest;
    const cfg = this.#blobs.get(m.config.digest);
    if (!cfg) {
      throw new OciError("OCI_BLOB_UNKNOWN", `${this.description}: config was not written`);
    }
    const configName = `${digestHex(m.config.digest)}.json`;
    const layerFiles: { name: string; path: string; size: number }[] = [];
    for (const l of m.layers) {
      const blob = this.#blobs.get(l.digest);
      if (!blob) {
        throw new OciError(
          "OCI_BLOB_UNKNOWN",
          `${this.description}: layer ${l.digest} was not written`,
        );
      }
      // Decompress into a file so the tar header can state the exact size.
      const raw = `${blob.path}.tar`;
      const out = createWriteStream(raw);
      const d = new Digester();
      for await (const c of decompressLayer(createReadStream(blob.path), l.mediaType, {
        maxBytes: DEFAULT_LIMITS.maxLayerBytes,
        what: `layer ${l.digest}`,
      })) {
        d.update(c);
        if (!out.write(c)) {
          await new Promise<void>((r) => out.once("drain", () => r()));
        }
      }
      await endStream(out);
      layerFiles.push({ name: `${digestHex(d.digest())}.tar`, path: raw, size: d.size });
    }
    const manifestJson = [
      {
        Config: configName,
        RepoTags: this.repoTag ? [this.repoTag] : [],
        Layers: layerFiles.map((f) => f.name),
      },
    ];
    await writeTarAtomically(this.path, async (w) => {
      const cfgSize = (await stat(cfg.path)).size;
      await w.addStream({ name: configName, type: "file" }, cfgSize, createReadStream(cfg.path));
      const seen = new Set<string>();
      for (const f of layerFiles) {
        if (!seen.has(f.name)) {
          seen.add(f.name);
          await w.addStream({ name: f.name, type: "file" }, f.size, createReadStream(f.path));
        }
      }
      await w.add(
        { name: "manifest.json", type: "file" },
        new TextEncoder().encode(JSON.stringify(manifestJson)),
      );
    });
  }

  async close(): Promise<void> {
    if (this.#tmp) {
      await rm(this.#tmp, { recursive: true, force: true });
    }
  }
}
