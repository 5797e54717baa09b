import type { FileNode, Sniffer } from "../../../source/index.js";

/**
 * The pclntab header layouts this reader knows, by the first byte of the (little-endian) magic:
 * 0xfffffffa for Go 1.16-1.17, 0xfffffff0 for 1.18-1.19, 0xfffffff1 from 1.20 on. After the magic:
 * two zero bytes, the instruction size quantum (1, 2 or 4), the pointer size (4 or 8), then
 * pointer-sized words. Go 1.16-1.17: nfunc, nfiles, and the offsets of the function name table,
 * the compilation-unit table, the file table, the pc tables and the function table (7 words).
 * From 1.18: nfunc, nfiles, textStart, then the same offsets (8 words). The function name table
 * follows the header (after alignment padding) and runs to the cu table's offset.
 */
const LAYOUTS: Readonly<Record<number, { go: string; words: number; names: number }>> = {
  250: { go: "1.16", words: 7, names: 2 },
  240: { go: "1.18", words: 8, names: 3 },
  241: { go: "1.20", words: 8, names: 3 },
};

export interface PclntabHeader {
  /** The Go release that introduced this layout ("1.16", "1.18" or "1.20"). */
  readonly format: string;
  readonly nfunc: number;
  readonly namesStart: number;
  readonly namesEnd: number;
}

/** The header at the start of `b`, or undefined when `b` does not start with a pclntab header. */
export function pclntabHeader(b: Uint8Array): PclntabHeader | undefined {
  const layout = LAYOUTS[b[0] ?? 0];
  const quantum = b[6];
  const ptr = b[7];
  if (!layout || b[1] !== 0xff || b[2] !== 0xff || b[3] !== 0xff || b[4] !== 0 || b[5] !== 0) {
    return undefined;
  }
  if ((quantum !== 1 && quantum !== 2 && quantum !== 4) || (ptr !== 4 && ptr !== 8)) {
    return undefined;
  }
  const size = 8 + layout.words * ptr;
  if (b.length < size) {
    return undefined;
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const word = (i: number): number =>
    ptr === 8 ? Number(view.getBigUint64(8 + i * 8, true)) : view.getUint32(8 + i * 4, true);
  const nfunc = word(0);
  const namesStart = word(layout.names);
  const namesEnd = word(layout.names + 1);
  // the linker writes the name table right after the header (aligned to at most 64 bytes, as it
  // aligns symbols): an offset anywhere else is not a pclntab
  if (
    nfunc === 0 ||
    nfunc > 16 * 1024 * 1024 ||
    namesStart < size ||
    namesStart > size + 64 ||
    namesEnd <= namesStart ||
    namesEnd - namesStart > 256 * 1024 * 1024
  ) {
    return undefined;
  }
  return { format: layout.go, nfunc, namesStart, namesEnd };
}

function pclntabSniffer(id: string, magicByte: number): Sniffer {
  return {
    id,
    magic: Uint8Array.from([magicByte, 0xff, 0xff, 0xff]),
    capture: 16 * 1024 * 1024,
    lookahead: 4 + 8 * 8,
    accept: (h) => pclntabHeader(h) !== undefined,
    match: (node: FileNode) => (node.mode & 0o111) !== 0 && node.size >= 4096,
    trim: (b) => {
      const hdr = pclntabHeader(b);
      // keep the names; of a table larger than the capture, only the header (to say so)
      return hdr && hdr.namesEnd <= b.length ? b.subarray(0, hdr.namesEnd) : b.subarray(0, 72);
    },
  };
}

/** Newest layout first: a binary has one pclntab, and its own layout is looked for first. */
export const GO_PCLNTAB_SNIFFERS: readonly Sniffer[] = [
  pclntabSniffer("go-pclntab-1.20", 0xf1),
  pclntabSniffer("go-pclntab-1.18", 0xf0),
  pclntabSniffer("go-pclntab-1.16", 0xfa),
];

/** The pclntab layout a Go release writes ("1.16", "1.18", "1.20"), undefined before 1.16. */
export function pclntabFormatOf(goVersion: string): string | undefined {
  const m = /^(?:go)?1\.(\d+)/.exec(goVersion);
  const minor = m ? Number(m[1]) : Number.NaN;
  if (!(minor >= 16)) {
    return undefined;
  }
  return minor >= 20 ? "1.20" : minor >= 18 ? "1.18" : "1.16";
}

/**
 * The function names of a Go binary from its pclntab: the function name table, NUL-separated,
 * which the linker fills with the name of every function and of every function inlined into one
 * (cmd/link's walkFuncs visits each function's inline tree; the inline tree refers to its
 * callees' names by offset into this table). A function inlined with no instruction left of it
 * has no inline-tree entry, and no code in the binary either. Returns a reason when the capture
 * does not hold the whole table.
 */
export function parseGoFunctionNames(
  pclntab: Uint8Array,
): { format: string; names: string[] } | string {
  const hdr = pclntabHeader(pclntab);
  if (!hdr) {
    return "not a Go 1.16+ pclntab";
  }
  if (hdr.namesEnd > pclntab.length) {
    return `the function name table (${hdr.namesEnd - hdr.namesStart} bytes) is larger than was captured`;
  }
  const text = new TextDecoder("utf-8").decode(pclntab.subarray(hdr.namesStart, hdr.namesEnd));
  return { format: hdr.format, names: [...new Set(text.split("\0").filter(Boolean))].sort() };
}
