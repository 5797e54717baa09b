import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../core/atomic-write.js";
import {
  type Digest,
  digestAlgorithm,
  digestHex,
  verifyBytes,
  verifyStream,
} from "../core/digest.js";
import { OciError } from "../core/errors.js";
import { DEFAULT_LIMITS, streamOf } from "../core/limits.js";
import { DirectoryFiles, type FileAccess } from "./files.js";
import { MediaType } from "./media-types.js";
import type { ImageDestination, ImageSource } from "./transport.js";
import { type Descriptor, type ImageIndex, parseDescriptor, parseManifest } from "./types.js";

/** The annotation naming an entry of an OCI layout's index.json. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

/** Path of a blob inside a layout. */
export function blobPath(d: Digest): string {
  return `blobs/${digestAlgorithm(d)}/${digestHex(d)}`;
}

/**
 * Reads the index.json of a layout.
 * @throws OciError OCI_INVALID_LAYOUT
 */
export async function readLayoutIndex(files: FileAccess): Promise<ImageIndex> {
  const marker = await files.read("oci-layout", 4096);
  if (!marker) {
    throw new OciError(
      "OCI_INVALID_LAYOUT",
      `${files.description} is not an OCI image layout (no oci-layout file)`,
      {
        hint: "point at the directory that holds oci-layout, index.json and blobs/",
      },
    );
  }
  let version: unknown;
  try {
    version = JSON.parse(new TextDecoder().decode(marker))?.imageLayoutVersion;
  } catch (e) {
    throw new OciError("OCI_INVALID_LAYOUT", `${files.description}: oci-layout is not valid JSON`, {
      cause: e,
    });
  }
  if (version !== "1.0.0") {
    throw new OciError(
      "OCI_INVALID_LAYOUT",
      `${files.description}: unsupported imageLayoutVersion ${String(version)}`,
    );
  }
  const bytes = await files.read("index.json", DEFAULT_LIMITS.maxJsonBytes);
  if (!bytes) {
    throw new OciError("OCI_INVALID_LAYOUT", `${files.description} has no index.json`);
  }
  const parsed = parseManifest(bytes, `${files.description} index.json`, MediaType.OciIndex);
  if (parsed.kind !== "index") {
    throw new OciError(
      "OCI_INVALID_LAYOUT",
      `${files.description}: index.json is not an image index`,
    );
  }
  return parsed.index;
}

/** Reads images from an OCI layout (a directory, or the files of an oci-archive). */
export class LayoutSource implements ImageSource {
  readonly description: string;
  constructor(
    private readonly files: FileAccess,
    private readonly tag: string | undefined,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.description = `${files.description}${tag ? ` (${tag})` : ""}`;
  }

  async resolve(): Promise<{ descriptor: Descriptor; bytes: Uint8Array }> {
    const index = await readLayoutIndex(this.files);
    const descriptor = selectIndexEntry(index, this.tag, this.files.description);
    return { descriptor, bytes: await this.fetchManifest(descriptor) };
  }

  async fetchManifest(desc: Descriptor): Promise<Uint8Array> {
    if (desc.size > DEFAULT_LIMITS.maxJsonBytes) {
      throw new OciError(
        "CORE_LIMIT_EXCEEDED",
        `${this.description}: manifest ${desc.digest} is ${desc.size} bytes`,
      );
    }
    const bytes = await this.files.read(blobPath(desc.digest), DEFAULT_LIMITS.maxJsonBytes);
    if (!bytes) {
      throw new OciError(
        "OCI_MANIFEST_UNKNOWN",
        `${this.description}: manifest ${desc.digest} is missing from blobs/`,
      );
    }
    verifyBytes(bytes, {
      digest: desc.digest,
      size: desc.size,
      what: `manifest ${desc.digest} in ${this.description}`,
    });
    return bytes;
  }

  openBlob(desc: Descriptor): AsyncIterable<Uint8Array> {
    return verifyStream(this.#stream(desc), {
      digest: desc.digest,
      size: desc.size,
      what: `blob ${desc.digest} in ${this.description}`,
    });
  }

  async *#stream(desc: Descriptor): AsyncIterable<Uint8Array> {
    if ((await this.files.size(blobPath(desc.digest))) === undefined) {
      throw new OciError(
        "OCI_BLOB_UNKNOWN",
        `${this.description}: blob ${desc.digest} is missing from blobs/`,
        {
          hint: "the layout is incomplete; copy the image again from its origin",
        },
      );
    }
    yield* this.files.stream(blobPath(desc.digest));
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}

/**
 * Picks the index.json entry a tag names, or the only entry when no tag is given.
 * @throws OciError OCI_MANIFEST_UNKNOWN
 */
export function selectIndexEntry(
  index: ImageIndex,
  tag: string | undefined,
  where: string,
): Descriptor {
  if (tag === undefined) {
    if (index.manifests.length === 1 && index.manifests[0]) {
      return index.manifests[0];
    }
    const names = index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter(Boolean);
    throw new OciError(
      "OCI_MANIFEST_UNKNOWN",
      `${where} holds ${index.manifests.length} images; say which one`,
      { hint: names.length > 0 ? `add :TAG, one of ${names.slice(0, 10).join(", ")}` : "add :TAG" },
    );
  }
  const hits = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
  const hit = hits[hits.length - 1];
  if (!hit) {
    throw new OciError("OCI_MANIFEST_UNKNOWN", `${where} has no image named "${tag}"`);
  }
  return hit;
}

