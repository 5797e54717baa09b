import type { Writable } from "node:stream";
import { ToolError } from "../core/errors.js";
import { BLOCK, type TarEntryType } from "./tar.js";

/** A deterministic tar writer (ustar, PAX records for what ustar cannot hold). */

/** What the writer needs to describe an entry; omitted fields take deterministic defaults. */
export interface TarEntryInput {
  readonly name: string;
  readonly type: TarEntryType;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly size?: number;
  readonly mtime?: number;
  readonly linkname?: string;
  readonly uname?: string;
  readonly gname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
}

const FLAG_OF: Record<TarEntryType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
  other: "0",
};

const encoder = new TextEncoder();

function writeString(buf: Uint8Array, off: number, len: number, s: string): boolean {
  const b = encoder.encode(s);
  if (b.length > len) {
    return false;
  }
  buf.set(b, off);
  return true;
}

function writeOctal(buf: Uint8Array, off: number, len: number, n: number): boolean {
  const s = Math.floor(n).toString(8);
  if (s.length > len - 1) {
    return false;
  }
  writeString(buf, off, len, s.padStart(len - 1, "0"));
  return true;
}

function headerBlock(e: TarEntryInput, name: string, linkname: string, flag: string): Uint8Array {
  const buf = new Uint8Array(BLOCK);
  writeString(buf, 0, 100, name);
  writeOctal(buf, 100, 8, e.mode ?? (e.type === "dir" ? 0o755 : 0o644));
  writeOctal(buf, 108, 8, e.uid ?? 0);
  writeOctal(buf, 116, 8, e.gid ?? 0);
  writeOctal(buf, 124, 12, e.type === "file" ? (e.size ?? 0) : 0);
  writeOctal(buf, 136, 12, e.mtime ?? 0);
  buf[156] = flag.charCodeAt(0);
  writeString(buf, 157, 100, linkname);
  writeString(buf, 257, 6, "ustar");
  writeString(buf, 263, 2, "00");
  writeString(buf, 265, 32, e.uname ?? "");
  writeString(buf, 297, 32, e.gname ?? "");
  writeOctal(buf, 329, 8, e.devmajor ?? 0);
  writeOctal(buf, 337, 8, e.devminor ?? 0);
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    sum += buf[i] ?? 0;
  }
  writeString(buf, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return buf;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = encoder.encode(body).length;
  let total = len + String(len).length;
  if (String(total).length !== String(len).length) {
    total = len + String(total).length;
  }
  len = total;
  return `${len}${body}`;
}

/** Encodes the header block(s) of an entry, with a PAX header when a field does not fit. */
export function encodeTarHeader(e: TarEntryInput): Uint8Array {
  const records: string[] = [];
  const nameBytes = encoder.encode(e.name).length;
  const linkBytes = encoder.encode(e.linkname ?? "").length;
  if (nameBytes > 100) {
    records.push(paxRecord("path", e.name));
  }
  if (linkBytes > 100) {
    records.push(paxRecord("linkpath", e.linkname ?? ""));
  }
  if ((e.size ?? 0) > 0o77777777777) {
    records.push(paxRecord("size", String(e.size)));
  }
  const main = headerBlock(
    { ...e, size: (e.size ?? 0) > 0o77777777777 ? 0 : (e.size ?? 0) },
    nameBytes > 100 ? e.name.slice(0, 99) : e.name,
    linkBytes > 100 ? "" : (e.linkname ?? ""),
    FLAG_OF[e.type],
  );
  if (records.length === 0) {
    return main;
  }
  const paxData = encoder.encode(records.join(""));
  const paxHeader = headerBlock(
    { name: "", type: "file", size: paxData.length, mtime: e.mtime ?? 0 },
    "PaxHeaders/entry",
    "",
    "x",
  );
  const padded = new Uint8Array(Math.ceil(paxData.length / BLOCK) * BLOCK);
  padded.set(paxData);
  const out = new Uint8Array(BLOCK + padded.length + BLOCK);
  out.set(paxHeader, 0);
  out.set(padded, BLOCK);
  out.set(main, BLOCK + padded.length);
  return out;
}

/** Zero padding that follows a body of `size` bytes. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The two zero blocks that end an archive. */
export const TAR_END = new Uint8Array(BLOCK * 2);

/** Writes a tar archive to a Node writable stream, honouring backpressure. */
export class TarWriter {
  constructor(private readonly out: Writable) {}

  async #write(chunk: Uint8Array): Promise<void> {
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.out.off("error", onError);
          resolve();
        };
        const onError = (err: Error) => {
          this.out.off("drain", onDrain);
          reject(err);
        };
        this.out.once("drain", onDrain);
        this.out.once("error", onError);
      });
    }
  }

  /** Adds an entry whose body is given in full (or none for non-files). */
  async add(e: TarEntryInput, body?: Uint8Array): Promise<void> {
    const size = e.type === "file" ? (body?.length ?? 0) : 0;
    await this.#write(encodeTarHeader({ ...e, size }));
    if (body && size > 0) {
      await this.#write(body);
      await this.#write(tarPadding(size));
    }
  }

  /** Adds a file whose body is streamed; `size` must be exact. */
  async addStream(e: TarEntryInput, size: number, body: AsyncIterable<Uint8Array>): Promise<void> {
    await this.#write(encodeTarHeader({ ...e, type: "file", size }));
    let n = 0;
    for await (const chunk of body) {
      n += chunk.length;
      if (n > size) {
        throw new ToolError("CORE_SIZE_MISMATCH", `${e.name}: body larger than ${size} bytes`);
      }
      await this.#write(chunk);
    }
    if (n !== size) {
      throw new ToolError("CORE_SIZE_MISMATCH", `${e.name}: body has ${n} bytes, expected ${size}`);
    }
    await this.#write(tarPadding(size));
  }

  /** Writes the end-of-archive marker. Does not end the underlying stream. */
  async finish(): Promise<void> {
    await this.#write(TAR_END);
  }
}
