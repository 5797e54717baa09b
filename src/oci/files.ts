import { createReadStream } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { OciError } from "../core/errors.js";
import { readAllLimited } from "../core/limits.js";
import { readTar } from "./tar.js";

/**
 * Read access to the files of an OCI layout, wherever they live: a directory or a tar archive
 * indexed once (oci-archive, docker-archive). Paths are relative, `/`-separated.
 */
export interface FileAccess {
  readonly description: string;
  /** The file's bytes, or undefined when it does not exist. */
  read(rel: string, max: number): Promise<Uint8Array | undefined>;
  /** The file's size, or undefined when it does not exist. */
  size(rel: string): Promise<number | undefined>;
  /** The file as a stream. @throws OciError OCI_BLOB_UNKNOWN when missing */
  stream(rel: string): AsyncIterable<Uint8Array>;
}

const CHUNK = 1024 * 1024;

/** Files of a directory. */
export class DirectoryFiles implements FileAccess {
  constructor(
    readonly root: string,
    readonly description: string = root,
  ) {}

  async read(rel: string, max: number): Promise<Uint8Array | undefined> {
    const size = await this.size(rel);
    if (size === undefined) {
      return undefined;
    }
    if (size > max) {
      throw new OciError(
        "CORE_LIMIT_EXCEEDED",
        `${this.description}/${rel} is larger than ${max} bytes`,
      );
    }
    return new Uint8Array(await readFile(join(this.root, rel)));
  }

  async size(rel: string): Promise<number | undefined> {
    try {
      const s = await stat(join(this.root, rel));
      return s.isFile() ? s.size : undefined;
    } catch (e) {
      // ENOTDIR: the layout's path (or a part of it) is a file, so nothing is under it
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        return undefined;
      }
      throw e;
    }
  }

  async *stream(rel: string): AsyncIterable<Uint8Array> {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(join(this.root, rel), "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        throw new OciError("OCI_BLOB_UNKNOWN", `${this.description}: ${rel} is missing`, {
          cause: e,
        });
      }
      throw e;
    }
    yield* fh.createReadStream({ highWaterMark: CHUNK });
  }
}

interface TarMember {
  readonly offset: number;
  readonly size: number;
}

/** Files inside an uncompressed tar archive, located by one indexing pass. */
export class TarFiles implements FileAccess {
  private constructor(
    readonly path: string,
    readonly description: string,
    private readonly members: ReadonlyMap<string, TarMember>,
  ) {}

  /**
   * Indexes the archive's regular files.
   * @throws OciError OCI_INVALID_ARCHIVE (compressed or not a tar), OCI_TAR_*
   */
  static async open(path: string, description: string): Promise<TarFiles> {
    const fh = await open(path, "r").catch((e: NodeJS.ErrnoException) => {
      throw new OciError(
        "OCI_INVALID_ARCHIVE",
        `cannot open ${description}: ${e.code ?? e.message}`,
        {
          cause: e,
        },
      );
    });
    try {
      const head = new Uint8Array(4);
      await fh.read(head, 0, 4, 0);
      if (head[0] === 0x1f && head[1] === 0x8b) {
        throw new OciError("OCI_INVALID_ARCHIVE", `${description} is gzip-compressed`, {
          hint: "decompress it first (gunzip), archives are read as plain tar files",
        });
      }
    } finally {
      await fh.close();
    }
    const members = new Map<string, TarMember>();
    const links = new Map<string, string>();
    await readTar(createReadStream(path, { highWaterMark: CHUNK }), {
      what: description,
      onEntry: (e, offset) => {
        const name = normalizeMember(e.name);
        if (e.type === "file") {
          members.set(name, { offset, size: e.size });
        } else if (e.type === "hardlink" || e.type === "symlink") {
          links.set(name, e.type === "hardlink" ? normalizeMember(e.linkname) : e.linkname);
        }
        return undefined;
      },
    });
    // docker save writes some layers as symlinks or hardlinks to identical blobs.
    for (const [name, target] of links) {
      const base = name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : "";
      const resolved = target.startsWith("/")
        ? normalizeMember(target)
        : resolveMember(base, target);
      const m = members.get(resolved) ?? members.get(normalizeMember(target));
      if (m && !members.has(name)) {
        members.set(name, m);
      }
    }
    return new TarFiles(path, description, members);
  }

  async read(rel: string, max: number): Promise<Uint8Array | undefined> {
    const m = this.members.get(normalizeMember(rel));
    if (!m) {
      return undefined;
    }
    if (m.size > max) {
      throw new OciError(
        "CORE_LIMIT_EXCEEDED",
        `${this.description}: ${rel} is larger than ${max} bytes`,
      );
    }
    return readAllLimited(this.stream(rel), max, `${this.description}: ${rel}`);
  }

  async size(rel: string): Promise<number | undefined> {
    return this.members.get(normalizeMember(rel))?.size;
  }

  async *stream(rel: string): AsyncIterable<Uint8Array> {
    const m = this.members.get(normalizeMember(rel));
    if (!m) {
      throw new OciError("OCI_BLOB_UNKNOWN", `${this.description}: ${rel} is missing`);
    }
    if (m.size === 0) {
      return;
    }
    yield* createReadStream(this.path, {
      start: m.offset,
      end: m.offset + m.size - 1,
      highWaterMark: CHUNK,
    });
  }

  /** Names of the regular files (for diagnostics and format detection). */
  names(): IterableIterator<string> {
    return this.members.keys();
  }
}

function normalizeMember(name: string): string {
  return name.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
}

function resolveMember(base: string, rel: string): string {
  const parts = base ? base.split("/") : [];
  for (const p of rel.split("/")) {
    if (p === "..") {
      parts.pop();
    } else if (p !== "." && p !== "") {
      parts.push(p);
    }
  }
  return parts.join("/");
}
