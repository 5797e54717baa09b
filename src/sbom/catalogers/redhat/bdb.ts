/**
 * A reader for Berkeley DB hash databases as rpm (before 4.16: RHEL/CentOS 7 and 8, Amazon
 * Linux 2, older Fedora and SUSE) keeps its Packages file: the metadata page, hash pages of
 * key/data pairs, data too large for a page kept on chains of overflow pages. Read-only, no
 * library: every offset, length and page number is checked, so a hostile file gives an error,
 * not a crash, a loop or unbounded memory.
 */

const HASH_MAGIC = 0x061561;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;
const PAGE_HEADER = 26;

export interface BdbEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/**
 * Every key/data pair of a Berkeley DB hash database, or why the file cannot be read as one.
 * `maxValue` bounds a single value (an rpm header is far smaller than the default).
 */
export function readBdbHash(file: Uint8Array, maxValue = 64 * 1024 * 1024): BdbEntry[] | string {
  if (file.length < 512) {
    return "too short for a Berkeley DB file";
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let le = true;
  if (view.getUint32(12, true) !== HASH_MAGIC) {
    if (view.getUint32(12, false) !== HASH_MAGIC) {
      return view.getUint32(12, true) === 0x053162 || view.getUint32(12, false) === 0x053162
        ? "a Berkeley DB btree, not the hash database rpm writes"
        : "not a Berkeley DB hash database (no hash magic)";
    }
    le = false;
  }
  const u32 = (o: number): number => view.getUint32(o, le);
  const u16 = (o: number): number => view.getUint16(o, le);
  const pageSize = u32(20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    return `page size ${pageSize} is not a Berkeley DB page size`;
  }
  const encrypted = file[24] ?? 0;
  if (encrypted !== 0) {
    return "the database is encrypted";
  }
  const metaFlags = file[26] ?? 0;
  if (metaFlags & 0x01) {
    return "the database has page checksums, which this reader does not handle";
  }
  const pages = Math.floor(file.length / pageSize);
  const lastPage = Math.min(u32(32), pages - 1);

  const overflow = (start: number, total: number): Uint8Array | string => {
    if (total > maxValue) {
      return `a value of ${total} bytes is larger than allowed`;
    }
    const out = new Uint8Array(total);
    let filled = 0;
    let pgno = start;
    const seen = new Set<number>();
    while (filled < total) {
      if (pgno === 0 || pgno > lastPage || seen.has(pgno)) {
        return `overflow chain broken at page ${pgno}`;
      }
      seen.add(pgno);
      const base = pgno * pageSize;
      if (file[base + 25] !== P_OVERFLOW) {
        return `page ${pgno} is not an overflow page`;
      }
      // on overflow pages the "high free offset" field holds the length of the data on the page
      const len = u16(base + 22);
      if (len > pageSize - PAGE_HEADER || filled + len > total) {
        return `overflow page ${pgno} claims ${len} bytes`;
      }
      if (len === 0) {
        return `overflow page ${pgno} is empty`;
      }
      out.set(file.subarray(base + PAGE_HEADER, base + PAGE_HEADER + len), filled);
      filled += len;
      pgno = u32(base + 16);
    }
    return out;
  };

  const entries: BdbEntry[] = [];
  for (let pgno = 1; pgno <= lastPage; pgno++) {
    const base = pgno * pageSize;
    const type = file[base + 25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) {
      continue;
    }
    const n = u16(base + 20);
    if (PAGE_HEADER + n * 2 > pageSize) {
      return `hash page ${pgno} claims ${n} entries`;
    }
    const offsets: number[] = [];
    for (let i = 0; i < n; i++) {
      const off = u16(base + PAGE_HEADER + i * 2);
      if (off < PAGE_HEADER + n * 2 || off >= pageSize) {
        return `hash page ${pgno}: entry ${i} is outside the page`;
      }
      offsets.push(off);
    }
    // items are laid out from the end of the page down: an item ends where the previous begins
    const item = (i: number): Uint8Array | string => {
      const off = offsets[i] as number;
      const end = i === 0 ? pageSize : (offsets[i - 1] as number);
      if (end <= off) {
        return `hash page ${pgno}: entry ${i} has no length`;
      }
      const kind = file[base + off];
      if (kind === H_KEYDATA) {
        return file.subarray(base + off + 1, base + end);
      }
      if (kind === H_OFFPAGE) {
        if (off + 12 > pageSize) {
          return `hash page ${pgno}: entry ${i} is cut short`;
        }
        return overflow(u32(base + off + 4), u32(base + off + 8));
      }
      return `hash page ${pgno}: entry ${i} is of type ${kind}, which rpm does not write`;
    };
    for (let i = 0; i + 1 < n; i += 2) {
      const key = item(i);
      if (typeof key === "string") {
        return key;
      }
      const value = item(i + 1);
      if (typeof value === "string") {
        return value;
      }
      entries.push({ key: new Uint8Array(key), value: new Uint8Array(value) });
    }
  }
  return entries;
}
