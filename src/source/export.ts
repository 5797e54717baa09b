import { constants } from "node:fs";
import { chmod, link, lstat, mkdir, open, readdir, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { SourceError } from "../core/errors.js";
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

/**
 * Writes the merged filesystem of an image into `target`, which must not exist or be empty.
 * Safety: paths come from the merged view (normalised, never above the root); every parent is
 * created by us as a real directory; files are opened with O_NOFOLLOW|O_EXCL, so nothing is
 * written through a symlink; device files are skipped; set-id bits are dropped; hard links
 * are made only to regular files already written inside the target.
 * Side effects: creates files under `target` only.
 * @throws SourceError SOURCE_TARGET_NOT_EMPTY; OciError/ToolError when a layer cannot be read
 */
export async function exportFilesystem(
  fs: ImageFilesystem,
  target: string,
  opts: { limits?: Partial<Limits>; signal?: AbortSignal } = {},
): Promise<ExportResult> {
  await mkdir(target, { recursive: true });
  const existing = await readdir(target);
  if (existing.length > 0) {
    throw new SourceError("SOURCE_TARGET_NOT_EMPTY", `export target ${target} is not empty`, {
      hint: "choose a new or empty directory",
    });
  }
  const issues = new IssueCollector();
  // Winners are keyed by (layer, entry ordinal): an entry may land at another path than its
  // name when a parent is a symlink (merged /usr), and only the merged view knows where.
  const winners = new Map<string, FileNode>();
  const byPath = new Map<string, FileNode>();
  for (const n of fs.walk()) {
    winners.set(`${n.layer}:${n.seq}`, n);
    byPath.set(n.path, n);
  }
  const stats = { files: 0, directories: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  const created = new Set<string>(["/"]);
  const hardlinks: FileNode[] = [];
  const ensureParents = async (path: string): Promise<void> => {
    const parts = path.split("/").filter(Boolean);
    parts.pop();
    let cur = "";
    for (const p of parts) {
      cur += `/${p}`;
      if (!created.has(cur)) {
        await mkdir(join(target, cur), { mode: 0o755 });
        created.add(cur);
      }
    }
  };
  const host = (p: string): string => join(target, p);

  for (const layer of fs.image.layers) {
    await readLayerEntries(fs.image, layer, new IssueCollector(), {
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      entryBudget: { left: Number.MAX_SAFE_INTEGER },
      onBody: async (entry): Promise<TarBodySink | undefined> => {
        const node = winners.get(`${entry.layer}:${entry.seq}`);
        if (!node) {
          return undefined;
        }
        await ensureParents(node.path);
        switch (node.type) {
          case "dir":
            if (!created.has(node.path)) {
              await mkdir(host(node.path), { mode: 0o755 });
              created.add(node.path);
            }
            stats.directories++;
            return undefined;
          case "symlink":
            await symlink(node.linkname ?? "", host(node.path));
            stats.symlinks++;
            return undefined;
          case "hardlink":
            hardlinks.push(node);
            return undefined;
          case "file": {
            const fh = await open(
              host(node.path),
              constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
              0o600,
            );
            stats.files++;
            return {
              write: async (chunk) => {
                await fh.write(chunk);
                stats.bytes += chunk.length;
              },
              close: async () => {
                await fh.close();
                await chmod(host(node.path), node.mode & 0o777);
                await utimes(host(node.path), node.mtime, node.mtime);
              },
            };
          }
          default:
            issues.add({
              code: "SOURCE_SPECIAL_FILE_SKIPPED",
              message: `${node.type} file not exported`,
              path: node.path,
            });
            return undefined;
        }
      },
    });
  }
  for (const h of hardlinks) {
    const named = normalizeEntryPath(h.linkname ?? "");
    const t = named ? fs.realpath(named) : undefined;
    const targetNode = t ? byPath.get(t) : undefined;
    if (!t || targetNode?.type !== "file") {
      issues.add({
        code: "SOURCE_HARDLINK_UNRESOLVED",
        message: `hard link target ${h.linkname ?? ""} is not a regular file of the image; skipped`,
        path: h.path,
      });
      continue;
    }
    const st = await lstat(host(t)).catch(() => undefined);
    if (!st?.isFile()) {
      issues.add({
        code: "SOURCE_HARDLINK_UNRESOLVED",
        message: `hard link target ${t} was not written; skipped`,
        path: h.path,
      });
      continue;
    }
    await link(host(t), host(h.path));
    stats.hardlinks++;
  }
  // Directory modes last, deepest first, so that read-only directories do not block writes.
  const dirs = [...byPath.values()].filter((n) => n.type === "dir" && created.has(n.path));
  dirs.sort((a, b) => b.path.length - a.path.length);
  for (const d of dirs) {
    await chmod(host(d.path), (d.mode & 0o777) | 0o700);
  }
  return { ...stats, issues: [...fs.issues, ...issues.list()] };
}
