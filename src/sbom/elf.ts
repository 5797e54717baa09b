import { posix } from "node:path";
import type { FileNode, Sniffer } from "../source/index.js";

/**
 * The dynamic-linking facts of ELF files, read while the image streams (a bounded prefix of each
 * ELF file, reduced to a small summary), and the load closure of the image's entrypoint built
 * from them: the program, its ELF interpreter, and the DT_NEEDED libraries, transitively, found
 * the way ld.so searches (DT_RPATH/DT_RUNPATH with $ORIGIN, then the system directories).
 */

/**
 * Calls through which a process may load code or start programs the closure cannot see (glibc's
 * exported names and aliases; `syscall` makes any system call, execve among them).
 */
export const ESCAPE_SYMBOLS = [
  "dlopen",
  "dlmopen",
  "__libc_dlopen_mode",
  "execv",
  "execve",
  "execveat",
  "execvp",
  "execvpe",
  "execl",
  "execle",
  "execlp",
  "fexecve",
  "system",
  "__libc_system",
  "popen",
  "_IO_popen",
  "wordexp",
  "posix_spawn",
  "posix_spawnp",
  "pidfd_spawn",
  "pidfd_spawnp",
  "syscall",
] as const;

export interface ElfDynamic {
  /** False when part of what is needed lies beyond the bytes read (or the format is unsupported). */
  readonly complete: boolean;
  readonly reason?: string;
  /** Bytes of the file the summary was read from (the whole file, or its first ELF_CAPTURE). */
  readonly read: number;
  /** "static": no dynamic section, so the file is a statically linked executable. */
  readonly linking?: "dynamic" | "static";
  readonly interp?: string;
  readonly soname?: string;
  readonly needed: readonly string[];
  readonly runpath: readonly string[];
  readonly rpath: readonly string[];
  /** Undefined dynamic symbols among ESCAPE_SYMBOLS. */
  readonly imports: readonly string[];
  /** What shows a Go toolchain built the file (a section, note or library only Go makes). */
  readonly go?: string;
  /**
   * Byte sequences in the executable segments that encode a system call instruction (x86-64:
   * syscall, sysenter, int 0x80; arm64: svc): an upper bound of the places the code can make a
   * system call without calling a library. Absent for other machines.
   */
  readonly syscalls?: number;
}

/** Bytes of an ELF file read for its summary: headers, dynamic section, strings and symbols. */
export const ELF_CAPTURE = 8 * 1024 * 1024;

const ESCAPES = new Set<string>(ESCAPE_SYMBOLS);

/** Objects of the C library and its loader: their system calls are reached through their exports. */
const C_LIBRARY =
  /^(?:libc\.so\.6|libm\.so\.6|libmvec\.so\.1|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|ld-linux-(?:x86-64|aarch64)\.so\.[12]|(?:libc\.musl|ld-musl)-(?:x86_64|aarch64)\.so\.1)$/;

interface Segment {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
}

interface Section {
  readonly name: string;
  readonly type: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly entsize: number;
}

/** Little-endian readers over a captured prefix. */
interface Bytes {
  readonly b: Uint8Array;
  u16(o: number): number;
  u32(o: number): number;
  u64(o: number): number;
  /** The NUL-terminated string at `o`, not past `end`. */
  cstr(o: number, end: number): string;
}

function bytes(b: Uint8Array): Bytes {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    b,
    u16: (o) => dv.getUint16(o, true),
    u32: (o) => dv.getUint32(o, true),
    u64: (o) => Number(dv.getBigUint64(o, true)),
    cstr: (o, end) => {
      let e = o;
      while (e < end && e < b.length && b[e] !== 0) {
        e++;
      }
      return new TextDecoder().decode(b.subarray(o, e));
    },
  };
}

/** The program headers, or why they cannot be read. */
function segments(r: Bytes): Segment[] | string {
  const phoff = r.u64(32);
  const phentsize = r.u16(54);
  const phnum = r.u16(56);
  if (phentsize < 56 || phoff + phnum * phentsize > r.b.length) {
    return "program headers beyond the bytes read";
  }
  return Array.from({ length: phnum }, (_, i) => {
    const o = phoff + i * phentsize;
    return {
      type: r.u32(o),
      flags: r.u32(o + 4),
      offset: r.u64(o + 8),
      vaddr: r.u64(o + 16),
      filesz: r.u64(o + 32),
    };
  });
}

