import { constants } from "node:fs";
import {
  chmod,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  rm,
  statfs,
  symlink,
  utimes,
} from "node:fs/promises";
import { join } from "node:path";
import { SourceError, ToolError } from "../core/errors.js";
import { type Issue, IssueCollector } from "../core/issues.js";
import type { Limits } from "../core/limits.js";
import type { TarBodySink } from "../oci/index.js";
import { type FileNode, type ImageFilesystem, readLayerEntries } from "./image-fs.js";
import { normalizeEntryPath } from "./paths.js";

export interface ExportResult {
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  readonly hardlinks: number;
  readonly bytes: number;
  readonly issues: readonly Issue[];
}

/** Default cap on the bytes an export writes, as a multiple of the image's compressed layers. */
export const EXPORT_EXPANSION_RATIO = 40;
/** The cap never falls below this, so that small images always export. */
export const EXPORT_MIN_BYTES = 256 * 1024 * 1024;
/** Longest path the kernel takes in one call (PATH_MAX, with its NUL) and longest name. */
const PATH_MAX = 4095;
/** What a directory costs against the budget: one filesystem block. */
const DIRECTORY_COST = 4096;
/** What every other inode costs (file, symlink; a hard link's directory entry): an inode's size. */
const INODE_COST = 256;
const NAME_MAX = 255;

export interface ExportOptions {
  readonly limits?: Partial<Limits>;
  readonly signal?: AbortSignal;
  /**
   * Most bytes to write: file content and symlink targets, plus 256 bytes for each file, symlink
   * and hard link, and 4096 for each directory (what they take on disk). Default:
   * EXPORT_EXPANSION_RATIO times the compressed layer bytes (at least EXPORT_MIN_BYTES); never
   * more than the target's free space, nor more inodes than it has free.
   */
  readonly maxBytes?: number;
}

/**
 * The budget of an export: bytes (file content, symlink targets, and a cost per inode and per
 * directory) and what sets it, for the error message; and the inodes free on the target.
 */
interface ExportBudget {
  readonly bytes: number;
  readonly why: string;
  readonly inodes: number;
}

async function exportBudget(
  fs: ImageFilesystem,
  target: string,
  maxBytes: number | undefined,
): Promise<ExportBudget> {
  const compressed = fs.image.layers.reduce((n, l) => n + l.descriptor.size, 0);
  const asked =
    maxBytes !== undefined
      ? { bytes: maxBytes, why: `the --max-bytes limit of ${maxBytes} bytes` }
      : {
          bytes: Math.max(EXPORT_MIN_BYTES, EXPORT_EXPANSION_RATIO * compressed),
          why: `the default limit of ${Math.max(EXPORT_MIN_BYTES, EXPORT_EXPANSION_RATIO * compressed)} bytes (${EXPORT_EXPANSION_RATIO} times the ${compressed} compressed layer bytes, at least ${EXPORT_MIN_BYTES})`,
        };
  const st = await statfs(target).catch(() => undefined);
  const free = st ? st.bavail * st.bsize : Number.POSITIVE_INFINITY;
  // a filesystem without an inode table (btrfs) reports none at all
  const inodes = st && st.files > 0 ? st.ffree : Number.POSITIVE_INFINITY;
  return free < asked.bytes
    ? { bytes: free, why: `the ${free} bytes free on the target's filesystem`, inodes }
    : { ...asked, inodes };
}

/**
 * Refuses, before anything is written, a path the kernel would not take under `target`
 * (ENAMETOOLONG): one longer than PATH_MAX in all, or with a component longer than NAME_MAX.
 */
function checkPathLengths(fs: ImageFilesystem, target: string): void {
  const base = Buffer.byteLength(target);
  for (const n of fs.walk()) {
    if (n.type === "symlink" && Buffer.byteLength(n.linkname ?? "") > PATH_MAX) {
      throw new SourceError(
        "SOURCE_PATH_TOO_LONG",
        `the image has a symlink whose target is ${Buffer.byteLength(n.linkname ?? "")} bytes (the limit is ${PATH_MAX}): ${n.path.slice(0, 80)}`,
        { hint: "this filesystem cannot hold the image's tree as it is; nothing was written" },
      );
    }
    const total = base + Buffer.byteLength(n.path);
    const longName = n.path.split("/").find((c) => Buffer.byteLength(c) > NAME_MAX);
    if (total > PATH_MAX || longName !== undefined) {
      const shown = n.path.length > 80 ? `${n.path.slice(0, 77)}...` : n.path;
      throw new SourceError(
        "SOURCE_PATH_TOO_LONG",
        longName !== undefined
          ? `the image has a path with a ${Buffer.byteLength(longName)}-byte name (the limit is ${NAME_MAX}): ${shown}`
          : `the image has a path of ${total} bytes under the target (the limit is ${PATH_MAX}), ${n.path.split("/").length - 1} levels deep: ${shown}`,
        { hint: "this filesystem cannot hold the image's tree as it is; nothing was written" },
      );
    }
  }
}

