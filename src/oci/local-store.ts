import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../core/digest.js";
import { OciError } from "../core/errors.js";
import { DirectoryFiles } from "./files.js";
import {
  blobPath,
  LayoutDestination,
  LayoutSource,
  REF_NAME_ANNOTATION,
  readLayoutIndex,
  writeLayoutIndex,
} from "./layout.js";
import { formatImageRef, type ImageRef } from "./ref.js";
import type { ImageDestination, ImageSource } from "./transport.js";
import { type Descriptor, parseManifest } from "./types.js";

/** One image of the local store. */
export interface LocalImage {
  readonly name: string;
  readonly descriptor: Descriptor;
}

/**
 * The local image store: one OCI image layout (`$CLEANIMG_HOME/images`) whose index.json names
 * every image by its fully qualified reference. Bare references resolve here first.
 */
export class LocalImageStore {
  readonly dir: string;
  constructor(home: string) {
    this.dir = join(home, "images");
  }

  async #entries(): Promise<Descriptor[]> {
    try {
      await stat(join(this.dir, "index.json"));
    } catch {
      return [];
    }
    return [
      ...(await readLayoutIndex(new DirectoryFiles(this.dir, `local image store ${this.dir}`)))
        .manifests,
    ];
  }

  /** Images with names, sorted by name. */
  async list(): Promise<LocalImage[]> {
    return (await this.#entries())
      .filter((d) => d.annotations?.[REF_NAME_ANNOTATION])
      .map((d) => ({ name: d.annotations?.[REF_NAME_ANNOTATION] as string, descriptor: d }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The entry a reference names (by tag, or by digest). */
  async find(ref: ImageRef): Promise<LocalImage | undefined> {
    const images = await this.list();
    if (ref.digest) {
      const { digest, ...named } = ref;
      return images.find(
        (i) =>
          i.descriptor.digest === digest &&
          (ref.tag === undefined || i.name === formatImageRef(named)),
      );
    }
    const name = formatImageRef(ref);
    return images.find((i) => i.name === name);
  }

  /** An entry with this manifest digest, whatever its name. */
  async findDigest(digest: Digest): Promise<LocalImage | undefined> {
    return (await this.list()).find((i) => i.descriptor.digest === digest);
  }

  source(image: LocalImage): ImageSource {
    return new LayoutSource(new DirectoryFiles(this.dir, "local image store"), image.name);
  }

  destination(ref: ImageRef): ImageDestination {
    const { digest: _digest, ...named } = ref;
    return new LayoutDestination(this.dir, { refName: formatImageRef(named as ImageRef) });
  }

  /** Adds a second name for an image. @throws OciError OCI_MANIFEST_UNKNOWN */
  async tag(from: ImageRef, to: ImageRef): Promise<LocalImage> {
    const img = await this.find(from);
    if (!img) {
      throw new OciError(
        "OCI_MANIFEST_UNKNOWN",
        `no image ${formatImageRef(from)} in the local store`,
        { hint: "list images with: cleanimg-init image ls" },
      );
    }
    const name = formatImageRef(to);
    const rest = (await this.#entries()).filter(
      (d) => d.annotations?.[REF_NAME_ANNOTATION] !== name,
    );
    const entry = {
      ...img.descriptor,
      annotations: { ...img.descriptor.annotations, [REF_NAME_ANNOTATION]: name },
    };
    await writeLayoutIndex(this.dir, [...rest, entry]);
    return { name, descriptor: entry };
  }

  /**
   * Removes a name; blobs no other image uses are deleted.
   * Side effects: rewrites index.json, deletes unreferenced blobs.
   * @throws OciError OCI_MANIFEST_UNKNOWN
   */
  async remove(ref: ImageRef): Promise<{ removed: string; blobsDeleted: number }> {
    const img = await this.find(ref);
    if (!img) {
      throw new OciError(
        "OCI_MANIFEST_UNKNOWN",
        `no image ${formatImageRef(ref)} in the local store`,
      );
    }
    const rest = (await this.#entries()).filter(
      (d) => d.annotations?.[REF_NAME_ANNOTATION] !== img.name,
    );
    await writeLayoutIndex(this.dir, rest);
    return { removed: img.name, blobsDeleted: await this.#gc(rest) };
  }

  async #gc(roots: readonly Descriptor[]): Promise<number> {
    const files = new DirectoryFiles(this.dir);
    const live = new Set<Digest>();
    const visit = async (d: Descriptor, depth: number): Promise<void> => {
      if (live.has(d.digest) || depth > 8) {
        return;
      }
      live.add(d.digest);
      const bytes = await files.read(blobPath(d.digest), 8 * 1024 * 1024);
      if (!bytes) {
        return;
      }
      let parsed: ReturnType<typeof parseManifest>;
      try {
        parsed = parseManifest(bytes, d.digest, d.mediaType);
      } catch {
        return; // a plain blob
      }
      const children =
        parsed.kind === "index"
          ? parsed.index.manifests
          : [parsed.manifest.config, ...parsed.manifest.layers];
      const subject = parsed.kind === "index" ? parsed.index.subject : parsed.manifest.subject;
      for (const c of subject ? [...children, subject] : children) {
        await visit(c, depth + 1);
      }
    };
    for (const r of roots) {
      await visit(r, 0);
    }
    let deleted = 0;
    const algDir = join(this.dir, "blobs", "sha256");
    for (const name of await readdir(algDir).catch(() => [] as string[])) {
      if (!live.has(`sha256:${name}` as Digest)) {
        await rm(join(algDir, name), { force: true });
        deleted++;
      }
    }
    return deleted;
  }
}