/** The section headers with their names, or why they cannot be read. */
function sections(r: Bytes): Section[] | string {
  const shoff = r.u64(40);
  const shentsize = r.u16(58);
  const shnum = r.u16(60);
  const shstrndx = r.u16(62);
  if (shoff === 0 || shnum === 0) {
    return "no section headers (the extent of its symbol table and what built it cannot be told)";
  }
  if (shentsize < 64 || shoff + shnum * shentsize > r.b.length) {
    return "section headers beyond the bytes read";
  }
  const raw = Array.from({ length: shnum }, (_, i) => {
    const o = shoff + i * shentsize;
    return {
      nameOff: r.u32(o),
      type: r.u32(o + 4),
      addr: r.u64(o + 16),
      offset: r.u64(o + 24),
      size: r.u64(o + 32),
      entsize: r.u64(o + 56),
    };
  });
  const names = raw[shstrndx];
  if (!names || names.offset + names.size > r.b.length) {
    return "section names beyond the bytes read";
  }
  return raw.map(({ nameOff, ...s }) => ({
    ...s,
    name: nameOff < names.size ? r.cstr(names.offset + nameOff, names.offset + names.size) : "",
  }));
}

const GO_SECTIONS = new Set([".go.buildinfo", ".gopclntab", ".note.go.buildid"]);
const GO_BUILDINFO = Buffer.from("\xff Go buildinf:", "latin1");

/** Whether the notes in [offset, offset+size) hold Go's build id note (name "Go", type 4). */
function hasGoNote(r: Bytes, offset: number, size: number): boolean {
  for (let o = offset; o + 12 <= Math.min(offset + size, r.b.length); ) {
    const namesz = r.u32(o);
    const descsz = r.u32(o + 4);
    if (r.u32(o + 8) === 4 && (namesz === 3 || namesz === 4) && r.cstr(o + 12, o + 16) === "Go") {
      return true;
    }
    o += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
  }
  return false;
}

/** What shows that a Go toolchain built the file, if anything does. */
function goMarker(r: Bytes, segs: Segment[], secs: Section[], soname?: string): string | undefined {
  const sec = secs.find((s) => GO_SECTIONS.has(s.name));
  if (sec) {
    return `it has a ${sec.name} section`;
  }
  const notes = [...segs.filter((s) => s.type === 4).map((s) => [s.offset, s.filesz] as const)];
  notes.push(...secs.filter((s) => s.type === 7).map((s) => [s.offset, s.size] as const));
  if (notes.some(([o, n]) => hasGoNote(r, o, n))) {
    return "it has the Go build id note";
  }
  if (Buffer.from(r.b.buffer, r.b.byteOffset, r.b.byteLength).includes(GO_BUILDINFO)) {
    return "it holds Go build information";
  }
  if (soname && /^libgo\.so/.test(soname)) {
    return "it is gccgo's Go runtime library";
  }
  return undefined;
}

/** Counts system call instructions in the executable segments (undefined: machine not known). */
function syscallInstructions(r: Bytes, segs: Segment[]): number | undefined {
  const machine = r.u16(18);
  const buf = Buffer.from(r.b.buffer, r.b.byteOffset, r.b.byteLength);
  let n = 0;
  for (const s of segs.filter((x) => x.type === 1 && (x.flags & 1) !== 0)) {
    const code = buf.subarray(s.offset, s.offset + s.filesz);
    if (machine === 62) {
      for (const op of [
        [0x0f, 0x05],
        [0x0f, 0x34],
        [0xcd, 0x80],
      ]) {
        const pat = Buffer.from(op);
        for (let i = code.indexOf(pat); i >= 0; i = code.indexOf(pat, i + 1)) {
          n++;
        }
      }
    } else if (machine === 183) {
      // svc #imm16: 0xd4000001 | imm16 << 5, at 4-byte aligned addresses
      for (let i = (4 - (s.vaddr % 4)) % 4; i + 4 <= code.length; i += 4) {
        if ((code.readUInt32LE(i) & 0xffe0001f) >>> 0 === 0xd4000001) {
          n++;
        }
      }
    } else {
      return undefined;
    }
  }
  return n;
}

interface DynamicEntries {
  readonly needed: number[];
  readonly runpath: number[];
  readonly rpath: number[];
  readonly soname?: number;
  readonly strtab?: number;
  readonly strsz: number;
  readonly symtab?: number;
  readonly hash?: number;
}

