/**
 * The build info of Go 1.13-1.17 binaries ("pointer format"): after the 14-byte magic, the
 * pointer size and an endianness byte (0 little, 1 big), then at byte 16 two pointers to Go
 * string headers (address, length) of the toolchain version and the module info. The addresses
 * are virtual: an ELF file's PT_LOAD program headers map them to file offsets.
 */

interface Segment {
  readonly vaddr: number;
  readonly offset: number;
  readonly filesz: number;
}

/** The PT_LOAD segments of an ELF file, or undefined when it is not one this reads. */
function loadSegments(elf: Uint8Array): { segments: Segment[]; little: boolean } | undefined {
  if (elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46) {
    return undefined;
  }
  const is64 = elf[4] === 2;
  const little = elf[5] === 1;
  if ((elf[4] !== 1 && !is64) || (elf[5] !== 1 && elf[5] !== 2) || elf.length < 64) {
    return undefined;
  }
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const u16 = (o: number) => v.getUint16(o, little);
  const u32 = (o: number) => v.getUint32(o, little);
  const word = (o: number) => (is64 ? Number(v.getBigUint64(o, little)) : u32(o));
  const phoff = word(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * phentsize;
    if (h + phentsize > elf.length) {
      return undefined;
    }
    if (u32(h) !== 1) {
      continue; // not PT_LOAD
    }
    segments.push(
      is64
        ? { offset: word(h + 8), vaddr: word(h + 16), filesz: word(h + 32) }
        : { offset: u32(h + 4), vaddr: u32(h + 8), filesz: u32(h + 16) },
    );
  }
  return { segments, little };
}

/** The bytes at a virtual address, or undefined when no segment holds all of them. */
function at(elf: Uint8Array, segments: readonly Segment[], addr: number, n: number) {
  const s = segments.find((x) => addr >= x.vaddr && addr + n <= x.vaddr + x.filesz);
  const off = s ? s.offset + (addr - s.vaddr) : -1;
  return s && off + n <= elf.length ? elf.subarray(off, off + n) : undefined;
}

/**
 * The toolchain version and module info text of a pointer-format build info blob (`header`:
 * the sniffed bytes from the magic on), read through the whole ELF file; a reason when it cannot.
 */
export function readPointerBuildInfo(
  header: Uint8Array,
  elf: Uint8Array,
): { goVersion: string; modinfo: string } | string {
  const ptr = header[14] as number;
  const big = header[15] === 1;
  const layout = loadSegments(elf);
  if (!layout) {
    return "build info of a Go release before 1.18 (pointer format) in a file that is not ELF is not read";
  }
  if (header.length < 16 + 2 * ptr || layout.little === big) {
    return "corrupt build info (pointer format)";
  }
  const hv = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const readPtr = (b: Uint8Array, o: number): number => {
    const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return ptr === 8 ? Number(d.getBigUint64(o, !big)) : d.getUint32(o, !big);
  };
  const str = (addr: number): string | undefined => {
    const sh = at(elf, layout.segments, addr, 2 * ptr);
    if (!sh) {
      return undefined;
    }
    const len = readPtr(sh, ptr);
    const data = len > 1024 * 1024 ? undefined : at(elf, layout.segments, readPtr(sh, 0), len);
    return data && new TextDecoder("utf-8").decode(data);
  };
  const goVersion = str(ptr === 8 ? Number(hv.getBigUint64(16, !big)) : hv.getUint32(16, !big));
  let modinfo = str(
    ptr === 8 ? Number(hv.getBigUint64(16 + ptr, !big)) : hv.getUint32(16 + ptr, !big),
  );
  if (!goVersion?.startsWith("go") && !goVersion?.startsWith("devel")) {
    return "corrupt build info (pointer format: no Go version at its address)";
  }
  // the module data is framed by 16-byte sentinels
  if (modinfo && modinfo.length >= 33 && modinfo[modinfo.length - 17] === "\n") {
    modinfo = modinfo.slice(16, -16);
  }
  return { goVersion, modinfo: modinfo ?? "" };
}
