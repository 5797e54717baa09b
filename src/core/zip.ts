import * as zlib from "node:zlib";
import { inflateRawSync } from "node:zlib";

/** One member of a zip archive, read from its central directory. */
export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CEN = 0x02014b50;
const LOC = 0x04034b50;

/**
 * Reads the central directory of a zip archive held in memory (jar, war, ear), with Zip64.
 * Returns a reason string when the bytes are not a readable zip.
 */
export function zipEntries(b: Uint8Array): ZipEntry[] | string {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (v.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    return "no end of central directory record";
  }
  let count = v.getUint16(eocd + 10, true);
  let cdOffset = v.getUint32(eocd + 16, true);
  if (
    (count === 0xffff || cdOffset === 0xffffffff) &&
    eocd >= 20 &&
    v.getUint32(eocd - 20, true) === EOCD64_LOCATOR
  ) {
    const at = Number(v.getBigUint64(eocd - 20 + 8, true));
    if (at + 56 > b.length || v.getUint32(at, true) !== EOCD64) {
      return "bad Zip64 end of central directory";
    }
    count = Number(v.getBigUint64(at + 32, true));
    cdOffset = Number(v.getBigUint64(at + 48, true));
  }
  const out: ZipEntry[] = [];
  const dec = new TextDecoder("utf-8");
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > b.length || v.getUint32(p, true) !== CEN) {
      return "corrupt central directory";
    }
    const method = v.getUint16(p + 10, true);
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let localHeaderOffset = v.getUint32(p + 42, true);
    const name = dec.decode(b.subarray(p + 46, p + 46 + nameLen));
    // Zip64 extended information extra field (id 0x0001) for large values
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff && q + 8 <= e + 4 + len) {
          size = Number(v.getBigUint64(q, true));
          q += 8;
        }
        if (compressedSize === 0xffffffff && q + 8 <= e + 4 + len) {
          compressedSize = Number(v.getBigUint64(q, true));
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff && q + 8 <= e + 4 + len) {
          localHeaderOffset = Number(v.getBigUint64(q, true));
        }
      }
      e += 4 + len;
    }
    out.push({ name, method, compressedSize, size, localHeaderOffset });
    p = end + commentLen;
  }
  return overlapping(out, cdOffset) ?? out;
}

/**
 * Members whose data would overlap (several central directory records naming one local header,
 * or a member running into the next or into the central directory) make a small archive inflate
 * the same bytes again and again: such an archive is refused whole, as Info-ZIP's unzip does.
 */
function overlapping(entries: readonly ZipEntry[], cdOffset: number): string | undefined {
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i < byOffset.length; i++) {
    const e = byOffset[i] as ZipEntry;
    const next = byOffset[i + 1]?.localHeaderOffset ?? cdOffset;
    if (e.localHeaderOffset + 30 + e.compressedSize > next) {
      return `overlapping entries ("${e.name}" runs into the next member)`;
    }
  }
  return undefined;
}

/**
 * The uncompressed bytes of a member (stored or deflated), refusing members larger than
 * `max` and members that do not inflate to their declared size (zip bombs). Undefined when
 * unreadable.
 */
export function zipRead(b: Uint8Array, e: ZipEntry, max: number): Uint8Array | undefined {
  if (e.size > max) {
    return undefined;
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = e.localHeaderOffset;
  if (at + 30 > b.length || v.getUint32(at, true) !== LOC) {
    return undefined;
  }
  const start = at + 30 + v.getUint16(at + 26, true) + v.getUint16(at + 28, true);
  const data = b.subarray(start, start + e.compressedSize);
  if (data.length !== e.compressedSize) {
    return undefined;
  }
  if (e.method === 0) {
    return data;
  }
  if (e.method !== 8) {
    return undefined;
  }
  try {
    // inflating stops at the size the central directory declares: a member that inflates past
    // it (a zip bomb declaring little) is refused after that many bytes, not after `max`
    const out = inflateRawSync(data, { maxOutputLength: Math.max(1, e.size) });
    return out.length === e.size ? new Uint8Array(out) : undefined;
  } catch {
    return undefined;
  }
}

// zlib.crc32 is in Node from 20.15 on; before, the CRC fields are written as 0 (zipRead does not
// check them, and these archives never leave the process or its layer cache)
const crc32 = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;

/**
 * A zip archive of stored (uncompressed) members, for archives cut down to the members a reader
 * needs. Undefined when the members do not fit the classic format (65,535 or more, 4 GiB, a name
 * over 65,535 bytes) or a name would not read back as itself.
 */
export function storedZip(
  members: readonly { readonly name: string; readonly data: Uint8Array }[],
): Uint8Array | undefined {
  const enc = new TextEncoder();
  const dec = new TextDecoder("utf-8");
  const names = members.map((m) => enc.encode(m.name));
  // every name must read back as itself with zipEntries' decoder (which drops a leading BOM) and
  // fit its 16-bit length field
  if (names.some((n, i) => n.length > 0xffff || dec.decode(n) !== members[i]?.name)) {
    return undefined;
  }
  const total =
    members.reduce(
      (n, m, i) => n + 30 + 46 + 2 * (names[i] as Uint8Array).length + m.data.length,
      0,
    ) + 22;
  // 0xffff members would read as a Zip64 marker
  if (members.length >= 0xffff || total > 0xffffffff) {
    return undefined;
  }
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const offsets: number[] = [];
  const crcs: number[] = [];
  let p = 0;
  members.forEach((m, i) => {
    const name = names[i] as Uint8Array;
    const crc = crc32 ? crc32(m.data) >>> 0 : 0;
    offsets.push(p);
    crcs.push(crc);
    v.setUint32(p, LOC, true);
    v.setUint16(p + 4, 20, true); // version needed: 2.0
    v.setUint16(p + 6, 0x0800, true); // names are UTF-8
    v.setUint16(p + 8, 0, true); // stored
    v.setUint16(p + 12, 0x21, true); // 1980-01-01
    v.setUint32(p + 14, crc, true);
    v.setUint32(p + 18, m.data.length, true);
    v.setUint32(p + 22, m.data.length, true);
    v.setUint16(p + 26, name.length, true);
    out.set(name, p + 30);
    out.set(m.data, p + 30 + name.length);
    p += 30 + name.length + m.data.length;
  });
  const cd = p;
  members.forEach((m, i) => {
    const name = names[i] as Uint8Array;
    v.setUint32(p, CEN, true);
    v.setUint16(p + 4, 20, true);
    v.setUint16(p + 6, 20, true);
    v.setUint16(p + 8, 0x0800, true);
    v.setUint16(p + 10, 0, true);
    v.setUint16(p + 14, 0x21, true);
    v.setUint32(p + 16, crcs[i] as number, true);
    v.setUint32(p + 20, m.data.length, true);
    v.setUint32(p + 24, m.data.length, true);
    v.setUint16(p + 28, name.length, true);
    v.setUint32(p + 42, offsets[i] as number, true);
    out.set(name, p + 46);
    p += 46 + name.length;
  });
  v.setUint32(p, EOCD, true);
  v.setUint16(p + 8, members.length, true);
  v.setUint16(p + 10, members.length, true);
  v.setUint32(p + 12, p - cd, true);
  v.setUint32(p + 16, cd, true);
  return out;
}