function dynamicEntries(r: Bytes, dyn: Segment): DynamicEntries {
  const e: {
    needed: number[];
    runpath: number[];
    rpath: number[];
    soname?: number;
    strtab?: number;
    strsz: number;
    symtab?: number;
    hash?: number;
  } = { needed: [], runpath: [], rpath: [], strsz: 0 };
  for (let o = dyn.offset; o + 16 <= dyn.offset + dyn.filesz; o += 16) {
    const tag = r.u64(o);
    const val = r.u64(o + 8);
    if (tag === 0) {
      break;
    }
    if (tag === 1) {
      e.needed.push(val);
    } else if (tag === 4) {
      e.hash = val;
    } else if (tag === 5) {
      e.strtab = val;
    } else if (tag === 6) {
      e.symtab = val;
    } else if (tag === 10) {
      e.strsz = val;
    } else if (tag === 14) {
      e.soname = val;
    } else if (tag === 15) {
      e.rpath.push(val);
    } else if (tag === 29) {
      e.runpath.push(val);
    }
  }
  return e;
}

/** The undefined dynamic symbols among ESCAPE_SYMBOLS, or why the symbol table cannot be read. */
function escapeImports(
  r: Bytes,
  d: DynamicEntries,
  secs: Section[],
  toOffset: (vaddr: number) => number | undefined,
  str: (i: number) => string,
): string[] | string {
  if (d.symtab === undefined) {
    return "no dynamic symbol table";
  }
  const symOff = toOffset(d.symtab);
  // the table's extent: its section header, else the symbol count of DT_HASH (nchain)
  const sec = secs.find((s) => s.type === 11 && s.addr === d.symtab);
  const hashOff = d.hash === undefined ? undefined : toOffset(d.hash);
  const count = sec
    ? Math.floor(sec.size / Math.max(sec.entsize, 24))
    : hashOff !== undefined && hashOff + 8 <= r.b.length
      ? r.u32(hashOff + 4)
      : undefined;
  const syment = sec ? Math.max(sec.entsize, 24) : 24;
  if (symOff === undefined || count === undefined || symOff + count * syment > r.b.length) {
    return "the extent of the dynamic symbol table is not known from the bytes read";
  }
  const imports = new Set<string>();
  for (let i = 1; i < count; i++) {
    const o = symOff + i * syment;
    const name = r.u32(o);
    if (r.u16(o + 6) === 0 && name !== 0 && name < d.strsz) {
      const n = str(name).replace(/@.*$/, "");
      if (ESCAPES.has(n)) {
        imports.add(n);
      }
    }
  }
  return [...imports].sort();
}

