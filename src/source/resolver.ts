import { constants } from "node:fs";
import { lstat, open, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../core/digest.js";
import { SourceError } from "../core/errors.js";
import type { Issue } from "../core/issues.js";
import type { TarEntryType } from "../oci/index.js";
import { type FileNode, type ImageFilesystem, type Sniffer, sniffSink } from "./image-fs.js";
import { normalizeEntryPath, resolveLinkTarget } from "./paths.js";

/**
 * What catalogers see of a filesystem, whatever holds it (an image's merged view, a
 * directory). Paths are absolute inside the filesystem's root; symlinks resolve inside it.
 */
export interface FileResolver {
  /** Every entry, in path order. */
  files(): Iterable<FileNode>;
  /** The entry at a path, not following a final symlink. */
  lstat(path: string): FileNode | undefined;
  /** The path with every symlink resolved inside the root; undefined when it does not exist. */
  realpath(path: string): string | undefined;
  /** A regular file's content (following symlinks); undefined when absent or not readable. */
  read(path: string): Promise<Uint8Array | undefined>;
  /** Bytes a sniffer captured from a file (see {@link Sniffer}); undefined when not found. */
  sniffed(path: string, sniffer: Sniffer): Promise<Uint8Array | undefined>;
  /** Digest naming the layer a node came from (the diff id), when the source has layers. */
  layerDigest(layer: number): Digest | undefined;
  /** Issues met while reading the filesystem. */
  readonly issues: readonly Issue[];
}

/** A resolver over an image's merged view; contents are those collected at open time. */
export class ImageResolver implements FileResolver {
  constructor(private readonly fs: ImageFilesystem) {}
  files(): Iterable<FileNode> {
    return this.fs.walk();
  }
  lstat(path: string): FileNode | undefined {
    return this.fs.lstat(path);
  }
  realpath(path: string): string | undefined {
    return this.fs.realpath(path);
  }
  async read(path: string): Promise<Uint8Array | undefined> {
    return this.fs.readCollected(path);
  }
  async sniffed(path: string, sniffer: Sniffer): Promise<Uint8Array | undefined> {
    return this.fs.readSniffed(path, sniffer.id);
  }
  layerDigest(layer: number): Digest | undefined {
    return this.fs.image.layers[layer]?.diffId;
  }
  get issues(): readonly Issue[] {
    return this.fs.issues;
  }
}

function typeOf(st: {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFile(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): TarEntryType {
  if (st.isDirectory()) {
    return "dir";
  }
  if (st.isSymbolicLink()) {
    return "symlink";
  }
  if (st.isFile()) {
    return "file";
  }
  if (st.isFIFO()) {
    return "fifo";
  }
  if (st.isCharacterDevice()) {
    return "char";
  }
  return st.isBlockDevice() ? "block" : "other";
}

/** A resolver over a directory (`dir:PATH`), read on demand, never following links out of it. */
export class DirectoryResolver implements FileResolver {
  readonly issues: readonly Issue[] = [];
  private constructor(
    readonly root: string,
    private readonly nodes: ReadonlyMap<string, FileNode>,
    private readonly maxFileBytes: number,
  ) {}

  /**
   * Walks the directory tree once (metadata only).
   * @throws SourceError SOURCE_NOT_FOUND when the directory does not exist; CORE_LIMIT_EXCEEDED
   */
  static async open(
    root: string,
    opts: { maxEntries?: number; maxFileBytes?: number } = {},
  ): Promise<DirectoryResolver> {
    const st = await lstat(root).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new SourceError("SOURCE_NOT_FOUND", `${root} is not a directory`, {
        hint: "dir: takes the path of an unpacked root filesystem",
      });
    }
    const nodes = new Map<string, FileNode>();
    const max = opts.maxEntries ?? 2_000_000;
    const walk = async (rel: string): Promise<void> => {
      const names = (await readdir(join(root, rel))).sort();
      for (const name of names) {
        const path = `${rel}/${name}`;
        const s = await lstat(join(root, path));
        const type = typeOf(s);
        nodes.set(path, {
          path,
          type,
          mode: s.mode & 0o7777,
          uid: s.uid,
          gid: s.gid,
          size: type === "file" ? s.size : 0,
          mtime: Math.floor(s.mtimeMs / 1000),
          ...(type === "symlink" ? { linkname: await readlink(join(root, path)) } : {}),
          layer: -1,
          seq: nodes.size,
        });
        if (nodes.size > max) {
          throw new SourceError("CORE_LIMIT_EXCEEDED", `${root} has more than ${max} entries`);
        }
        if (type === "dir") {
          await walk(path);
        }
      }
    };
    await walk("");
    return new DirectoryResolver(root, nodes, opts.maxFileBytes ?? 64 * 1024 * 1024);
  }

  files(): Iterable<FileNode> {
    return this.nodes.values();
  }
  lstat(path: string): FileNode | undefined {
    return this.nodes.get(normalizeEntryPath(path) ?? "/");
  }
  realpath(path: string): string | undefined {
    let pending = (normalizeEntryPath(path) ?? "/").split("/").filter(Boolean);
    let resolved: string[] = [];
    for (let hops = 0; pending.length > 0; ) {
      const part = pending.shift() as string;
      const candidate = `/${[...resolved, part].join("/")}`;
      const node = this.nodes.get(candidate);
      if (!node) {
        return undefined;
      }
      if (node.type === "symlink") {
        if (++hops > 40) {
          throw new SourceError(
            "SOURCE_SYMLINK_LOOP",
            `too many levels of symbolic links resolving ${path}`,
          );
        }
        pending = [
          ...resolveLinkTarget(`/${resolved.join("/")}`, node.linkname ?? "")
            .split("/")
            .filter(Boolean),
          ...pending,
        ];
        resolved = [];
        continue;
      }
      resolved.push(part);
    }
    return `/${resolved.join("/")}`;
  }
  /**
   * Opens a file of the walk. The path has no symlinks as of the walk; O_NOFOLLOW refuses a
   * final component that became one since.
   */
  readonly #tooLarge = new Set<string>();

  async #open(path: string): Promise<Awaited<ReturnType<typeof open>> | undefined> {
    return open(join(this.root, path), constants.O_RDONLY | constants.O_NOFOLLOW).catch(
      () => undefined,
    );
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const real = this.realpath(path);
    const node = real === undefined ? undefined : this.nodes.get(real);
    if (node?.type !== "file") {
      return undefined;
    }
    if (node.size > this.maxFileBytes) {
      // said once per file, as the image source says it, so the SBOM can name the limit
      if (!this.#tooLarge.has(node.path)) {
        this.#tooLarge.add(node.path);
        (this.issues as Issue[]).push({
          code: "SOURCE_FILE_TOO_LARGE",
          message: `not read: ${node.size} bytes is over the ${this.maxFileBytes}-byte limit for files read by catalogers`,
          path: node.path,
        });
      }
      return undefined;
    }
    const fh = await this.#open(node.path);
    if (!fh) {
      return undefined;
    }
    try {
      return new Uint8Array(await fh.readFile());
    } finally {
      await fh.close();
    }
  }
  async sniffed(path: string, sniffer: Sniffer): Promise<Uint8Array | undefined> {
    const node = this.nodes.get(normalizeEntryPath(path) ?? "/");
    if (node?.type !== "file" || !sniffer.match(node)) {
      return undefined;
    }
    const fh = await this.#open(node.path);
    if (!fh) {
      return undefined;
    }
    let captured: Uint8Array | undefined;
    const sink = sniffSink(sniffer, (b) => {
      captured = b;
    });
    try {
      for await (const chunk of fh.createReadStream({
        highWaterMark: 1024 * 1024,
        autoClose: false,
      })) {
        await sink.write(chunk as Uint8Array);
      }
      await sink.close();
    } finally {
      await fh.close();
    }
    return captured;
  }
  layerDigest(): Digest | undefined {
    return undefined;
  }
}
