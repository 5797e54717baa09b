import { verifyStream } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import type { IssueCollector } from "../core/issues.js";
import { type Limits, resolveLimits } from "../core/limits.js";
import {
  decompressLayer,
  type ResolvedImage,
  type ResolvedLayer,
  readTar,
  type TarBodySink,
  type TarEntry,
  type TarEntryType,
} from "../oci/index.js";
import { baseName, normalizeEntryPath, parentPath } from "./paths.js";

/** A file of the image filesystem and where it came from. */
export interface FileNode {
  /** Absolute, normalised path (`/etc/os-release`). */
  readonly path: string;
  readonly type: TarEntryType;
  /** Permission and type bits as stored (12 low bits: setuid, setgid, sticky, rwx). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Bytes of content (regular files; for hard links, the target's size when known). */
  readonly size: number;
  readonly mtime: number;
  /** Symlink or hard-link target as stored. */
  readonly linkname?: string;
  /** Index of the layer the entry comes from (0 = base). */
  readonly layer: number;
  /** Ordinal of the entry inside its layer's tar stream. */
  readonly seq: number;
}

/** An entry of one layer, including the whiteouts that the merged view applies. */
export type LayerEntry =
  | { readonly kind: "file"; readonly node: FileNode }
  | { readonly kind: "whiteout"; readonly path: string; readonly seq: number }
  | { readonly kind: "opaque"; readonly dir: string; readonly seq: number };

export interface ReadLayerOptions {
  readonly limits?: Partial<Limits>;
  /** Receives the bodies of entries `want` selects. */
  readonly onBody?: (node: FileNode) => TarBodySink | undefined | Promise<TarBodySink | undefined>;
  readonly signal?: AbortSignal;
}

/**
 * Finds a byte pattern inside files as they stream and keeps the bytes that follow it, so
 * that embedded metadata (Go build info) is read without holding whole binaries in memory.
 */
export interface Sniffer {
  readonly id: string;
  readonly magic: Uint8Array;
  /** Bytes kept from the start of the match. */
  readonly capture: number;
  /** Bytes after the magic that `accept` needs to see. */
  readonly lookahead?: number;
  /** Judges a match (magic plus lookahead bytes); a rejected one is skipped and the search goes on. */
  accept?(head: Uint8Array): boolean;
  match(node: FileNode): boolean;
  /** Cuts a capture down to what its reader needs, so only that is kept (default: all of it). */
  trim?(captured: Uint8Array): Uint8Array;
  /** The magic counts only at the start of the file (file-format signatures). */
  readonly anchored?: boolean;
}

/**
 * The first accepted match of `magic` in `hay` that starts before `until`: its index, or -1 with
 * the index from which bytes must be kept for the next chunk (a candidate without its lookahead).
 */
function firstMatch(
  hay: Buffer,
  until: number,
  magic: Buffer,
  need: number,
  accepted: (hay: Buffer, i: number) => boolean,
): { at: number; keep: number } {
  for (let from = 0; ; ) {
    const i = hay.indexOf(magic, from);
    if (i < 0 || i >= until) {
      return { at: -1, keep: Math.max(0, hay.length - (need - 1)) };
    }
    if (hay.length - i < need) {
      return { at: -1, keep: i }; // not enough bytes yet to judge this match
    }
    // A literal copy of the magic (code that reads build info embeds it) is not the blob.
    if (accepted(hay, i)) {
      return { at: i, keep: -1 };
    }
    from = i + 1;
  }
}