/** Reads the dynamic-linking summary of an ELF64 little-endian file from a prefix of it. */
export function parseElfDynamic(b: Uint8Array): ElfDynamic {
  const none = (reason: string): ElfDynamic => ({
    complete: false,
    reason,
    read: b.length,
    needed: [],
    runpath: [],
    rpath: [],
    imports: [],
  });
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) {
    return none("not an ELF file");
  }
  if (b[4] !== 2 || b[5] !== 1) {
    return none("only 64-bit little-endian ELF is read");
  }
  const r = bytes(b);
  const segs = segments(r);
  const secs = typeof segs === "string" ? segs : sections(r);
  if (typeof segs === "string" || typeof secs === "string") {
    return none(typeof segs === "string" ? segs : (secs as string));
  }
  const interpSeg = segs.find((s) => s.type === 3);
  if (interpSeg && interpSeg.offset + interpSeg.filesz > b.length) {
    return none("the interpreter path lies beyond the bytes read");
  }
  if (segs.some((s) => s.type === 1 && (s.flags & 1) !== 0 && s.offset + s.filesz > b.length)) {
    return none("executable code lies beyond the bytes read");
  }
  const interp = interpSeg
    ? r.cstr(interpSeg.offset, interpSeg.offset + interpSeg.filesz)
    : undefined;
  const syscalls = syscallInstructions(r, segs);
  const facts = {
    complete: true,
    read: b.length,
    ...(interp ? { interp } : {}),
    ...(syscalls === undefined ? {} : { syscalls }),
  };
  const dyn = segs.find((s) => s.type === 2);
  if (!dyn) {
    // a static executable: nothing is loaded for it, and nothing it does shows as an import
    const go = goMarker(r, segs, secs);
    return {
      ...facts,
      linking: "static",
      needed: [],
      runpath: [],
      rpath: [],
      imports: [],
      ...(go ? { go } : {}),
    };
  }
  if (dyn.offset + dyn.filesz > b.length) {
    return none("the dynamic section lies beyond the bytes read");
  }
  const loads = segs.filter((s) => s.type === 1);
  const toOffset = (vaddr: number): number | undefined => {
    const l = loads.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
    return l ? vaddr - l.vaddr + l.offset : undefined;
  };
  const d = dynamicEntries(r, dyn);
  const strOff = d.strtab === undefined ? undefined : toOffset(d.strtab);
  if (strOff === undefined || strOff + d.strsz > b.length) {
    return none("the dynamic string table lies beyond the bytes read");
  }
  const str = (i: number): string => r.cstr(strOff + i, strOff + d.strsz);
  const imports = escapeImports(r, d, secs, toOffset, str);
  if (typeof imports === "string") {
    return none(imports);
  }
  const soname = d.soname === undefined ? undefined : str(d.soname);
  const go = goMarker(r, segs, secs, soname);
  const split = (offs: number[]): string[] =>
    offs.flatMap((o) => str(o).split(":")).filter(Boolean);
  return {
    ...facts,
    linking: "dynamic",
    ...(soname ? { soname } : {}),
    needed: d.needed.map(str),
    runpath: split(d.runpath),
    rpath: split(d.rpath),
    imports,
    ...(go ? { go } : {}),
  };
}

/**
 * The sniffer that keeps each ELF file's dynamic summary (as JSON) instead of its bytes. Its id
 * names the summary's format, so that summaries cached by an older reader are not taken for it.
 */
export const ELF_DYNAMIC_SNIFFER: Sniffer = {
  id: "elf-dynamic-2",
  magic: new Uint8Array([0x7f, 0x45, 0x4c, 0x46]),
  capture: ELF_CAPTURE,
  lookahead: 16,
  anchored: true,
  accept: (head) => head[4] === 1 || head[4] === 2,
  match: (node: FileNode) =>
    node.type === "file" &&
    node.size >= 64 &&
    ((node.mode & 0o111) !== 0 || /\.so(\.[0-9.]+)?$/.test(node.path)),
  trim: (captured) => new TextEncoder().encode(JSON.stringify(parseElfDynamic(captured))),
};

/** The entrypoint's load closure, or why there is none. */
export interface ExecutionClosure {
  /** The program the image starts (entrypoint, else cmd), resolved through PATH and links. */
  readonly program?: string;
  /**
   * complete: proven, so the closure is all the code the entrypoint's process runs: every object
   * found, read whole with its dynamic symbol table, dynamically linked (the program through an
   * ELF interpreter), none built by Go, none importing an ESCAPE_SYMBOLS call, and none but the C
   * library's holding a system call instruction; script: the program is not ELF (a script can
   * start anything); incomplete: anything not proven, with the reason; missing: the program is
   * not in the image; none: no program.
   */
  readonly status: "complete" | "script" | "incomplete" | "missing" | "none";
  readonly reason?: string;
  /** The objects loaded, in discovery order, with the layer each comes from. */
  readonly objects: readonly {
    readonly path: string;
    readonly layer: number;
    readonly imports: readonly string[];
  }[];
}

export interface ClosureFilesystem {
  realpath(path: string): string | undefined;
  lstat(path: string): FileNode | undefined;
  readSniffed(path: string, snifferId: string): Uint8Array | undefined;
}

const RAW_EXEC = "may start programs with a raw execve system call that no import shows";

/**
 * Why one object of the closure keeps it from being proven complete, if anything does: `size` is
 * the file's size, to tell a whole read from a prefix.
 */
