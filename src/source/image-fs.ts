import { type Digest, verifyStream } from "../core/digest.js";
import { SourceError, ToolError } from "../core/errors.js";
import { type Issue, IssueCollector } from "../core/issues.js";
import { type Limits, resolveLimits } from "../core/limits.js";
import {
  decompressLayer,
  type ResolvedImage,
  type ResolvedLayer,
  readTar,
  type TarBodySink,
  type TarEntry,
  type TarEntryType,
} from "../oci/index.js";
import { baseName, normalizeEntryPath, parentPath, resolveLinkTarget } from "./paths.js";

/** A file of the image filesystem and where it came from. */
export interface FileNode {
  /** Absolute, normalised path (`/etc/os-release`). */
  readonly path: string;
  readonly type: TarEntryType;
  /** Permission and type bits as stored (12 low bits: setuid, setgid, sticky, rwx). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Bytes of content (regular files; for hard links, the target's size when known). */
  readonly size: number;
  readonly mtime: number;
  /** Symlink or hard-link target as stored. */
  readonly linkname?: string;
  /** Index of the layer the entry comes from (0 = base). */
  readonly layer: number;
  /** Ordinal of the entry inside its layer's tar stream. */
  readonly seq: number;
}

/** An entry of one layer, including the whiteouts that the merged view applies. */
export type LayerEntry =
  | { readonly kind: "file"; readonly node: FileNode }
  | { readonly kind: "whiteout"; readonly path: string; readonly seq: number }
  | { readonly kind: "opaque"; readonly dir: string; readonly seq: number };

export interface ReadLayerOptions {
  readonly limits?: Partial<Limits>;
  /** Receives the bodies of entries `want` selects. */
  readonly onBody?: (node: FileNode) => TarBodySink | undefined | Promise<TarBodySink | undefined>;
  readonly signal?: AbortSignal;
}

/** Options of {@link ImageFilesystem.open}. */
export interface OpenOptions {
  readonly limits?: Partial<Limits>;
  /** Layers read at once (decompression runs in the thread pool). Default 2. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /**
   * Files whose content is kept in memory while the layers stream (the declared interest of
   * catalogers), bounded per file and in total; larger files become issues.
   */
  readonly collect?: {
    match(path: string): boolean;
    readonly maxFileBytes?: number;
    readonly maxTotalBytes?: number;
  };
  /** Byte patterns searched for in file bodies as they stream (embedded build info). */
  readonly sniff?: readonly Sniffer[];
  /** Reuses what was read from a layer before (same diff id and same `cacheKey`). */
  readonly layerCache?: LayerCache;
  /** What the reading depended on (collect/sniff settings, their versions): part of the cache key. */
  readonly cacheKey?: string;
}

/** What reading one layer produced: entries, collected contents and sniffer captures. */
export interface CachedLayer {
  /** Entries with `layer` 0 (renumbered on use). */
  readonly entries: readonly LayerEntry[];
  readonly contents: readonly (readonly [number, Uint8Array])[];
  readonly sniffed: readonly (readonly [number, string, Uint8Array])[];
  readonly issues: readonly Issue[];
}

/** A cache of layer readings, keyed by diff id and the reader's settings. */
export interface LayerCache {
  get(diffId: Digest, key: string): Promise<CachedLayer | undefined>;
  put(diffId: Digest, key: string, layer: CachedLayer): Promise<void>;
}

/**
 * Finds a byte pattern inside files as they stream and keeps the bytes that follow it, so
 * that embedded metadata (Go build info) is read without holding whole binaries in memory.
 */
export interface Sniffer {
  readonly id: string;
  readonly magic: Uint8Array;
  /** Bytes kept from the start of the match. */
  readonly capture: number;
  /** Bytes after the magic that `accept` needs to see. */
  readonly lookahead?: number;
  /** Judges a match (magic plus lookahead bytes); a rejected one is skipped and the search goes on. */
  accept?(head: Uint8Array): boolean;
  match(node: FileNode): boolean;
  /** Cuts a capture down to what its reader needs, so only that is kept (default: all of it). */
  trim?(captured: Uint8Array): Uint8Array;
  /** The magic counts only at the start of the file (file-format signatures). */
  readonly anchored?: boolean;
}