/** A sink that scans for a sniffer's magic across chunk boundaries and captures what follows. */
export function sniffSink(
  sn: Sniffer,
  done: (captured: Uint8Array) => void,
  /** The file's size: the capture buffer is never larger. */
  sizeHint?: number,
): TarBodySink {
  const magic = Buffer.from(sn.magic);
  const need = magic.length + (sn.lookahead ?? 0);
  let offset = 0; // file offset of the next chunk's first byte
  let gaveUp = false;
  // the last bytes seen (fewer than `need`): where a match that a chunk boundary cuts begins
  let tail = Buffer.alloc(0);
  let out: Buffer | undefined;
  let filled = 0;
  const take = (b: Buffer): void => {
    if (!out) {
      return;
    }
    const n = Math.min(b.length, out.length - filled);
    b.copy(out, filled, 0, n);
    filled += n;
  };
  // only the filled part is ever read, so the buffer need not be zeroed
  const startCapture = (at: number): void => {
    out = Buffer.allocUnsafe(
      Math.max(0, Math.min(sn.capture, sizeHint === undefined ? sn.capture : sizeHint - at)),
    );
  };
  const accepted = (hay: Buffer, i: number): boolean =>
    !sn.accept || sn.accept(hay.subarray(i, i + need));
  const find = (hay: Buffer, until: number) => firstMatch(hay, until, magic, need, accepted);
  const anchoredWrite = (b: Buffer): void => {
    const hay = tail.length ? Buffer.concat([tail, b]) : b;
    if (hay.length < need) {
      tail = Buffer.from(hay);
      return;
    }
    tail = Buffer.alloc(0);
    if (!hay.subarray(0, magic.length).equals(magic) || !accepted(hay, 0)) {
      gaveUp = true; // a file-format signature counts only at the start
      return;
    }
    startCapture(0);
    take(hay);
  };
  return {
    write(chunk) {
      const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (out) {
        take(b);
        return;
      }
      if (gaveUp) {
        return;
      }
      if (sn.anchored) {
        anchoredWrite(b);
        offset += b.length;
        return;
      }
      const chunkStart = offset;
      offset += b.length;
      if (tail.length > 0 && b.length < need - 1) {
        // a chunk shorter than a match: joined to the kept bytes (a small copy)
        const hay = Buffer.concat([tail, b]);
        const hit = find(hay, hay.length);
        if (hit.at >= 0) {
          startCapture(chunkStart - tail.length + hit.at);
          take(hay.subarray(hit.at));
          return;
        }
        tail = Buffer.from(hay.subarray(hit.keep));
        return;
      }
      if (tail.length > 0) {
        // the seam: the kept bytes and enough of this chunk to judge a match starting in them.
        // Only the seam is copied, never the chunk (a file's chunks stream through every sniffer).
        const seam = Buffer.concat([tail, b.subarray(0, need - 1)]);
        const hit = find(seam, tail.length);
        if (hit.at >= 0) {
          startCapture(chunkStart - tail.length + hit.at);
          take(seam.subarray(hit.at, tail.length));
          take(b);
          return;
        }
      }
      const hit = find(b, b.length);
      if (hit.at >= 0) {
        startCapture(chunkStart + hit.at);
        take(b.subarray(hit.at));
        return;
      }
      tail = Buffer.from(b.subarray(hit.keep));
    },
    close() {
      if (out) {
        const view = out.subarray(0, filled);
        done(new Uint8Array(sn.trim ? sn.trim(view) : view)); // a copy: the capture buffer goes
      }
    },
  };
}

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE = ".wh..wh..opq";

/**
 * Streams one layer (verified blob -> decompress -> verified diff id -> tar) and returns its
 * entries. Unsafe names are skipped as issues; stream faults throw.
 * @throws OciError/ToolError for a missing or corrupt blob, bad compression, a bad tar, limits
 */
export async function readLayerEntries(
  image: ResolvedImage,
  layer: ResolvedLayer,
  issues: IssueCollector,
  opts: ReadLayerOptions & { entryBudget: { left: number } },
): Promise<LayerEntry[]> {
  const limits = resolveLimits(opts.limits);
  const what = `layer ${layer.index} (${layer.descriptor.digest}) of ${image.source.description}`;
  const blob = image.source.openBlob(layer.descriptor);
  const tarStream = verifyStream(
    decompressLayer(blob, layer.descriptor.mediaType, { maxBytes: limits.maxLayerBytes, what }),
    { digest: layer.diffId, what: `uncompressed ${what} (diff id)` },
  );
  const entries: LayerEntry[] = [];
  let seq = 0;
  await readTar(tarStream, {
    what,
    maxMetaBytes: limits.maxTarMetaBytes,
    onEntry: (e: TarEntry) => {
      const s = seq++;
      if (--opts.entryBudget.left < 0) {
        throw new ToolError(
          "CORE_LIMIT_EXCEEDED",
          `${image.source.description} has more than ${limits.maxEntries} filesystem entries`,
          {
            hint: "raise the limit with --max-entries if the image is trusted",
          },
        );
      }
      if (opts.signal?.aborted) {
        throw opts.signal.reason;
      }
      if (Buffer.byteLength(e.name) > limits.maxPathBytes) {
        issues.add({
          code: "SOURCE_PATH_TOO_LONG",
          message: `entry name longer than ${limits.maxPathBytes} bytes skipped`,
          subject: layer.descriptor.digest,
        });
        return undefined;
      }
      const path = normalizeEntryPath(e.name);
      if (path === undefined || (e.name.startsWith("/") && e.name !== "/")) {
        issues.add({
          code: "SOURCE_PATH_UNSAFE",
          message:
            path === undefined
              ? "entry name escapes the root with ../; skipped"
              : "absolute entry name; read relative to the root",
          path: e.name,
          subject: layer.descriptor.digest,
        });
        if (path === undefined) {
          return undefined;
        }
      }
      if (path === "/") {
        return undefined; // the root directory's own entry carries nothing we use
      }
      const base = baseName(path);
      if (base === OPAQUE) {
        entries.push({ kind: "opaque", dir: parentPath(path), seq: s });
        return undefined;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const target = `${parentPath(path) === "/" ? "" : parentPath(path)}/${base.slice(WHITEOUT_PREFIX.length)}`;
        entries.push({ kind: "whiteout", path: target, seq: s });
        return undefined;
      }
      const node: FileNode = {
        path,
        type: e.type,
        mode: e.mode & 0o7777,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        mtime: e.mtime,
        ...(e.type === "symlink" || e.type === "hardlink" ? { linkname: e.linkname } : {}),
        layer: layer.index,
        seq: s,
      };
      entries.push({ kind: "file", node });
      return opts.onBody?.(node);
    },
  });
  return entries;
}