export function unprovenObject(
  path: string,
  d: ElfDynamic,
  size: number | undefined,
  isProgram: boolean,
): string | undefined {
  if (!d.complete) {
    return `${path}: ${d.reason}`;
  }
  if (typeof d.read !== "number" || size === undefined || d.read < size) {
    return `${path} was not read whole (${d.read} of ${size ?? "unknown"} bytes)`;
  }
  if (d.go) {
    return `${path} is a Go program (${d.go}): the Go runtime makes system calls directly (os/exec, syscall.forkExec) without importing exec functions`;
  }
  if (d.linking !== "dynamic") {
    return `${path} is statically linked: it ${RAW_EXEC}`;
  }
  if (isProgram && !d.interp) {
    return `${path} has no ELF interpreter (statically linked, static-pie): it ${RAW_EXEC}`;
  }
  if (d.imports.length > 0) {
    return `${path} imports ${d.imports.join(", ")}: it may load code or start programs outside the closure`;
  }
  if (C_LIBRARY.test(d.soname ?? posix.basename(path))) {
    return undefined;
  }
  if (d.syscalls === undefined) {
    return `${path}: system call instructions are looked for in x86-64 and arm64 code only`;
  }
  if (d.syscalls > 0) {
    return `${path} holds ${d.syscalls} byte sequences that encode a system call instruction (outside the C library): it ${RAW_EXEC}`;
  }
  return undefined;
}

/** Computes the load closure of the image's entrypoint. */
export function executionClosure(
  fs: ClosureFilesystem,
  config: {
    entrypoint: readonly string[];
    cmd: readonly string[];
    env: readonly string[];
    architecture?: string;
  },
): ExecutionClosure {
  const argv0 = config.entrypoint[0] ?? config.cmd[0];
  if (!argv0) {
    return { status: "none", reason: "the image has no entrypoint or cmd", objects: [] };
  }
  const pathVar =
    config.env.find((e) => e.startsWith("PATH="))?.slice(5) ??
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const real = (p: string): string | undefined => {
    try {
      return fs.realpath(p);
    } catch {
      return undefined;
    }
  };
  const candidates = argv0.includes("/")
    ? [argv0]
    : pathVar.split(":").map((d) => posix.join(d, argv0));
  const program = candidates.map(real).find((p) => p !== undefined && fs.lstat(p)?.type === "file");
  if (!program) {
    return { status: "missing", reason: `${argv0} is not in the image`, objects: [] };
  }
  const multiarch = config.architecture === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  const system = [
    `/lib/${multiarch}`,
    `/usr/lib/${multiarch}`,
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
  ];
  const objects: { path: string; layer: number; imports: readonly string[] }[] = [];
  const seen = new Set<string>();
  const queue = [program];
  let unproven: string | undefined;
  while (queue.length > 0) {
    const path = queue.shift() as string;
    if (seen.has(path)) {
      continue;
    }
    seen.add(path);
    const raw = fs.readSniffed(path, ELF_DYNAMIC_SNIFFER.id);
    if (!raw) {
      return path === program
        ? {
            program,
            status: "script",
            reason: `${program} is not an ELF binary (a script can start any program)`,
            objects,
          }
        : { program, status: "incomplete", reason: `${path} was not read as ELF`, objects };
    }
    const d = JSON.parse(new TextDecoder().decode(raw)) as ElfDynamic;
    const node = fs.lstat(path);
    if (!d.complete) {
      return { program, status: "incomplete", reason: `${path}: ${d.reason}`, objects };
    }
    objects.push({ path, layer: node?.layer ?? -1, imports: d.imports });
    // the first reason the closure is not proven; the walk goes on, so the evidence is whole
    unproven ??= unprovenObject(path, d, node?.size, path === program);
    if (d.interp) {
      const ip = real(d.interp);
      if (!ip) {
        return {
          program,
          status: "incomplete",
          reason: `the ELF interpreter ${d.interp} of ${path} is not in the image`,
          objects,
        };
      }
      queue.push(ip);
    }
    const origin = posix.dirname(path);
    const dirs = [...(d.runpath.length === 0 ? d.rpath : []), ...d.runpath].map((x) =>
      x.replace(/\$\{?ORIGIN\}?/g, origin),
    );
    for (const lib of d.needed) {
      const found = (
        lib.includes("/") ? [lib] : [...dirs, ...system].map((dir) => posix.join(dir, lib))
      )
        .map(real)
        .find((p) => p !== undefined && fs.lstat(p)?.type === "file");
      if (!found) {
        return {
          program,
          status: "incomplete",
          reason: `${lib}, needed by ${path}, is not in the image's library directories`,
          objects,
        };
      }
      queue.push(found);
    }
  }
  return unproven
    ? { program, status: "incomplete", reason: unproven, objects }
    : { program, status: "complete", objects };
}
