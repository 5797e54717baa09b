import { ToolError } from "./errors.js";

/** Default caps applied to untrusted input. Every reader takes overrides. */
export const DEFAULT_LIMITS = {
  /** Manifests, indexes, configs and other JSON documents. */
  maxJsonBytes: 8 * 1024 * 1024,
  /** Decompressed bytes of one layer (gzip bombs). */
  maxLayerBytes: 64 * 1024 ** 3,
  /** Entries across all layers of one image. */
  maxEntries: 2_000_000,
  /** One PAX extended header or GNU long name. */
  maxTarMetaBytes: 1024 * 1024,
  /** Length of one path. */
  maxPathBytes: 4096,
} as const;

export type Limits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };

/** Resolves partial limits over the defaults. */
export function resolveLimits(partial?: Partial<Limits>): Limits {
  return { ...DEFAULT_LIMITS, ...partial };
}

/**
 * Reads a whole stream into memory, refusing to read more than `max` bytes.
 * @throws ToolError CORE_LIMIT_EXCEEDED
 */
export async function readAllLimited(
  source: AsyncIterable<Uint8Array>,
  max: number,
  what: string,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (total > max) {
      throw new ToolError("CORE_LIMIT_EXCEEDED", `${what} is larger than the ${max}-byte limit`);
    }
    chunks.push(chunk);
  }
  return concatBytes(chunks, total);
}

/** Concatenates chunks into one array. */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]) {
    return chunks[0];
  }
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.byteLength, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** A one-chunk async stream over bytes already in memory. */
export async function* streamOf(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
