import { OciError, ToolError } from "../core/errors.js";
import { concatBytes } from "../core/limits.js";
import {
  BLOCK,
  checksumOk,
  isZeroBlock,
  readNumber,
  readString,
  ustarFields,
} from "./tar-header.js";
import {
  applyPax,
  MAX_PAX_GLOBAL_HEADERS,
  MAX_PAX_RECORDS,
  type PaxFields,
  parsePax,
} from "./tar-pax.js";

export { BLOCK } from "./tar-header.js";
export { MAX_PAX_GLOBAL_HEADERS, MAX_PAX_RECORDS, parsePax } from "./tar-pax.js";

/**
 * A streaming tar reader for image layers and image archives (the writer is tar-write.ts).
 *
 * Written here rather than taken from a library because a scanner must control every limit on
 * hostile input (PAX header sizes, path lengths, truncation) and must skip file bodies without
 * copying them: walking a layer is the hot path of `image files`.
 * Formats: POSIX ustar, PAX extended headers (`x`, `g`), GNU long names (`L`, `K`),
 * GNU base-256 numeric fields.
 */

export type TarEntryType =
  | "file"
  | "dir"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo"
  | "other";

export interface TarEntry {
  /** Path as stored (after PAX/GNU long-name processing); not normalised. */
  readonly name: string;
  readonly type: TarEntryType;
  /** The raw type flag, for diagnostics. */
  readonly typeflag: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  readonly linkname: string;
  readonly uname: string;
  readonly gname: string;
  readonly devmajor: number;
  readonly devminor: number;
  /**
   * PAX records other than the ones mapped to fields above (xattrs, times), of this entry's own
   * extended header (global records that apply to it are in `paxGlobal`).
   */
  readonly pax?: Readonly<Record<string, string>>;
  /** Records of the global (`g`) headers before this entry, shared by every entry they cover. */
  readonly paxGlobal?: Readonly<Record<string, string>>;
}

/** Receives the body of an entry the handler asked for. */
export interface TarBodySink {
  write(chunk: Uint8Array): void | Promise<void>;
  close(): void | Promise<void>;
}

export interface TarReadOptions {
  /** Cap on one PAX header or GNU long name (bytes). */
  readonly maxMetaBytes?: number;
  /** Cap on the records of one PAX header (default MAX_PAX_RECORDS). */
  readonly maxPaxRecords?: number;
  /** Cap on the global (`g`) PAX headers of one archive (default MAX_PAX_GLOBAL_HEADERS). */
  readonly maxPaxGlobalHeaders?: number;
  /** Name of the archive for error messages. */
  readonly what?: string;
  /** Called for each entry; return a sink to receive its body, or nothing to skip it. */
  readonly onEntry: (
    entry: TarEntry,
    bodyOffset: number,
  ) => TarBodySink | undefined | Promise<TarBodySink | undefined>;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

type State =
  | { kind: "header" }
  | { kind: "body"; remaining: number; padding: number; sink: TarBodySink | undefined }
  | { kind: "meta"; remaining: number; padding: number; chunks: Uint8Array[]; flag: string }
  | { kind: "done" };

type GlobalFields = { fields: Partial<PaxFields>; extra?: Readonly<Record<string, string>> };

/** The state machine behind readTar: fed chunks in order, it calls `onEntry` per entry. */
class TarParser {
  private readonly what: string;
  private readonly maxMeta: number;
  private readonly maxRecords: number;
  private readonly maxGlobals: number;
  private state: State = { kind: "header" };
  private readonly headerBuf = new Uint8Array(BLOCK);
  private headerFill = 0;
  entries = 0;
  private zeroBlocks = 0;
  private globalHeaders = 0;
  private globalFields: GlobalFields = { fields: {} };
  private paxLocal: Record<string, string> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  /** Absolute offset in the archive of the byte after the header being processed. */
  private position = 0;
  /** Absolute offset of the chunk being fed. */
  private base = 0;

  constructor(private readonly opts: TarReadOptions) {
    this.what = opts.what ?? "tar archive";
    this.maxMeta = opts.maxMetaBytes ?? 1024 * 1024;
    this.maxRecords = opts.maxPaxRecords ?? MAX_PAX_RECORDS;
    this.maxGlobals = opts.maxPaxGlobalHeaders ?? MAX_PAX_GLOBAL_HEADERS;
  }