/** A sink that scans for a sniffer's magic across chunk boundaries and captures what follows. */
export function sniffSink(
  sn: Sniffer,
  done: (captured: Uint8Array) => void,
  /** The file's size: the capture buffer is never larger. */
  sizeHint?: number,
): TarBodySink {
  const magic = Buffer.from(sn.magic);
  let offset = 0;
  let gaveUp = false;
  const need = magic.length + (sn.lookahead ?? 0);
  let tail = Buffer.alloc(0);
  let out: Buffer | undefined;
  let filled = 0;
  const take = (b: Buffer): void => {
    if (!out) {
      return;
    }
    const n = Math.min(b.length, out.length - filled);
    b.copy(out, filled, 0, n);
    filled += n;
  };
  return {
    write(chunk) {
      const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (out) {
        take(b);
        return;
      }
      if (gaveUp) {
        return;
      }
      const start = offset - tail.length; // file offset of hay[0]
      offset += b.length;
      const hay = tail.length ? Buffer.concat([tail, b]) : b;
      const capture = (i: number): Buffer =>
        // only the filled part is ever read, so the buffer need not be zeroed
        Buffer.allocUnsafe(
          Math.max(
            0,
            Math.min(sn.capture, sizeHint === undefined ? sn.capture : sizeHint - (start + i)),
          ),
        );
      if (sn.anchored) {
        if (hay.length < need) {
          tail = Buffer.from(hay);
          return;
        }
        if (
          !hay.subarray(0, magic.length).equals(magic) ||
          (sn.accept && !sn.accept(hay.subarray(0, need)))
        ) {
          gaveUp = true; // a file-format signature counts only at the start
          tail = Buffer.alloc(0);
          return;
        }
        out = capture(0);
        take(hay);
        return;
      }
      let from = 0;
      for (;;) {
        const i = hay.indexOf(magic, from);
        if (i < 0) {
          tail = Buffer.from(hay.subarray(Math.max(0, hay.length - (need - 1))));
          return;
        }
        if (hay.length - i < need) {
          tail = Buffer.from(hay.subarray(i)); // not enough bytes yet to judge this match
          return;
        }
        // A literal copy of the magic (code that reads build info embeds it) is not the blob.
        if (!sn.accept || sn.accept(hay.subarray(i, i + need))) {
          out = capture(i);
          take(hay.subarray(i));
          return;
        }
        from = i + 1;
      }
    },
    close() {
      if (out) {
        const view = out.subarray(0, filled);
        done(new Uint8Array(sn.trim ? sn.trim(view) : view)); // a copy: the capture buffer goes
      }
    },
  };
}

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";

/**
 * Streams one layer (verified blob -> decompress -> verified diff id -> tar) and returns its
 * entries. Unsafe names are skipped as issues; stream faults throw.
 * @throws OciError/ToolError for a missing or corrupt blob, bad compression, a bad tar, limits
 */
export async function readLayerEntries(
  image: ResolvedImage,
  layer: ResolvedLayer,
  issues: IssueCollector,
  opts: ReadLayerOptions & { entryBudget: { left: number } },
): Promise<LayerEntry[]> {
  const limits = resolveLimits(opts.limits);
  const what = `layer ${layer.index} (${layer.descriptor.digest}) of ${image.source.description}`;
  const blob = image.source.openBlob(layer.descriptor);
  const tarStream = verifyStream(
    decompressLayer(blob, layer.descriptor.mediaType, { maxBytes: limits.maxLayerBytes, what }),
    { digest: layer.diffId, what: `uncompressed ${what} (diff id)` },
  );
  const entries: LayerEntry[] = [];
  let seq = 0;
  await readTar(tarStream, {
    what,
    maxMetaBytes: limits.maxTarMetaBytes,
    onEntry: (e: TarEntry) => {
      const s = seq++;
      if (--opts.entryBudget.left < 0) {
        throw new ToolError(
          "CORE_LIMIT_EXCEEDED",
          `${image.source.description} has more than ${limits.maxEntries} filesystem entries`,
          {
            hint: "raise the limit with --max-entries if the image is trusted",
          },
        );
      }
      if (opts.signal?.aborted) {
        throw opts.signal.reason;
      }
      if (Buffer.byteLength(e.name) > limits.maxPathBytes) {
        issues.add({
          code: "SOURCE_PATH_TOO_LONG",
          message: `entry name longer than ${limits.maxPathBytes} bytes skipped`,
          subject: layer.descriptor.digest,
        });
        return undefined;
      }
      const path = normalizeEntryPath(e.name);
      if (path === undefined || (e.name.startsWith("/") && e.name !== "/")) {
        issues.add({
          code: "SOURCE_PATH_UNSAFE",
          message:
            path === undefined
              ? "entry name escapes the root with ../; skipped"
              : "absolute entry name; read relative to the root",
          path: e.name,
          subject: layer.descriptor.digest,
        });
        if (path === undefined) {
          return undefined;
        }
      }
      if (path === "/") {
        return undefined; // the root directory's own entry carries nothing we use
      }
      const base = baseName(path);
      if (base === OPAQUE) {
        entries.push({ kind: "opaque", dir: parentPath(path), seq: s });
        return undefined;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const target = `${parentPath(path) === "/" ? "" : parentPath(path)}/${base.slice(WHITEOUT_PREFIX.length)}`;
        entries.push({ kind: "whiteout", path: target, seq: s });
        return undefined;
      }
      const node: FileNode = {
        path,
        type: e.type,
        mode: e.mode & 0o7777,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        mtime: e.mtime,
        ...(e.type === "symlink" || e.type === "hardlink" ? { linkname: e.linkname } : {}),
        layer: layer.index,
        seq: s,
      };
      entries.push({ kind: "file", node });
      return opts.onBody?.(node);
    },
  });
  return entries;
}

