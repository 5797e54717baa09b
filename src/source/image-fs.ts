import type { Digest } from "../core/digest.js";
import { SourceError } from "../core/errors.js";
import type { Issue } from "../core/issues.js";
import type { ResolvedImage } from "../oci/index.js";
import type { FileNode, LayerEntry } from "./layer-entries.js";
import { LayerReading, type OpenOptions } from "./layer-reading.js";
import {
  applyLayer,
  implicitDir,
  isDir,
  type TreeDir,
  type TreeNode,
  walkDir,
} from "./merged-tree.js";
import { normalizeEntryPath, resolveLinkTarget } from "./paths.js";

export type { FileNode, LayerEntry, ReadLayerOptions, Sniffer } from "./layer-entries.js";
export { readLayerEntries, sniffSink } from "./layer-entries.js";
export type { CachedLayer, LayerCache, OpenOptions } from "./layer-reading.js";

/**
 * The merged, read-only view of an image's final filesystem: every layer applied in order
 * with whiteouts and opaque directories, as overlayfs and the OCI image spec define.
 * Only metadata is held in memory; contents are streamed again when needed.
 */
export class ImageFilesystem {
  private constructor(
    readonly image: ResolvedImage,
    private readonly root: TreeDir,
    /** Per-layer entries as read (the per-layer view). */
    readonly layers: readonly (readonly LayerEntry[])[],
    readonly issues: readonly Issue[],
    private readonly contents: ReadonlyMap<string, Uint8Array> = new Map(),
    private readonly sniffed: ReadonlyMap<string, Uint8Array> = new Map(),
  ) {}

  /** Bytes a sniffer captured from a file (not following symlinks), if its magic was found. */
  readSniffed(path: string, snifferId: string): Uint8Array | undefined {
    const node = this.lstat(path);
    return node ? this.sniffed.get(`${node.layer}:${node.seq}:${snifferId}`) : undefined;
  }

  /**
   * Reads every layer (concurrently, bounded) and builds the merged view.
   * @throws OciError, SourceError, ToolError when a layer cannot be read
   */
  static async open(image: ResolvedImage, opts: OpenOptions = {}): Promise<ImageFilesystem> {
    const reading = new LayerReading(image, opts);
    await reading.readAll();
    const root: TreeDir = { node: undefined, children: new Map() };
    reading.results.forEach((entries, i) => {
      applyLayer(root, entries, image.layers[i]?.descriptor.digest as Digest, reading.issues);
    });
    const { results, issues, contents, sniffed } = reading;
    const fs = new ImageFilesystem(image, root, results, issues.list(), contents, sniffed);
    // Keep only the contents of files that survived the merge.
    if (contents.size > 0 || sniffed.size > 0) {
      const live = new Set<string>();
      for (const n of fs.walk()) {
        live.add(`${n.layer}:${n.seq}`);
      }
      for (const m of [contents, sniffed]) {
        for (const k of [...m.keys()]) {
          if (!live.has(k.split(":").slice(0, 2).join(":"))) {
            m.delete(k);
          }
        }
      }
    }
    return fs;
  }

  /**
   * The content of a regular file collected at open time (see {@link OpenOptions.collect}),
   * following symlinks inside the root. Undefined when the path is not a collected file.
   */
  readCollected(path: string): Uint8Array | undefined {
    const real = this.realpath(path);
    const node = real === undefined ? undefined : this.lstat(real);
    if (!node || (node.type !== "file" && node.type !== "hardlink")) {
      return undefined;
    }
    if (node.type === "hardlink") {
      const target = normalizeEntryPath(node.linkname ?? "");
      return target && target !== real ? this.readCollected(target) : undefined;
    }
    return this.contents.get(`${node.layer}:${node.seq}`);
  }

  /** Walks the merged view depth-first, in sorted path order, without materialising it. */
  walk(): Generator<FileNode> {
    return walkDir(this.root, "");
  }

  /** All nodes in sorted path order. */
  list(): FileNode[] {
    return [...this.walk()];
  }

  /** The node at a path, without following symlinks. */
  lstat(path: string): FileNode | undefined {
    const t = this.#lookup(path);
    if (!t) {
      return undefined;
    }
    return t.node ?? implicitDir(path);
  }

  #lookup(path: string): TreeNode | undefined {
    const norm = normalizeEntryPath(path) ?? "/";
    if (norm === "/") {
      return this.root;
    }
    let cur: TreeNode = this.root;
    for (const part of norm.slice(1).split("/")) {
      if (!isDir(cur)) {
        return undefined;
      }
      const next = cur.children.get(part);
      if (!next) {
        return undefined;
      }
      cur = next;
    }
    return cur;
  }

  /**
   * Resolves a path, following symlinks (in every component) inside the image root the way
   * a chrooted kernel would, at most 40 links deep.
   * @throws SourceError SOURCE_SYMLINK_LOOP
   */
  realpath(path: string): string | undefined {
    let hops = 0;
    let pending = (normalizeEntryPath(path) ?? "/").split("/").filter(Boolean);
    let resolved: string[] = [];
    // walked one component at a time from the directory reached so far (not from the root for
    // each prefix, which made a path of depth d cost d lookups of up to d steps)
    let cur: TreeNode = this.root;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      const t: TreeNode | undefined = isDir(cur) ? cur.children.get(part) : undefined;
      if (!t) {
        return undefined;
      }
      const node = t.node;
      if (node?.type === "symlink" && !isDir(t)) {
        if (++hops > 40) {
          throw new SourceError(
            "SOURCE_SYMLINK_LOOP",
            `too many levels of symbolic links resolving ${path}`,
          );
        }
        const target = resolveLinkTarget(`/${resolved.join("/")}`, node.linkname ?? "");
        pending = [...target.split("/").filter(Boolean), ...pending];
        resolved = [];
        cur = this.root;
        continue;
      }
      resolved.push(part);
      cur = t;
    }
    return `/${resolved.join("/")}`;
  }
}