/** Writes blobs into a layout directory: temporary file, fsync, rename. */
export async function writeBlobFile(
  root: string,
  desc: Descriptor,
  data: AsyncIterable<Uint8Array>,
  what: string,
): Promise<void> {
  const final = join(root, blobPath(desc.digest));
  await mkdir(dirname(final), { recursive: true });
  const tmp = `${final}.tmp-${randomBytes(6).toString("hex")}`;
  const out = createWriteStream(tmp, { flags: "wx" });
  try {
    for await (const chunk of verifyStream(data, { digest: desc.digest, size: desc.size, what })) {
      if (!out.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = (): void => {
            out.off("error", onError);
            resolve();
          };
          const onError = (e: Error): void => {
            out.off("drain", onDrain);
            reject(e);
          };
          out.once("drain", onDrain);
          out.once("error", onError);
        });
      }
    }
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    const fh = await open(tmp, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}

export { writeFileAtomic };

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Options for writing into a layout. */
export interface LayoutDestinationOptions {
  /** Name recorded in index.json (`org.opencontainers.image.ref.name`); none keeps it unnamed. */
  readonly refName?: string;
  /** Extra annotations of the index.json entry. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Writes images into an OCI layout directory (created if needed). */
export class LayoutDestination implements ImageDestination {
  readonly description: string;
  #root: Descriptor | undefined;

  constructor(
    readonly dir: string,
    private readonly opts: LayoutDestinationOptions = {},
  ) {
    this.description = `oci layout ${dir}${opts.refName ? ` (${opts.refName})` : ""}`;
  }

  async #init(): Promise<void> {
    await mkdir(join(this.dir, "blobs", "sha256"), { recursive: true });
    if (!(await exists(join(this.dir, "oci-layout")))) {
      await writeFileAtomic(join(this.dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    }
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    try {
      const s = await stat(join(this.dir, blobPath(desc.digest)));
      return s.size === desc.size;
    } catch {
      return false;
    }
  }

  async putBlob(desc: Descriptor, data: AsyncIterable<Uint8Array>): Promise<void> {
    await this.#init();
    await writeBlobFile(this.dir, desc, data, `blob ${desc.digest} for ${this.description}`);
  }

  async putManifest(desc: Descriptor, bytes: Uint8Array, root: boolean): Promise<void> {
    verifyBytes(bytes, { digest: desc.digest, size: desc.size, what: `manifest ${desc.digest}` });
    if (!(await this.hasBlob(desc))) {
      await this.putBlob(desc, streamOf(bytes));
    }
    if (root) {
      this.#root = desc;
    }
  }

  async commit(): Promise<void> {
    await this.#init();
    if (!this.#root) {
      throw new OciError(
        "OCI_INVALID_LAYOUT",
        `${this.description}: nothing to commit (no root manifest written)`,
      );
    }
    const files = new DirectoryFiles(this.dir);
    let manifests: Descriptor[] = [];
    if (await exists(join(this.dir, "index.json"))) {
      manifests = [...(await readLayoutIndex(files)).manifests];
    }
    const name = this.opts.refName;
    const entry: Descriptor = {
      mediaType: this.#root.mediaType,
      digest: this.#root.digest,
      size: this.#root.size,
      ...(this.#root.platform ? { platform: this.#root.platform } : {}),
      ...(name || this.opts.annotations
        ? {
            annotations: {
              ...this.opts.annotations,
              ...(name ? { [REF_NAME_ANNOTATION]: name } : {}),
            },
          }
        : {}),
    };
    manifests = manifests.filter((m) =>
      name === undefined
        ? m.digest !== entry.digest || m.annotations?.[REF_NAME_ANNOTATION] !== undefined
        : m.annotations?.[REF_NAME_ANNOTATION] !== name,
    );
    manifests.push(entry);
    const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
    await writeFileAtomic(join(this.dir, "index.json"), `${JSON.stringify(index)}\n`);
  }

  async close(): Promise<void> {
    // Remove temporaries left by an interrupted putBlob.
    const dir = join(this.dir, "blobs", "sha256");
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => n.includes(".tmp-")).map((n) => unlink(join(dir, n)).catch(() => {})),
    );
  }
}

/**
 * Parses an index.json entry list into descriptors (used by the local store).
 * @throws OciError OCI_INVALID_MANIFEST
 */
export function parseIndexEntries(v: unknown[], where: string): Descriptor[] {
  return v.map((d, i) => parseDescriptor(d, `${where} manifests[${i}]`));
}

/** Writes a whole small index.json (used by the local store when removing entries). */
export async function writeLayoutIndex(
  dir: string,
  manifests: readonly Descriptor[],
): Promise<void> {
  if (!(await exists(join(dir, "oci-layout")))) {
    await writeFileAtomic(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  }
  const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
  await writeFileAtomic(join(dir, "index.json"), `${JSON.stringify(index)}\n`);
}