  async feed(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const s = this.state;
      if (s.kind === "done") {
        // Trailing bytes after the end-of-archive marker are ignored, as GNU tar does.
        break;
      }
      if (s.kind === "header") {
        off = await this.feedHeader(chunk, off);
      } else if (s.kind === "meta") {
        off = this.feedMeta(s, chunk, off);
      } else {
        off = await this.feedBody(s, chunk, off);
      }
    }
    this.base += chunk.length;
  }

  /** The result once the stream has ended; a stream that stops inside an entry is an error. */
  finish(): { entries: number } {
    const end = this.state;
    if (end.kind === "body" || end.kind === "meta" || this.headerFill !== 0) {
      if (end.kind === "body" && end.remaining === 0 && this.headerFill === 0) {
        // Only padding of the last entry is missing: tolerated like GNU tar.
        return { entries: this.entries };
      }
      throw new OciError(
        "OCI_TAR_TRUNCATED",
        `${this.what}: archive ends inside an entry (truncated?)`,
      );
    }
    return { entries: this.entries };
  }

  private async feedHeader(chunk: Uint8Array, off: number): Promise<number> {
    if (this.headerFill === 0 && chunk.length - off >= BLOCK) {
      this.position = this.base + off + BLOCK;
      await this.startHeader(chunk.subarray(off, off + BLOCK));
      return off + BLOCK;
    }
    const n = Math.min(BLOCK - this.headerFill, chunk.length - off);
    this.headerBuf.set(chunk.subarray(off, off + n), this.headerFill);
    this.headerFill += n;
    if (this.headerFill === BLOCK) {
      this.headerFill = 0;
      this.position = this.base + off + n;
      await this.startHeader(this.headerBuf);
    }
    return off + n;
  }

  private feedMeta(s: State & { kind: "meta" }, chunk: Uint8Array, off: number): number {
    let at = off;
    if (s.remaining > 0) {
      const n = Math.min(s.remaining, chunk.length - at);
      s.chunks.push(chunk.slice(at, at + n));
      s.remaining -= n;
      at += n;
    }
    if (s.remaining === 0) {
      this.finishMeta();
    }
    return at;
  }

  private async feedBody(
    s: State & { kind: "body" },
    chunk: Uint8Array,
    off: number,
  ): Promise<number> {
    if (s.remaining > 0) {
      const n = Math.min(s.remaining, chunk.length - off);
      if (s.sink) {
        await s.sink.write(chunk.subarray(off, off + n));
      }
      s.remaining -= n;
      if (s.remaining === 0) {
        await s.sink?.close();
        s.sink = undefined;
      }
      if (s.remaining === 0 && s.padding === 0) {
        this.state = { kind: "header" };
      }
      return off + n;
    }
    const n = Math.min(s.padding, chunk.length - off);
    s.padding -= n;
    if (s.padding === 0) {
      this.state = { kind: "header" };
    }
    return off + n;
  }