interface TreeDir {
  node: FileNode | undefined;
  children: Map<string, TreeNode>;
}
type TreeNode = { node: FileNode; children?: undefined } | TreeDir;

function isDir(t: TreeNode): t is TreeDir {
  return t.children !== undefined;
}

/** One image's layers being read: entries, collected contents and sniffer captures, by layer. */
class LayerReading {
  readonly limits: Limits;
  readonly issues = new IssueCollector();
  private readonly budget: { left: number };
  readonly results: LayerEntry[][];
  readonly contents = new Map<string, Uint8Array>();
  readonly sniffed = new Map<string, Uint8Array>();
  private readonly collectBudget: { left: number };
  private readonly cache: { store: LayerCache; key: string } | undefined;
  private readonly onBody: ((node: FileNode) => TarBodySink | undefined) | undefined;
  private next = 0;

  constructor(
    private readonly image: ResolvedImage,
    private readonly opts: OpenOptions,
  ) {
    this.limits = resolveLimits(opts.limits);
    this.budget = { left: this.limits.maxEntries };
    this.results = new Array(image.layers.length);
    this.collectBudget = { left: opts.collect?.maxTotalBytes ?? 256 * 1024 * 1024 };
    this.cache =
      opts.layerCache && opts.cacheKey ? { store: opts.layerCache, key: opts.cacheKey } : undefined;
    this.onBody = opts.collect || opts.sniff?.length ? (node) => this.bodySink(node) : undefined;
  }

  /** Reads the layers with a bounded number of workers. */
  async readAll(): Promise<void> {
    const n = Math.max(1, Math.min(this.opts.concurrency ?? 2, this.image.layers.length));
    await Promise.all(Array.from({ length: n }, () => this.worker()));
  }

  private async worker(): Promise<void> {
    while (this.next < this.image.layers.length) {
      const i = this.next++;
      const layer = this.image.layers[i] as ResolvedLayer;
      const hit = this.cache ? await this.cache.store.get(layer.diffId, this.cache.key) : undefined;
      if (hit) {
        this.reuse(i, hit);
        continue;
      }
      const layerIssues = new IssueCollector();
      this.results[i] = await readLayerEntries(this.image, layer, layerIssues, {
        limits: this.limits,
        entryBudget: this.budget,
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        ...(this.onBody ? { onBody: this.onBody } : {}),
      });
      for (const issue of layerIssues.list()) {
        this.issues.add(issue);
      }
      if (this.cache) {
        await this.cache.store.put(layer.diffId, this.cache.key, this.cached(i, layerIssues));
      }
    }
  }

