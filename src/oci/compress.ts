import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { OciError, ToolError } from "../core/errors.js";
import { lazyModule } from "../core/lazy.js";
import { type Compression, layerCompression } from "./media-types.js";

// loaded on first use (core/lazy.ts): most images have no zstd layer
const zstd = lazyModule<typeof import("fzstd")>("fzstd");

/**
 * Decompresses a layer stream according to its media type, refusing to produce more than
 * `maxBytes` (gzip bombs). zstd is decoded by fzstd (pure JavaScript: Node 20's zlib has no
 * zstd).
 * @throws OciError OCI_UNSUPPORTED_MEDIA_TYPE, OCI_DECOMPRESS_FAILED; ToolError CORE_LIMIT_EXCEEDED
 */
export async function* decompressLayer(
  source: AsyncIterable<Uint8Array>,
  mediaType: string,
  opts: { maxBytes: number; what: string },
): AsyncGenerator<Uint8Array> {
  const compression = layerCompression(mediaType);
  if (compression === undefined) {
    throw new OciError(
      "OCI_UNSUPPORTED_MEDIA_TYPE",
      `${opts.what}: unsupported layer media type "${mediaType}"`,
      {
        hint: "supported: OCI and Docker tar layers, uncompressed, gzip or zstd",
      },
    );
  }
  let total = 0;
  for await (const chunk of decompress(source, compression, opts.what)) {
    total += chunk.byteLength;
    if (total > opts.maxBytes) {
      throw new ToolError(
        "CORE_LIMIT_EXCEEDED",
        `${opts.what}: decompresses to more than ${opts.maxBytes} bytes (decompression bomb?)`,
        { hint: "raise the limit with --max-layer-bytes if the image is trusted" },
      );
    }
    yield chunk;
  }
}

function decompress(
  source: AsyncIterable<Uint8Array>,
  compression: Compression,
  what: string,
): AsyncIterable<Uint8Array> {
  switch (compression) {
    case "none":
      return source;
    case "gzip":
      return gunzip(source, what);
    case "zstd":
      return unzstd(source, what);
  }
}

async function* gunzip(
  source: AsyncIterable<Uint8Array>,
  what: string,
): AsyncGenerator<Uint8Array> {
  const input = Readable.from(source, { objectMode: false });
  const gz = createGunzip({ chunkSize: 256 * 1024 });
  input.on("error", (e) => gz.destroy(e));
  input.pipe(gz);
  try {
    for await (const chunk of gz) {
      yield chunk as Uint8Array;
    }
  } catch (e) {
    if (e instanceof ToolError) {
      throw e;
    }
    throw new OciError("OCI_DECOMPRESS_FAILED", `${what}: gzip data is corrupt or truncated`, {
      cause: e,
    });
  } finally {
    input.destroy();
    gz.destroy();
  }
}

async function* unzstd(
  source: AsyncIterable<Uint8Array>,
  what: string,
): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let ended = false;
  const d = new (zstd().Decompress)((data, final) => {
    out.push(data);
    if (final) {
      ended = true;
    }
  });
  try {
    for await (const chunk of source) {
      d.push(chunk);
      while (out.length > 0) {
        yield out.shift() as Uint8Array;
      }
    }
    d.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof ToolError) {
      throw e;
    }
    throw new OciError("OCI_DECOMPRESS_FAILED", `${what}: zstd data is corrupt or truncated`, {
      cause: e,
    });
  }
  while (out.length > 0) {
    yield out.shift() as Uint8Array;
  }
  if (!ended) {
    throw new OciError("OCI_DECOMPRESS_FAILED", `${what}: zstd stream is truncated`);
  }
}