  private async startHeader(buf: Uint8Array): Promise<void> {
    const what = this.what;
    if (isZeroBlock(buf, 0)) {
      this.zeroBlocks++;
      if (this.zeroBlocks === 2) {
        this.state = { kind: "done" };
      }
      return;
    }
    if (this.zeroBlocks > 0) {
      throw new OciError("OCI_TAR_INVALID", `${what}: data after an end-of-archive block`);
    }
    if (!checksumOk(buf, 0, what)) {
      throw new OciError("OCI_TAR_INVALID", `${what}: header checksum mismatch`, {
        hint: "the layer is not a tar archive or is corrupt",
      });
    }
    const flag = String.fromCharCode(buf[156] ?? 0);
    const size = readNumber(buf, 124, 12, "size", what);
    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      this.startMeta(flag, size);
      return;
    }
    const entry = this.entryOf(buf, flag, size);
    this.entries++;
    const sink = await this.opts.onEntry(entry, this.position);
    this.state = {
      kind: "body",
      remaining: entry.size,
      padding: (BLOCK - (entry.size % BLOCK)) % BLOCK,
      sink,
    };
    if (entry.size === 0) {
      await sink?.close();
      this.state = { kind: "header" };
    }
  }

  private startMeta(flag: string, size: number): void {
    if (size > this.maxMeta) {
      throw new ToolError(
        "CORE_LIMIT_EXCEEDED",
        `${this.what}: ${flag === "x" || flag === "g" ? "PAX header" : "GNU long name"} of ${size} bytes exceeds the ${this.maxMeta}-byte limit`,
      );
    }
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.state = { kind: "meta", remaining: size, padding, chunks: [], flag };
    if (size === 0) {
      this.finishMeta();
    }
  }

  /** The entry a ustar header describes, with the pending PAX records and long names applied. */
  private entryOf(buf: Uint8Array, flag: string, size: number): TarEntry {
    const what = this.what;
    const f = ustarFields(buf, size, what);
    // Global records were parsed once, when their header was read: the work per entry depends
    // on this entry's own header only, however large the global headers are.
    Object.assign(f, this.globalFields.fields);
    const extra = this.paxLocal ? applyPax(f, this.paxLocal, what) : {};
    if (this.longName !== undefined) {
      f.name = this.longName;
    }
    if (this.longLink !== undefined) {
      f.linkname = this.longLink;
    }
    this.paxLocal = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    const type: TarEntryType = TYPES[flag] ?? "other";
    const device = type === "char" || type === "block";
    return {
      name: f.name,
      type,
      typeflag: flag,
      mode: readNumber(buf, 100, 8, "mode", what),
      uid: f.uid,
      gid: f.gid,
      // Only regular files (and unknown types) carry a body; a hardlink's size field is ignored.
      size: type === "file" || type === "other" ? f.size : 0,
      mtime: f.mtime,
      linkname: f.linkname,
      uname: f.uname,
      gname: f.gname,
      devmajor: device ? readNumber(buf, 329, 8, "devmajor", what) : 0,
      devminor: device ? readNumber(buf, 337, 8, "devminor", what) : 0,
      ...(Object.keys(extra).length > 0 ? { pax: extra } : {}),
      ...(this.globalFields.extra ? { paxGlobal: this.globalFields.extra } : {}),
    };
  }

  private finishMeta(): void {
    const s = this.state;
    if (s.kind !== "meta") {
      return;
    }
    const data = concatBytes(s.chunks);
    switch (s.flag) {
      case "x":
        this.paxLocal = parsePax(data, this.what, this.maxRecords);
        break;
      case "g":
        this.addGlobal(data);
        break;
      case "L":
        this.longName = readString(data, 0, data.length);
        break;
      case "K":
        this.longLink = readString(data, 0, data.length);
        break;
    }
    this.state =
      s.padding > 0
        ? { kind: "body", remaining: 0, padding: s.padding, sink: undefined }
        : { kind: "header" };
  }

  /** A global header's records, parsed once and merged over the earlier ones. */
  private addGlobal(data: Uint8Array): void {
    const what = this.what;
    if (++this.globalHeaders > this.maxGlobals) {
      throw new ToolError(
        "CORE_LIMIT_EXCEEDED",
        `${what}: more than ${this.maxGlobals} global PAX headers`,
        { hint: "the layer is hostile or corrupt; real archives carry at most one" },
      );
    }
    const fields: Partial<PaxFields> = { ...this.globalFields.fields };
    const extra = {
      ...this.globalFields.extra,
      ...applyPax(fields, parsePax(data, what, this.maxRecords), what),
    };
    if (Object.keys(extra).length > this.maxRecords) {
      throw new ToolError(
        "CORE_LIMIT_EXCEEDED",
        `${what}: global PAX headers with more than ${this.maxRecords} records`,
      );
    }
    this.globalFields = {
      fields,
      ...(Object.keys(extra).length > 0 ? { extra: Object.freeze(extra) } : {}),
    };
  }
}

/**
 * Reads a tar stream, calling `onEntry` for each entry in order.
 * Bodies the handler does not take are skipped without copying.
 * @throws ToolError OCI_TAR_INVALID (bad checksum or fields), OCI_TAR_TRUNCATED (stream ends
 *   inside an entry), CORE_LIMIT_EXCEEDED (oversized PAX header or long name)
 */
export async function readTar(
  source: AsyncIterable<Uint8Array>,
  opts: TarReadOptions,
): Promise<{ entries: number }> {
  const parser = new TarParser(opts);
  for await (const chunk of source) {
    await parser.feed(chunk);
  }
  return parser.finish();
}
