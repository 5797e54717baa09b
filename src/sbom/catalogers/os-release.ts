import type { FileResolver } from "../../source/index.js";
import type { Distro } from "../model.js";
import { text } from "./shared.js";

export const OS_RELEASE_PATHS = ["/etc/os-release", "/usr/lib/os-release"] as const;

/** Parses os-release(5): KEY=value lines, values optionally quoted with shell escapes. */
export function parseOsRelease(s: string): Distro | undefined {
  const kv = new Map<string, string>();
  for (const line of s.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m?.[1]) {
      continue;
    }
    let v = (m[2] ?? "").trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) {
      v = v.slice(1, -1).replace(/\\(["'$`\\])/g, "$1");
    }
    kv.set(m[1], v);
  }
  const id = kv.get("ID");
  if (!id) {
    return undefined;
  }
  const versionId = kv.get("VERSION_ID");
  const codename = kv.get("VERSION_CODENAME");
  const pretty = kv.get("PRETTY_NAME");
  const like = kv.get("ID_LIKE");
  return {
    id,
    ...(versionId ? { versionId } : {}),
    ...(codename ? { versionCodename: codename } : {}),
    ...(pretty ? { prettyName: pretty } : {}),
    ...(like ? { idLike: like.split(/\s+/) } : {}),
  };
}

/** Finds the distribution of a filesystem from /etc/os-release (or /usr/lib/os-release). */
export async function detectDistro(
  resolver: FileResolver,
): Promise<{ distro?: Distro; path?: string }> {
  for (const p of OS_RELEASE_PATHS) {
    const bytes = await resolver.read(p);
    if (bytes) {
      const distro = parseOsRelease(text(bytes));
      if (distro) {
        return { distro, path: p };
      }
    }
  }
  return {};
}

/** The purl `distro` qualifier, e.g. `debian-12`. */
export function distroQualifier(d: Distro | undefined): string | undefined {
  if (!d) {
    return undefined;
  }
  return d.versionId ? `${d.id}-${d.versionId}` : d.id;
}