/**
 * Writes the merged filesystem of an image into `target`, which must not exist or be empty.
 * Safety: paths come from the merged view (normalised, never above the root); every parent is
 * created by us as a real directory; files are opened with O_NOFOLLOW|O_EXCL, so nothing is
 * written through a symlink; device files are skipped; set-id bits are dropped; hard links
 * are made only to regular files already written inside the target.
 * Bounded: paths the kernel would refuse are found before anything is written, and the bytes
 * written stop at a budget (see ExportOptions.maxBytes). On any failure what was written is
 * removed (and the target, when the export made it).
 * Side effects: creates files under `target` only.
 * @throws SourceError SOURCE_TARGET_NOT_EMPTY, SOURCE_PATH_TOO_LONG, SOURCE_EXPORT_TOO_LARGE;
 *   OciError/ToolError when a layer cannot be read
 */
export async function exportFilesystem(
  fs: ImageFilesystem,
  target: string,
  opts: ExportOptions = {},
): Promise<ExportResult> {
  // the first directory of the path this export creates (target or a parent): removed on failure
  const made = await mkdir(target, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new SourceError(
      "SOURCE_TARGET_NOT_EMPTY",
      `export target ${target} cannot be made a directory (${e.code ?? e.message})`,
      { hint: "choose a new or empty directory (not a file, nor a symlink to nothing)" },
    );
  });
  const existing = await readdir(target);
  if (existing.length > 0) {
    throw new SourceError("SOURCE_TARGET_NOT_EMPTY", `export target ${target} is not empty`, {
      hint: "choose a new or empty directory",
    });
  }
  try {
    checkPathLengths(fs, target);
    const budget = await exportBudget(fs, target, opts.maxBytes);
    return await writeTree(fs, target, opts, budget);
  } catch (e) {
    await removeWritten(target, made);
    throw e;
  }
}

/** Removes everything under `target` (which was empty), and `target` itself when we made it. */
async function removeWritten(target: string, made: string | undefined): Promise<void> {
  const restore = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) {
        // directories are made writable again first: an image may ship read-only ones
        await chmod(join(dir, e.name), 0o700).catch(() => undefined);
        await restore(join(dir, e.name));
      }
    }
  };
  await restore(target);
  if (made) {
    await rm(made, { recursive: true, force: true });
    return;
  }
  for (const e of await readdir(target).catch(() => [])) {
    await rm(join(target, e), { recursive: true, force: true });
  }
}

