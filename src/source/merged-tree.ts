/** The merged tree of an image filesystem: layers applied with whiteouts, lookups, walks. */
import type { Digest } from "../core/digest.js";
import type { IssueCollector } from "../core/issues.js";
import type { TarEntryType } from "../oci/index.js";
import type { FileNode, LayerEntry } from "./layer-entries.js";
import { baseName, normalizeEntryPath, parentPath, resolveLinkTarget } from "./paths.js";

export interface TreeDir {
  node: FileNode | undefined;
  children: Map<string, TreeNode>;
}
export type TreeNode = { node: FileNode; children?: undefined } | TreeDir;

export function isDir(t: TreeNode): t is TreeDir {
  return t.children !== undefined;
}

export function* walkDir(dir: TreeDir, path: string): Generator<FileNode> {
  for (const name of [...dir.children.keys()].sort()) {
    const child = dir.children.get(name) as TreeNode;
    const p = `${path}/${name}`;
    yield child.node ?? implicitDir(p);
    if (isDir(child)) {
      yield* walkDir(child, p);
    }
  }
}

export function implicitDir(path: string): FileNode {
  return { path, type: "dir", mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, layer: -1, seq: -1 };
}

export function applyLayer(
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

export function lookupNode(root: TreeDir, path: string): FileNode | undefined {
  const r = resolveDir(root, parentPath(path), false);
  return r.kind === "ok" ? r.dir.children.get(baseName(path))?.node : undefined;
}

export type DirResolution =
  | { readonly kind: "ok"; readonly dir: TreeDir; readonly path: string }
  | { readonly kind: "loop" | "notdir" | "missing" };

/**
 * Resolves a directory path in the tree the way containerd applies layers: symlinks in the
 * path are followed inside the image root (`..` and absolute targets clamped to the root, at
 * most 40 links), so an entry under `/lib` lands under `/usr/lib` on a merged-/usr image and
 * a link pointing outside the root points back inside it. With `create`, missing directories
 * become implicit ones. A file in the way is "not a directory", as extraction finds it.
 */
export function resolveDir(root: TreeDir, path: string, create: boolean): DirResolution {
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
