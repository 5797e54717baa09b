import { OciError } from "../core/errors.js";
import type { PaxFields } from "./tar-pax.js";

/** Decoding one 512-byte tar header block: strings, octal and GNU base-256 numbers, checksum. */

export const BLOCK = 512;

const decoder = new TextDecoder("utf-8");

export function readString(buf: Uint8Array, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) {
    end++;
  }
  return decoder.decode(buf.subarray(off, end));
}

export function readNumber(
  buf: Uint8Array,
  off: number,
  len: number,
  field: string,
  what: string,
): number {
  const first = buf[off] ?? 0;
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement, first byte's top bit set.
    let value = first & 0x7f;
    for (let i = 1; i < len; i++) {
      value = value * 256 + (buf[off + i] ?? 0);
      if (value > Number.MAX_SAFE_INTEGER) {
        throw new OciError("OCI_TAR_INVALID", `${what}: ${field} field out of range`);
      }
    }
    return value;
  }
  let value = 0;
  let seen = false;
  for (let i = off; i < off + len; i++) {
    const c = buf[i] ?? 0;
    if (c === 0 || c === 0x20) {
      if (seen) {
        break;
      }
      continue;
    }
    if (c < 0x30 || c > 0x37) {
      throw new OciError("OCI_TAR_INVALID", `${what}: invalid octal digit in ${field} field`);
    }
    value = value * 8 + (c - 0x30);
    seen = true;
  }
  return value;
}

export function checksumOk(buf: Uint8Array, off: number, what: string): boolean {
  const stored = readNumber(buf, off + 148, 8, "checksum", what);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    sum += i >= 148 && i < 156 ? 0x20 : (buf[off + i] ?? 0);
  }
  return sum === stored;
}

export function isZeroBlock(buf: Uint8Array, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) {
    if (buf[i] !== 0) {
      return false;
    }
  }
  return true;
}

/** The header fields of a ustar block, before PAX records and GNU long names apply. */
export function ustarFields(buf: Uint8Array, size: number, what: string): PaxFields {
  const magic = readString(buf, 257, 6);
  let name = readString(buf, 0, 100);
  if (magic === "ustar") {
    const prefix = readString(buf, 345, 155);
    if (prefix) {
      name = `${prefix}/${name}`;
    }
  }
  return {
    name,
    linkname: readString(buf, 157, 100),
    size,
    uid: readNumber(buf, 108, 8, "uid", what),
    gid: readNumber(buf, 116, 8, "gid", what),
    mtime: readNumber(buf, 136, 12, "mtime", what),
    uname: readString(buf, 265, 32),
    gname: readString(buf, 297, 32),
  };
}
