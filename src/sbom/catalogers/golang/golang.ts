import type { Issue } from "../../../core/issues.js";
import type { FileNode, FileResolver, Sniffer } from "../../../source/index.js";
import type { Cataloger, CatalogResult } from "../../cataloger.js";
import type { Package } from "../../model.js";
import { locationOf, packageId, purl } from "../shared.js";
import { readPointerBuildInfo } from "./go-buildinfo-ptr.js";
import {
  GO_PCLNTAB_SNIFFERS,
  type PclntabHeader,
  parseGoFunctionNames,
  pclntabFormatOf,
} from "./gopclntab.js";

export { GO_PCLNTAB_SNIFFERS, type PclntabHeader, parseGoFunctionNames };

// "\xff Go buildinf:" as raw bytes (a string literal would UTF-8-encode the 0xff).
const BUILDINFO_MAGIC = Uint8Array.from([0xff, ...new TextEncoder().encode(" Go buildinf:")]);

/** Finds the Go build info blob in executables as they stream (Go >= 1.18 inline format). */
export const GO_BUILDINFO_SNIFFER: Sniffer = {
  id: "go-buildinfo",
  magic: BUILDINFO_MAGIC,
  capture: 4 * 1024 * 1024,
  lookahead: 21,
  // The real header: pointer size 4 or 8 and flags at bytes 14-15; from Go 1.18 on, the version
  // string follows at byte 32 and starts with "go" (or "devel"). Code that reads build info
  // carries the magic as a literal, which this rejects so the search goes on.
  accept: (h: Uint8Array) => {
    const ptr = h[14];
    const flags = h[15] ?? 0;
    if ((ptr !== 4 && ptr !== 8) || flags > 3) {
      return false;
    }
    if ((flags & 2) === 0) {
      return true; // pre-1.18 pointer format: judged when parsed
    }
    const len = h[32] ?? 0;
    const start = String.fromCharCode(h[33] ?? 0, h[34] ?? 0);
    return len > 2 && len < 128 && (start === "go" || start === "de");
  },
  match: (node: FileNode) => (node.mode & 0o111) !== 0 && node.size >= 4096,
};

export interface GoBuildInfo {
  readonly goVersion: string;
  readonly path?: string;
  readonly main?: GoModule;
  readonly deps: readonly GoModule[];
  readonly settings: Readonly<Record<string, string>>;
}

export interface GoModule {
  readonly path: string;
  readonly version: string;
  readonly sum?: string;
  readonly replace?: GoModule;
}

function uvarint(b: Uint8Array, off: number): [number, number] {
  let x = 0;
  let shift = 0;
  for (let i = off; i < b.length && i < off + 10; i++) {
    const c = b[i] as number;
    x += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) {
      return [x, i + 1];
    }
    shift += 7;
  }
  return [-1, off];
}

/**
 * Parses the build info blob (starting at its magic) of a Go >= 1.18 binary: Go version and
 * the module information `go version -m` prints.
 * Returns a string describing why it cannot when the format is not the inline one.
 */
export function parseGoBuildInfo(blob: Uint8Array): GoBuildInfo | string {
  if (blob.length < 32) {
    return "truncated build info";
  }
  const flags = blob[15] as number;
  if ((flags & 0x2) === 0) {
    return "build info of a Go release before 1.18 (pointer format) is not read";
  }
  const dec = new TextDecoder("utf-8");
  let [n, off] = uvarint(blob, 32);
  if (n < 0 || off + n > blob.length) {
    return "corrupt build info (version)";
  }
  const goVersion = dec.decode(blob.subarray(off, off + n));
  off += n;
  [n, off] = uvarint(blob, off);
  if (n < 0 || off + n > blob.length) {
    return "corrupt build info (module data)";
  }
  let mod = dec.decode(blob.subarray(off, off + n));
  // The module data is framed by 16-byte sentinels.
  if (mod.length >= 33 && mod[mod.length - 17] === "\n") {
    mod = mod.slice(16, -16);
  }
  return { goVersion, ...parseModInfo(mod) };
}

