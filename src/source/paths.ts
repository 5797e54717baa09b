/** An empty, `.` or `..` component anywhere in a path. */
const UNCLEAN = /(?:^|\/)(?:\.{1,2})?(?:\/|$)/;

/**
 * Normalises a tar entry name to an absolute path inside the image root.
 * Returns undefined for names that try to leave the root (`..` above `/`) or are empty.
 */
export function normalizeEntryPath(name: string): string | undefined {
  // the common case, a clean relative or absolute name (`./usr/bin/x`, `usr/lib/`, `/etc/x`),
  // without splitting: no empty, `.` or `..` component past the leading `./` or `/`
  const start = name.startsWith("./") ? 2 : name.startsWith("/") ? 1 : 0;
  const end = name.length > start + 1 && name.endsWith("/") ? name.length - 1 : name.length;
  const rest = name.slice(start, end);
  if (rest !== "" && !UNCLEAN.test(rest)) {
    return `/${rest}`;
  }
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
