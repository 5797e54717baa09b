import { posix } from "node:path";
import type { FileNode, Sniffer } from "../source/index.js";

/**
 * The dynamic-linking facts of ELF files, read while the image streams (a bounded prefix of each
 * ELF file, reduced to a small summary), and the load closure of the image's entrypoint built
 * from them: the program, its ELF interpreter, and the DT_NEEDED libraries, transitively, found
 * the way ld.so searches (DT_RPATH/DT_RUNPATH with $ORIGIN, then the system directories).
 */

/** Calls through which a process may load code or start programs the closure cannot see. */
export const ESCAPE_SYMBOLS = [
  "dlopen",
  "dlmopen",
  "execv",
  "execve",
  "execvp",
  "execvpe",
  "execl",
  "execle",
  "execlp",
  "fexecve",
  "system",
  "popen",
  "posix_spawn",
  "posix_spawnp",
] as const;

export interface ElfDynamic {
  /** False when part of what is needed lies beyond the bytes read (or the format is unsupported). */
  readonly complete: boolean;
  readonly reason?: string;
  readonly interp?: string;
  readonly needed: readonly string[];
  readonly runpath: readonly string[];
  readonly rpath: readonly string[];
  /** Undefined dynamic symbols among ESCAPE_SYMBOLS. */
  readonly imports: readonly string[];
}

/** Bytes of an ELF file read for its summary: headers, dynamic section, strings and symbols. */
export const ELF_CAPTURE = 8 * 1024 * 1024;

const ESCAPES = new Set<string>(ESCAPE_SYMBOLS);

/** Reads the dynamic-linking summary of an ELF64 little-endian file from a prefix of it. */
export function parseElfDynamic(b: Uint8Array): ElfDynamic {
  const none = (reason: string): ElfDynamic => ({
    complete: false,
    reason,
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
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number): number => dv.getUint16(o, true);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const u64 = (o: number): number => Number(dv.getBigUint64(o, true));
  const phoff = u64(32);
  const phentsize = u16(54);
  const phnum = u16(56);
  if (phoff + phnum * phentsize > b.length) {
    return none("program headers beyond the bytes read");
  }
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let interp: string | undefined;
  let dyn: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const type = u32(o);
    const offset = u64(o + 8);
    const vaddr = u64(o + 16);
    const filesz = u64(o + 32);
    if (type === 1) {
      loads.push({ vaddr, offset, filesz });
    } else if (type === 3) {
      if (offset + filesz > b.length) {
        return none("the interpreter path lies beyond the bytes read");
      }
      interp = new TextDecoder().decode(b.subarray(offset, offset + filesz)).replace(/\0.*$/s, "");
    } else if (type === 2) {
      dyn = { offset, size: filesz };
    }
  }
  if (!dyn) {
    // a static executable: it loads nothing, unless it has an interpreter (static-pie has none)
    return {
      complete: true,
      ...(interp ? { interp } : {}),
      needed: [],
      runpath: [],
      rpath: [],
      imports: [],
    };
  }
  if (dyn.offset + dyn.size > b.length) {
    return none("the dynamic section lies beyond the bytes read");
  }
  const toOffset = (vaddr: number): number | undefined => {
    const l = loads.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
    return l ? vaddr - l.vaddr + l.offset : undefined;
  };
  const neededOff: number[] = [];
  const runOff: number[] = [];
  const rOff: number[] = [];
  let strtab: number | undefined;
  let strsz = 0;
  let symtab: number | undefined;
  let syment = 24;
  for (let o = dyn.offset; o + 16 <= dyn.offset + dyn.size; o += 16) {
    const tag = u64(o);
    const val = u64(o + 8);
    if (tag === 0) {
      break;
    }
    if (tag === 1) {
      neededOff.push(val);
    } else if (tag === 5) {
      strtab = val;
    } else if (tag === 6) {
      symtab = val;
    } else if (tag === 10) {
      strsz = val;
    } else if (tag === 11) {
      syment = val;
    } else if (tag === 15) {
      rOff.push(val);
    } else if (tag === 29) {
      runOff.push(val);
    }
  }
  const strOff = strtab === undefined ? undefined : toOffset(strtab);
  if (strOff === undefined || strOff + strsz > b.length) {
    return none("the dynamic string table lies beyond the bytes read");
  }
  const str = (i: number): string => {
    let e = strOff + i;
    while (e < strOff + strsz && b[e] !== 0) {
      e++;
    }
    return new TextDecoder().decode(b.subarray(strOff + i, e));
  };
  const imports = new Set<string>();
  const symOff = symtab === undefined ? undefined : toOffset(symtab);
  if (symOff !== undefined && strOff > symOff && syment >= 24) {
    // the symbol table ends where the string table starts (the linkers' layout)
    for (let o = symOff; o + 24 <= strOff; o += syment) {
      const name = u32(o);
      const shndx = u16(o + 6);
      if (shndx === 0 && name !== 0 && name < strsz) {
        const n = str(name).replace(/@.*$/, "");
        if (ESCAPES.has(n)) {
          imports.add(n);
        }
      }
    }
  } else if (symOff !== undefined) {
    return none("the dynamic symbol table is not laid out before its strings");
  }
  const split = (offs: number[]): string[] =>
    offs.flatMap((o) => str(o).split(":")).filter(Boolean);
  return {
    complete: true,
    ...(interp ? { interp } : {}),
    needed: neededOff.map(str),
    runpath: split(runOff),
    rpath: split(rOff),
    imports: [...imports].sort(),
  };
}

/** The sniffer that keeps each ELF file's dynamic summary (as JSON) instead of its bytes. */
export const ELF_DYNAMIC_SNIFFER: Sniffer = {
  id: "elf-dynamic",
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
   * complete: every object found and read; script: the program is not ELF (a script can start
   * anything); incomplete: a library not found, or an object not fully read; none: no program.
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
    if (!d.complete) {
      return { program, status: "incomplete", reason: `${path}: ${d.reason}`, objects };
    }
    objects.push({ path, layer: fs.lstat(path)?.layer ?? -1, imports: d.imports });
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
  return { program, status: "complete", objects };
}