  /**
   * A layer is known by its content (diff id): what was read from it once is reused,
   * renumbered to this image's layer index.
   */
  private reuse(i: number, hit: CachedLayer): void {
    this.budget.left -= hit.entries.length;
    if (this.budget.left < 0) {
      throw new ToolError(
        "CORE_LIMIT_EXCEEDED",
        `${this.image.source.description} has more than ${this.limits.maxEntries} filesystem entries`,
      );
    }
    this.results[i] = hit.entries.map((e) =>
      e.kind === "file" ? { kind: "file", node: { ...e.node, layer: i } } : e,
    );
    for (const [seq, bytes] of hit.contents) {
      this.contents.set(`${i}:${seq}`, bytes);
    }
    for (const [seq, id, bytes] of hit.sniffed) {
      this.sniffed.set(`${i}:${seq}:${id}`, bytes);
    }
    for (const issue of hit.issues) {
      this.issues.add(issue);
    }
  }

  /** What layer `i` produced, numbered as layer 0, for the cache. */
  private cached(i: number, layerIssues: IssueCollector): CachedLayer {
    const entries = this.results[i] ?? [];
    return {
      entries: entries.map((e) =>
        e.kind === "file" ? { kind: "file", node: { ...e.node, layer: 0 } } : e,
      ),
      contents: [...this.contents.entries()]
        .filter(([k]) => k.startsWith(`${i}:`))
        .map(([k, v]) => [Number(k.split(":")[1]), v]),
      sniffed: [...this.sniffed.entries()]
        .filter(([k]) => k.startsWith(`${i}:`))
        .map(([k, v]) => {
          const [, seq, ...id] = k.split(":");
          return [Number(seq), id.join(":"), v];
        }),
      issues: layerIssues.list(),
    };
  }

  /** A collected file's body is kept whole (bounded); any other file goes to the sniffers. */
  private bodySink(node: FileNode): TarBodySink | undefined {
    const collect = this.opts.collect;
    if (node.type !== "file" || !collect?.match(node.path)) {
      return this.sniffSinks(node);
    }
    const max = collect.maxFileBytes ?? 16 * 1024 * 1024;
    if (node.size > max || node.size > this.collectBudget.left) {
      this.issues.add({
        code: "SOURCE_FILE_TOO_LARGE",
        message: `not read: ${node.size} bytes is over the ${Math.min(max, this.collectBudget.left)}-byte limit for files read by catalogers`,
        path: node.path,
      });
      return undefined;
    }
    this.collectBudget.left -= node.size;
    const buf = new Uint8Array(node.size);
    let off = 0;
    return {
      write: (chunk) => {
        buf.set(chunk, off);
        off += chunk.length;
      },
      close: () => {
        this.contents.set(`${node.layer}:${node.seq}`, buf);
      },
    };
  }

  private sniffSinks(node: FileNode): TarBodySink | undefined {
    const sinks =
      node.type === "file"
        ? (this.opts.sniff ?? [])
            .filter((x) => x.match(node))
            .map((sn) =>
              sniffSink(
                sn,
                (b) => this.sniffed.set(`${node.layer}:${node.seq}:${sn.id}`, b),
                node.size,
              ),
            )
        : [];
    if (sinks.length <= 1) {
      return sinks[0];
    }
    return {
      // sniffSink's write and close are synchronous
      write: (chunk) => {
        for (const k of sinks) {
          void k.write(chunk);
        }
      },
      close: () => {
        for (const k of sinks) {
          void k.close();
        }
      },
    };
  }
}

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
    while (pending.length > 0) {
      const part = pending.shift() as string;
      const candidate = `/${[...resolved, part].join("/")}`;
      const t = this.#lookup(candidate);
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
        continue;
      }
      resolved.push(part);
    }
    return `/${resolved.join("/")}`;
  }
}

function* walkDir(dir: TreeDir, path: string): Generator<FileNode> {
  for (const name of [...dir.children.keys()].sort()) {
    const child = dir.children.get(name) as TreeNode;
    const p = `${path}/${name}`;
    yield child.node ?? implicitDir(p);
    if (isDir(child)) {
      yield* walkDir(child, p);
    }
  }
}

function implicitDir(path: string): FileNode {
  return { path, type: "dir", mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, layer: -1, seq: -1 };
}