/** Parses the text `go version -m` shows (path, mod, dep, =>, build lines). */
export function parseModInfo(s: string): Omit<GoBuildInfo, "goVersion"> {
  let path: string | undefined;
  let main: GoModule | undefined;
  const deps: GoModule[] = [];
  const settings: Record<string, string> = {};
  let last: "main" | "dep" | undefined;
  for (const line of s.split("\n")) {
    const f = line.split("\t");
    switch (f[0]) {
      case "path":
        path = f[1];
        break;
      case "mod":
        main = { path: f[1] ?? "", version: f[2] ?? "", ...(f[3] ? { sum: f[3] } : {}) };
        last = "main";
        break;
      case "dep":
        deps.push({ path: f[1] ?? "", version: f[2] ?? "", ...(f[3] ? { sum: f[3] } : {}) });
        last = "dep";
        break;
      case "=>": {
        const r: GoModule = {
          path: f[1] ?? "",
          version: f[2] ?? "",
          ...(f[3] ? { sum: f[3] } : {}),
        };
        if (last === "dep" && deps.length) {
          deps[deps.length - 1] = { ...(deps[deps.length - 1] as GoModule), replace: r };
        } else if (last === "main" && main) {
          main = { ...main, replace: r };
        }
        break;
      }
      case "build": {
        const kv = f[1] ?? "";
        const eq = kv.indexOf("=");
        if (eq > 0) {
          settings[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        break;
      }
      default:
        break;
    }
  }
  return { ...(path ? { path } : {}), ...(main ? { main } : {}), deps, settings };
}

/**
 * The standard library's version from the toolchain's: `go1.19.8` is 1.19.8, and a first release
 * named without its patch number (`go1.19`, as before Go 1.21) is 1.19.0, as govulncheck reads it.
 */
export function stdlibVersion(goVersion: string): string {
  const v = goVersion.replace(/^go/, "").split(/[ -]/)[0] ?? goVersion;
  return /^1\.\d+$/.test(v) ? `${v}.0` : v;
}

/** A Go module as a package, evidenced by one file (a binary, a go.mod). */
export function goPackage(
  resolver: FileResolver,
  node: FileNode,
  m: { path: string; version: string },
  props: Record<string, string>,
  foundBy = "go-module-binary-cataloger",
): Package {
  // purl golang type: the module path's last element is the name, the rest the namespace
  const slash = m.path.lastIndexOf("/");
  const p = purl(
    "golang",
    slash > 0 ? m.path.slice(0, slash) : undefined,
    m.path.slice(slash + 1),
    m.version,
  );
  return {
    id: packageId(p, node.path),
    name: m.path,
    version: m.version,
    type: "golang",
    purl: p,
    cpes: [],
    licenseDeclared: [],
    foundBy,
    locations: [locationOf(resolver, node, node.path)],
    checksums: [],
    files: [],
    dependsOn: [],
    properties: props,
  };
}

/** Go modules compiled into binaries, from the build info the Go linker embeds. */
export const goBinaryCataloger: Cataloger = {
  id: "go-module-binary-cataloger",
  version: 5,
  sniffers: [GO_BUILDINFO_SNIFFER, ...GO_PCLNTAB_SNIFFERS],
  interest: () => false,
  async catalog(resolver: FileResolver): Promise<CatalogResult> {
    const packages: Package[] = [];
    const issues: Issue[] = [];
    for (const node of resolver.files()) {
      if (node.type !== "file" || !GO_BUILDINFO_SNIFFER.match(node)) {
        continue;
      }
      const blob = await resolver.sniffed(node.path, GO_BUILDINFO_SNIFFER);
      if (!blob) {
        continue;
      }
      const info = await readBuildInfo(resolver, node.path, blob);
      if (typeof info === "string") {
        issues.push({ code: "SBOM_GO_BUILDINFO_UNREAD", message: info, path: node.path });
        continue;
      }
      const first = packages.length;
      const build = Object.fromEntries(
        Object.entries(info.settings).map(([k, v]) => [`go:build:${k}`, v]),
      );
      packages.push(
        goPackage(
          resolver,
          node,
          { path: "stdlib", version: stdlibVersion(info.goVersion) },
          {
            "go:toolchain": info.goVersion,
            // the target the standard library was compiled for (advisories name OS-only code)
            ...(info.settings["GOOS"] ? { "go:build:GOOS": info.settings["GOOS"] } : {}),
            ...(info.settings["GOARCH"] ? { "go:build:GOARCH": info.settings["GOARCH"] } : {}),
          },
        ),
      );
      if (info.main) {
        // "(devel)" stays as the build info says it (the VCS revision is a build property, not
        // a module version): a finding on it is unknown, never matched on a commit hash
        packages.push(
          goPackage(
            resolver,
            node,
            { path: info.main.path, version: info.main.version },
            {
              ...build,
              "go:mainModule": "true",
              ...(info.path ? { "go:mainPackage": info.path } : {}),
              ...(info.main.sum ? { "go:h1": info.main.sum } : {}),
            },
          ),
        );
      }
      for (const d of info.deps) {
        const r = d.replace;
        // A replacement by another module version is what was compiled in; a replacement by a
        // local directory has no version of its own, so the required version stands.
        const effective = r?.version && !/^[./]/.test(r.path) ? r : d;
        packages.push(
          goPackage(
            resolver,
            node,
            { path: d.path, version: effective.version },
            {
              ...(effective.sum ? { "go:h1": effective.sum } : {}),
              ...(r
                ? {
                    "go:replacedBy": `${r.path}${r.version && r.version !== "(devel)" ? `@${r.version}` : ""}`,
                  }
                : {}),
            },
          ),
        );
      }
      const symbols = await goSymbols(resolver, node.path, info.goVersion);
      if (typeof symbols === "string") {
        issues.push({ code: "SBOM_GO_SYMBOLS_UNREAD", message: symbols, path: node.path });
      } else {
        for (let i = first; i < packages.length; i++) {
          packages[i] = { ...(packages[i] as Package), symbols };
        }
      }
    }
    return { packages, issues };
  },
};

/**
 * A binary's build info: the inline format from the sniffed blob, the pointer format of Go
 * 1.13-1.17 through the whole file (its addresses point into it), where the source keeps files
 * to read (a directory; not an image, whose layers are read once as they stream).
 */
async function readBuildInfo(
  resolver: FileResolver,
  path: string,
  blob: Uint8Array,
): Promise<GoBuildInfo | string> {
  const info = parseGoBuildInfo(blob);
  if (typeof info !== "string" || blob.length < 32 || ((blob[15] as number) & 2) !== 0) {
    return info;
  }
  const file = await resolver.read(path);
  const r = file
    ? readPointerBuildInfo(blob, file)
    : "build info of a Go release before 1.18 (pointer format) is read through the whole binary, which this source does not keep (an image's files are read as its layers stream)";
  return typeof r === "string" ? r : { goVersion: r.goVersion, ...parseModInfo(r.modinfo) };
}

/**
 * The function names of a Go binary's pclntab, read with the layout its Go release writes (only
 * a table of that layout is taken, so that bytes elsewhere that look like a header of another
 * layout cannot stand in for it).
 */
async function goSymbols(
  resolver: FileResolver,
  path: string,
  goVersion: string,
): Promise<{ table: string; names: readonly string[] } | string> {
  // a release this reader cannot place (a development build): any layout, newest first
  const want = pclntabFormatOf(goVersion);
  const sniffers = want
    ? GO_PCLNTAB_SNIFFERS.filter((x) => x.id === `go-pclntab-${want}`)
    : GO_PCLNTAB_SNIFFERS;
  let tab: Uint8Array | undefined;
  for (const sn of sniffers) {
    tab ??= await resolver.sniffed(path, sn);
  }
  if (!tab) {
    return `${path}: no Go ${want ?? "1.16"}+ pclntab found (symbol-level VEX analysis cannot run on it)`;
  }
  const read = parseGoFunctionNames(tab);
  return typeof read === "string"
    ? `${path}: ${read}`
    : { table: `gopclntab (Go ${read.format} layout)`, names: read.names };
}