/** Writes the winning entries of the merged view under `target`, within a byte budget. */
class TreeWriter {
  readonly issues = new IssueCollector();
  readonly stats = { files: 0, directories: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  readonly created = new Set<string>(["/"]);
  readonly hardlinks: FileNode[] = [];
  // the budget counts file content and a block for each directory (20,000 empty directories
  // are 80 MB on disk from a 94 KB layer)
  private used = 0;
  private inodes = 0;

  constructor(
    private readonly target: string,
    private readonly budget: ExportBudget,
  ) {}

  host(p: string): string {
    return join(this.target, p);
  }

  /** Counts one more inode (and its bytes) against the budget. */
  private inode(n: number, path: string): void {
    if (++this.inodes > this.budget.inodes) {
      throw new SourceError(
        "SOURCE_EXPORT_TOO_LARGE",
        `export stopped at ${path}: the image has more files than the ${this.budget.inodes} inodes free on the target's filesystem`,
        { hint: "what was written has been removed; export to a filesystem with more inodes" },
      );
    }
    this.spend(n, path);
  }

  /** Runs a write, naming a full filesystem as such (ENOSPC, EDQUOT, EFBIG). */
  private async io<T>(path: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") {
        throw new SourceError(
          "SOURCE_EXPORT_TOO_LARGE",
          `export stopped at ${path.slice(0, 200)}: the target's filesystem is full (${code})`,
          {
            hint: "what was written has been removed; free space on the target's filesystem, or export to another one",
          },
        );
      }
      if (code === "EROFS" || code === "EACCES" || code === "EPERM") {
        throw new ToolError(
          "CORE_OUTPUT_UNWRITABLE",
          `export stopped at ${path.slice(0, 200)}: the target cannot be written (${code})`,
          { hint: "what was written has been removed; export to a writable directory" },
        );
      }
      throw e;
    }
  }

  private spend(n: number, path: string): void {
    if (this.used + n > this.budget.bytes) {
      throw new SourceError(
        "SOURCE_EXPORT_TOO_LARGE",
        `export stopped at ${path}: the image expands past ${this.budget.why}`,
        {
          hint: "what was written has been removed; give --max-bytes N to allow more, if the image is trusted",
        },
      );
    }
    this.used += n;
  }

  private async makeDir(path: string): Promise<void> {
    this.inode(DIRECTORY_COST, path);
    await this.io(path, () => mkdir(this.host(path), { mode: 0o755 }));
    this.created.add(path);
  }

  private async ensureParents(path: string): Promise<void> {
    const parts = path.split("/").filter(Boolean);
    parts.pop();
    let cur = "";
    for (const p of parts) {
      cur += `/${p}`;
      if (!this.created.has(cur)) {
        await this.makeDir(cur);
      }
    }
  }

  /** Writes one winning entry; a regular file's body streams into the returned sink. */
  async entry(node: FileNode): Promise<TarBodySink | undefined> {
    await this.ensureParents(node.path);
    switch (node.type) {
      case "dir":
        if (!this.created.has(node.path)) {
          await this.makeDir(node.path);
        }
        this.stats.directories++;
        return undefined;
      case "symlink":
        this.inode(INODE_COST + Buffer.byteLength(node.linkname ?? ""), node.path);
        await this.io(node.path, () => symlink(node.linkname ?? "", this.host(node.path)));
        this.stats.symlinks++;
        return undefined;
      case "hardlink":
        this.hardlinks.push(node);
        return undefined;
      case "file":
        return this.file(node);
      default:
        this.issues.add({
          code: "SOURCE_SPECIAL_FILE_SKIPPED",
          message: `${node.type} file not exported`,
          path: node.path,
        });
        return undefined;
    }
  }

  private async file(node: FileNode): Promise<TarBodySink> {
    const path = this.host(node.path);
    this.inode(INODE_COST, node.path);
    const fh = await this.io(node.path, () =>
      open(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      ),
    );
    this.stats.files++;
    return {
      write: async (chunk) => {
        try {
          this.spend(chunk.length, node.path);
          await this.io(node.path, () => fh.write(chunk));
        } catch (e) {
          await fh.close();
          throw e;
        }
        this.stats.bytes += chunk.length;
      },
      close: async () => {
        await this.io(node.path, () => fh.close());
        await chmod(path, node.mode & 0o777);
        await utimes(path, node.mtime, node.mtime);
      },
    };
  }

  /** Hard links once every file is written; a link to anything but a written file is an issue. */
  async linkHardlinks(fs: ImageFilesystem, byPath: ReadonlyMap<string, FileNode>): Promise<void> {
    for (const h of this.hardlinks) {
      const named = normalizeEntryPath(h.linkname ?? "");
      const t = named ? fs.realpath(named) : undefined;
      const targetNode = t ? byPath.get(t) : undefined;
      if (!t || targetNode?.type !== "file") {
        this.issues.add({
          code: "SOURCE_HARDLINK_UNRESOLVED",
          message: `hard link target ${h.linkname ?? ""} is not a regular file of the image; skipped`,
          path: h.path,
        });
        continue;
      }
      const st = await lstat(this.host(t)).catch(() => undefined);
      if (!st?.isFile()) {
        this.issues.add({
          code: "SOURCE_HARDLINK_UNRESOLVED",
          message: `hard link target ${t} was not written; skipped`,
          path: h.path,
        });
        continue;
      }
      this.spend(INODE_COST, h.path);
      await this.io(h.path, () => link(this.host(t), this.host(h.path)));
      this.stats.hardlinks++;
    }
  }

  /** Directory modes last, deepest first, so that read-only directories do not block writes. */
  async setDirectoryModes(byPath: ReadonlyMap<string, FileNode>): Promise<void> {
    const dirs = [...byPath.values()].filter((n) => n.type === "dir" && this.created.has(n.path));
    dirs.sort((a, b) => b.path.length - a.path.length);
    for (const d of dirs) {
      await chmod(this.host(d.path), (d.mode & 0o777) | 0o700);
    }
  }
}

async function writeTree(
  fs: ImageFilesystem,
  target: string,
  opts: ExportOptions,
  budget: ExportBudget,
): Promise<ExportResult> {
  // Winners are keyed by (layer, entry ordinal): an entry may land at another path than its
  // name when a parent is a symlink (merged /usr), and only the merged view knows where.
  const winners = new Map<string, FileNode>();
  const byPath = new Map<string, FileNode>();
  for (const n of fs.walk()) {
    winners.set(`${n.layer}:${n.seq}`, n);
    byPath.set(n.path, n);
  }
  const w = new TreeWriter(target, budget);
  for (const layer of fs.image.layers) {
    await readLayerEntries(fs.image, layer, new IssueCollector(), {
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      entryBudget: { left: Number.MAX_SAFE_INTEGER },
      onBody: async (entry): Promise<TarBodySink | undefined> => {
        const node = winners.get(`${entry.layer}:${entry.seq}`);
        return node ? w.entry(node) : undefined;
      },
    });
  }
  await w.linkHardlinks(fs, byPath);
  await w.setDirectoryModes(byPath);
  return { ...w.stats, issues: [...fs.issues, ...w.issues.list()] };
}
