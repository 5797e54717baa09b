import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const sha = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

function blob(dir: string, digest: string): Buffer {
  return readFileSync(join(dir, "blobs/sha256", digest.slice(7)));
}

function put(dir: string, bytes: Uint8Array): string {
  const d = sha(bytes);
  writeFileSync(join(dir, "blobs/sha256", d.slice(7)), bytes);
  return d;
}

type Json = Record<string, unknown>;

function rewriteManifest(dir: string, fn: (m: Json) => Json): void {
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const entry = index.manifests[0];
  const m = fn(JSON.parse(blob(dir, entry.digest).toString()));
  const bytes = Buffer.from(JSON.stringify(m));
  entry.digest = put(dir, bytes);
  entry.size = bytes.length;
  writeFileSync(join(dir, "index.json"), JSON.stringify(index));
}

/** Rewrites the image config (as a hostile or broken producer would) and re-links it. */
export function rewriteConfig(dir: string, fn: (c: Json) => Json): void {
  rewriteManifest(dir, (m) => {
    const cfgDesc = m["config"] as Json;
    const c = fn(JSON.parse(blob(dir, cfgDesc["digest"] as string).toString()));
    const bytes = Buffer.from(JSON.stringify(c));
    return { ...m, config: { ...cfgDesc, digest: put(dir, bytes), size: bytes.length } };
  });
}

/** Replaces layer `i` with given bytes and media type (diff id from `uncompressed`, or the bytes). */
export function rewriteLayer(
  dir: string,
  i: number,
  bytes: Uint8Array,
  mediaType: string,
  uncompressed?: Uint8Array,
): void {
  const digest = put(dir, bytes);
  rewriteConfig(dir, (c) => {
    const rootfs = c["rootfs"] as { diff_ids: string[] };
    rootfs.diff_ids[i] = sha(uncompressed ?? bytes);
    return c;
  });
  rewriteManifest(dir, (m) => {
    const layers = m["layers"] as Json[];
    layers[i] = { mediaType, digest, size: bytes.length };
    return m;
  });
}
