/**
 * Normalises a tar entry name to an absolute path inside the image root.
 * Returns undefined for names that try to leave the root (`..` above `/`) or are empty.
 */
export function normalizeEntryPath(name: string): string | undefined {
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "" || p === ".") {
      continue;
    }
    if (p === "..") {
      if (parts.length === 0) {
        return undefined;
      }
      parts.pop();
      continue;
    }
    parts.push(p);
  }
  return parts.length === 0 ? "/" : `/${parts.join("/")}`;
}

/** Parent directory of a normalised path (`/` for top-level entries). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Last component of a path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Resolves a symlink target against the directory holding the link, clamped to the root
 * the way a chroot does (`..` at `/` stays at `/`).
 */
export function resolveLinkTarget(linkDir: string, target: string): string {
  const parts = target.startsWith("/") ? [] : linkDir.split("/").filter(Boolean);
  for (const p of target.split("/")) {
    if (p === "" || p === ".") {
      continue;
    }
    if (p === "..") {
      parts.pop();
    } else {
      parts.push(p);
    }
  }
  return `/${parts.join("/")}`;
}
