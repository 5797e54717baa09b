import { sha256 } from "../../core/digest.js";
import { lazyModule } from "../../core/lazy.js";
import type { FileNode, FileResolver } from "../../source/index.js";
import type { Location, Package } from "../model.js";

// loaded on first use (core/lazy.ts)
const purlLib = lazyModule<{
  PackageURL: new (
    type: string,
    namespace: string | undefined | null,
    name: string,
    version: string | undefined | null,
    qualifiers: Record<string, string> | undefined | null,
    subpath: string | undefined | null,
  ) => { toString(): string };
}>("packageurl-js");

/** Builds a purl string (packageurl-js does the escaping). */
export function purl(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string | undefined,
  qualifiers?: Record<string, string | undefined>,
): string {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(qualifiers ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (v) {
      q[k] = v;
    }
  }
  return new (purlLib().PackageURL)(
    type,
    namespace ?? null,
    name,
    version ?? null,
    Object.keys(q).length ? q : null,
    null,
  ).toString();
}

/** A stable package id: short hash of purl and first location. */
export function packageId(purlString: string, location: string): string {
  return `pkg-${sha256(`${purlString}\n${location}`).slice(7, 23)}`;
}

/** The location of a file with the layer it came from. */
export function locationOf(
  resolver: FileResolver,
  node: FileNode | undefined,
  path: string,
): Location {
  const layer = node ? resolver.layerDigest(node.layer) : undefined;
  return { path, ...(layer ? { layer } : {}) };
}

/** Decodes UTF-8 text, tolerating invalid bytes. */
export function text(bytes: Uint8Array): string {
  return new TextDecoder("utf-8").decode(bytes);
}

/**
 * Parses RFC 822-style stanzas (dpkg status, apk uses its own format): "Field: value" with
 * continuation lines starting with a space or tab; stanzas separated by blank lines.
 */
export function parseStanzas(s: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let cur = new Map<string, string>();
  let last: string | undefined;
  for (const line of s.split("\n")) {
    if (line.trim() === "") {
      if (cur.size > 0) {
        out.push(cur);
      }
      cur = new Map();
      last = undefined;
      continue;
    }
    if ((line.startsWith(" ") || line.startsWith("\t")) && last) {
      cur.set(last, `${cur.get(last) ?? ""}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      continue;
    }
    last = line.slice(0, colon).trim();
    cur.set(last, line.slice(colon + 1).trim());
  }
  if (cur.size > 0) {
    out.push(cur);
  }
  return out;
}

/** Simple glob for interest declarations: `*` within a segment, `**` across segments. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") {
        i++;
        re += "(?:/)?";
      }
    } else if (c === "*") {
      re += "[^/]*";
    } else {
      re += c.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${re}$`);
}

const MAX_MISSING_LISTED = 10_000;

/**
 * Which of a package's regular files (as its database lists them) exist in the final filesystem.
 * Paths that escape the root or loop count as absent: the listed file is not reachable there.
 */
export function presenceOf(
  resolver: FileResolver,
  regularFiles: Iterable<string>,
): NonNullable<Package["presence"]> {
  const missing: string[] = [];
  let checked = 0;
  let present = 0;
  for (const path of regularFiles) {
    checked++;
    let exists: boolean;
    try {
      exists = resolver.realpath(path) !== undefined;
    } catch {
      exists = false;
    }
    if (exists) {
      present++;
    } else if (missing.length < MAX_MISSING_LISTED) {
      missing.push(path);
    }
  }
  return { checked, present, missing: missing.sort() };
}