function applyLayer(
  root: TreeDir,
  entries: readonly LayerEntry[],
  layerDigest: Digest,
  issues: IssueCollector,
): void {
  // Whiteouts and opaque markers hide lower layers only, whatever their order in the tar.
  for (const e of entries) {
    if (e.kind === "opaque") {
      const r = resolveDir(root, e.dir, false);
      if (r.kind === "ok") {
        r.dir.children.clear();
      }
    } else if (e.kind === "whiteout") {
      const r = resolveDir(root, parentPath(e.path), false);
      if (r.kind === "ok") {
        r.dir.children.delete(baseName(e.path));
      }
    }
  }
  const seen = new Map<string, TarEntryType>();
  const links: FileNode[] = [];
  for (const e of entries) {
    if (e.kind !== "file") {
      continue;
    }
    const r = resolveDir(root, parentPath(e.node.path), true);
    if (r.kind !== "ok") {
      issues.add({
        code: r.kind === "loop" ? "SOURCE_SYMLINK_LOOP" : "SOURCE_PATH_UNSAFE",
        message:
          r.kind === "loop"
            ? "too many levels of symbolic links in the parent of this entry; skipped"
            : "a parent of this entry is not a directory; skipped",
        path: e.node.path,
        subject: layerDigest,
      });
      continue;
    }
    const name = baseName(e.node.path);
    const path = r.path === "/" ? `/${name}` : `${r.path}/${name}`;
    const node = path === e.node.path ? e.node : { ...e.node, path };
    const before = seen.get(path);
    // A directory listed twice is harmless (and common); anything else is ambiguous.
    if (before !== undefined && !(before === "dir" && node.type === "dir")) {
      issues.add({
        code: "SOURCE_DUPLICATE_ENTRY",
        message: "entry appears more than once in the layer; the last one wins",
        path,
        subject: layerDigest,
      });
    }
    seen.set(path, node.type);
    const existing = r.dir.children.get(name);
    if (node.type === "dir") {
      if (existing && isDir(existing)) {
        existing.node = node; // a directory over a directory keeps the children
      } else {
        r.dir.children.set(name, { node, children: new Map() });
      }
    } else {
      r.dir.children.set(name, { node }); // a non-directory hides whatever was there
      if (node.type === "hardlink") {
        links.push(node);
      }
    }
  }
  // Hard links report their target's size.
  for (const link of links) {
    const targetPath = normalizeEntryPath(link.linkname ?? "");
    const holder = resolveDir(root, parentPath(link.path), false);
    const target = targetPath ? lookupNode(root, targetPath) : undefined;
    const cur = holder.kind === "ok" ? holder.dir.children.get(baseName(link.path)) : undefined;
    if (cur && cur.node === link && target?.type === "file") {
      cur.node = { ...link, size: target.size };
    }
  }
}

function lookupNode(root: TreeDir, path: string): FileNode | undefined {
  const r = resolveDir(root, parentPath(path), false);
  return r.kind === "ok" ? r.dir.children.get(baseName(path))?.node : undefined;
}

type DirResolution =
  | { readonly kind: "ok"; readonly dir: TreeDir; readonly path: string }
  | { readonly kind: "loop" | "notdir" | "missing" };

/**
 * Resolves a directory path in the tree the way containerd applies layers: symlinks in the
 * path are followed inside the image root (`..` and absolute targets clamped to the root, at
 * most 40 links), so an entry under `/lib` lands under `/usr/lib` on a merged-/usr image and
 * a link pointing outside the root points back inside it. With `create`, missing directories
 * become implicit ones. A file in the way is "not a directory", as extraction finds it.
 */
function resolveDir(root: TreeDir, path: string, create: boolean): DirResolution {
  let pending = path.split("/").filter(Boolean);
  let cur: TreeDir = root;
  let resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    const next = cur.children.get(part);
    if (!next) {
      if (!create) {
        return { kind: "missing" };
      }
      const d: TreeDir = { node: undefined, children: new Map() };
      cur.children.set(part, d);
      cur = d;
      resolved.push(part);
      continue;
    }
    if (isDir(next)) {
      cur = next;
      resolved.push(part);
      continue;
    }
    if (next.node.type !== "symlink") {
      return { kind: "notdir" };
    }
    if (++hops > 40) {
      return { kind: "loop" };
    }
    const target = resolveLinkTarget(`/${resolved.join("/")}`, next.node.linkname ?? "");
    pending = [...target.split("/").filter(Boolean), ...pending];
    resolved = [];
    cur = root;
  }
  return { kind: "ok", dir: cur, path: `/${resolved.join("/")}` };
}
