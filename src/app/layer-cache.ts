import { gunzipSync, gzipSync } from "node:zlib";
import { type Digest, sha256 } from "../core/digest.js";
import type { Issue } from "../core/issues.js";
import type { CachedLayer, LayerCache, LayerEntry } from "../source/index.js";
import type { EvidenceStore } from "../store/index.js";

export const LAYER_CACHE_MEDIA_TYPE = "application/vnd.cleanimg.layer-catalog-cache.v1+json+gzip";
const KIND = "layer-catalog-cache";

interface Serialized {
  entries: LayerEntry[];
  contents: [number, string][];
  sniffed: [number, string, string][];
  issues: Issue[];
}

/**
 * Layer readings cached in the evidence store, linked to the layer's diff id and annotated with
 * the reader's key, so that a base layer shared by many images is read and catalogued once.
 * The store re-hashes every blob it returns, so a cached reading cannot be altered unnoticed.
 */
export function evidenceLayerCache(store: EvidenceStore): LayerCache {
  return {
    async get(diffId: Digest, key: string): Promise<CachedLayer | undefined> {
      const links = await store.find({ subject: diffId, kind: KIND });
      const link = links.filter((l) => l.annotations["key"] === key).pop();
      if (!link) {
        return undefined;
      }
      const blob = await store.getBlob(link.evidence);
      const s = JSON.parse(gunzipSync(blob.bytes).toString("utf8")) as Serialized;
      return {
        entries: s.entries,
        contents: s.contents.map(
          ([seq, b64]) => [seq, new Uint8Array(Buffer.from(b64, "base64"))] as const,
        ),
        sniffed: s.sniffed.map(
          ([seq, id, b64]) => [seq, id, new Uint8Array(Buffer.from(b64, "base64"))] as const,
        ),
        issues: s.issues,
      };
    },
    async put(diffId: Digest, key: string, layer: CachedLayer): Promise<void> {
      const s: Serialized = {
        entries: [...layer.entries],
        contents: layer.contents.map(([seq, b]) => [seq, Buffer.from(b).toString("base64")]),
        sniffed: layer.sniffed.map(([seq, id, b]) => [seq, id, Buffer.from(b).toString("base64")]),
        issues: [...layer.issues],
      };
      const d = await store.putBlob(
        new Uint8Array(gzipSync(JSON.stringify(s), { level: 1 })),
        LAYER_CACHE_MEDIA_TYPE,
      );
      await store.link(diffId, d, KIND, { key });
    },
  };
}

/** The cache key of a reading: which catalogers (and versions) and limits it served. */
export function catalogCacheKey(parts: readonly string[]): string {
  return sha256(parts.join("\n")).slice(7, 39);
}
