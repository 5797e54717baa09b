import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { fetchDebs } from "./debs.js";
import { buildOnce, goToolchain } from "./go-fixture.js";

const CACHE = resolve(import.meta.dirname, "../../.cache");
export const GO_OSV = resolve(import.meta.dirname, "../../../shared/corpus/vulndb/go-osv.jsonl.gz");

export { buildOnce };

export interface RealGoBinary {
  /** Short name for tables: package@version/file. */
  readonly name: string;
  readonly path: string;
}

/** Debian packages of Go programs (bookworm, built with golang-1.19) and the programs in them. */
const DEBS: readonly [string, readonly string[]][] = [
  ["age", ["usr/bin/age", "usr/bin/age-keygen"]],
  ["fzf", ["usr/bin/fzf"]],
  ["shfmt", ["usr/bin/shfmt"]],
  ["mkcert", ["usr/bin/mkcert"]],
  ["gron", ["usr/bin/gron"]],
  ["direnv", ["usr/bin/direnv"]],
  ["git-lfs", ["usr/bin/git-lfs"]],
];

/**
 * npm packages that ship one Go program each (`npm pack`ed once): esbuild from Go 1.17 to a
 * current release, lefthook (older and current Go), buf's lint plugin.
 */
const NPM: readonly [string, string][] = [
  ["esbuild-linux-64@0.13.15", "package/bin/esbuild"],
  ["esbuild-linux-64@0.14.54", "package/bin/esbuild"],
  ["@esbuild/linux-x64@0.17.19", "package/bin/esbuild"],
  ["@esbuild/linux-x64@0.21.5", "package/bin/esbuild"],
  ["@esbuild/linux-x64@0.24.2", "package/bin/esbuild"],
  ["@esbuild/linux-x64@0.28.2", "package/bin/esbuild"],
  ["lefthook-linux-x64@1.5.0", "package/bin/lefthook"],
  ["lefthook-linux-x64@2.2.2", "package/bin/lefthook"],
  ["@bufbuild/buf-linux-x64@1.28.1", "package/bin/protoc-gen-buf-lint"],
];

function npmBinary(spec: string, file: string): RealGoBinary {
  const dir = buildOnce(join(CACHE, "npm-go", spec.replace(/[@/]/g, "_")), (tmp) => {
    execFileSync("npm", ["pack", "-q", spec], { cwd: tmp, stdio: ["ignore", "ignore", "pipe"] });
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
    if (!tgz) {
      throw new Error(`npm pack ${spec} produced no tarball`);
    }
    execFileSync("tar", ["-xzf", tgz], { cwd: tmp });
  });
  return { name: `${spec}/${file.split("/").pop()}`, path: join(dir, file) };
}

function debBinaries(pkg: string, files: readonly string[]): RealGoBinary[] {
  const dir = buildOnce(join(CACHE, "deb-go", pkg), (tmp) => {
    execFileSync("dpkg-deb", ["-x", fetchDebs([pkg])[0] as string, tmp]);
  });
  const version = execFileSync("dpkg-deb", ["-f", fetchDebs([pkg])[0] as string, "Version"], {
    encoding: "utf8",
  }).trim();
  return files.map((f) => ({
    name: `${pkg}_${version}/${f.split("/").pop()}`,
    path: join(dir, f),
  }));
}

/** Real Go programs from Debian and npm packages (downloaded and unpacked once). */
export function realGoBinaries(): RealGoBinary[] {
  return [
    ...DEBS.flatMap(([p, files]) => debBinaries(p, files)),
    ...NPM.map(([spec, file]) => npmBinary(spec, file)),
  ];
}

/** Whether the ELF file has a symbol table (`strip` removes it; the pclntab stays). */
export function isStripped(file: string): boolean {
  const out = execFileSync("readelf", ["-S", "-W", file], { encoding: "utf8" });
  return !/\s\.symtab\s/.test(out);
}

const goEnv = (tmp: string): NodeJS.ProcessEnv => {
  const { goroot } = goToolchain();
  return {
    ...process.env,
    GOROOT: goroot,
    GOPATH: join(tmp, "gopath"),
    GOCACHE: join(tmp, "gocache"),
    GOPROXY: "off",
    GOTOOLCHAIN: "local",
    CGO_ENABLED: "0",
  };
};

/** Go's own reading of a binary's function table. */
const GOSYM_SOURCE = `// Prints the functions of a Go binary's pclntab as Go's debug/gosym reads them: the function
// table's entries, each name found through its _func record. The 1.20 layout (magic 0xfffffff1)
// is the 1.18 one in what gosym reads, so its magic is rewritten for this Go 1.19 reader.
package main

import (
	"debug/elf"
	"debug/gosym"
	"fmt"
	"os"
)

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	text := f.Section(".text")
	if text == nil {
		fmt.Fprintln(os.Stderr, "no .text section")
		os.Exit(2)
	}
	// an internally linked binary has a .gopclntab section; an externally linked one keeps the
	// table in .data.rel.ro.gopclntab or, when that was merged, inside .data.rel.ro
	var data []byte
	for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab", ".data.rel.ro"} {
		if sec := f.Section(name); sec != nil && data == nil {
			b, err := sec.Data()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			data = findTable(b, name != ".data.rel.ro")
		}
	}
	if data == nil {
		fmt.Fprintln(os.Stderr, "no pclntab")
		os.Exit(2)
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, fn := range tab.Funcs {
		fmt.Println(fn.Name)
	}
}

// findTable returns the pclntab at the start of a .gopclntab section, or the first offset in b
// where debug/gosym reads a table of functions.
func findTable(b []byte, whole bool) []byte {
	for i := 0; i+8 < len(b); i++ {
		if b[i+1] != 0xff || b[i+2] != 0xff || b[i+3] != 0xff || b[i+4] != 0 || b[i+5] != 0 {
			if whole {
				return nil
			}
			continue
		}
		if b[i] != 0xf0 && b[i] != 0xf1 && b[i] != 0xfa {
			continue
		}
		d := append([]byte(nil), b[i:]...)
		if d[0] == 0xf1 {
			d[0] = 0xf0
		}
		if tab, err := gosym.NewTable(nil, gosym.NewLineTable(d, 0)); err == nil && len(tab.Funcs) > 0 {
			return d
		}
		if whole {
			return nil
		}
	}
	return nil
}
`;

/** The function names Go's debug/gosym (Go 1.19) reads from the binary's function table. */
export function gosymFunctions(bin: string): string[] {
  const { go } = goToolchain();
  const dir = buildOnce(join(CACHE, "gosym-reader"), (tmp) => {
    writeFileSync(join(tmp, "main.go"), GOSYM_SOURCE);
    execFileSync(go, ["build", "-o", join(tmp, "gosym-reader"), "main.go"], {
      cwd: tmp,
      env: { ...goEnv(tmp), GO111MODULE: "off" },
      stdio: "pipe",
    });
    rmSync(join(tmp, "gocache"), { recursive: true, force: true });
  });
  const out = execFileSync(join(dir, "gosym-reader"), [bin], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return out.split("\n").filter(Boolean);
}

/** The Go advisories of the corpus, by id. */
export function goAdvisories(): Map<string, GoAdvisory> {
  return new Map(
    gunzipSync(readFileSync(GO_OSV))
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as GoAdvisory)
      .map((r) => [r.id, r]),
  );
}

export interface GoAdvisory {
  readonly id: string;
  readonly aliases?: readonly string[];
  readonly affected?: readonly {
    readonly package: { readonly name: string };
    readonly ecosystem_specific?: {
      readonly imports?: readonly {
        path: string;
        symbols?: readonly string[];
        goos?: readonly string[];
        goarch?: readonly string[];
      }[];
    };
  }[];
}

/**
 * The corpus's Go advisories as a vulnerability database in the layout of the govulncheck that
 * Debian ships (a 2023 client): index.json (module -> modified), one MODULE.json per module
 * (the module path with capitals escaped as !x) holding its entries, ID/ID.json, aliases.json.
 */
export function govulncheckDb(): string {
  return buildOnce(join(CACHE, "govulndb-legacy"), (tmp) => {
    const byModule = new Map<string, GoAdvisory[]>();
    const aliases: Record<string, string[]> = {};
    mkdirSync(join(tmp, "ID"));
    for (const r of goAdvisories().values()) {
      writeFileSync(join(tmp, "ID", `${r.id}.json`), JSON.stringify(r));
      for (const a of r.aliases ?? []) {
        aliases[a] = [...(aliases[a] ?? []), r.id];
      }
      for (const m of new Set((r.affected ?? []).map((a) => a.package.name))) {
        byModule.set(m, [...(byModule.get(m) ?? []), r]);
      }
    }
    const index: Record<string, string> = {};
    for (const [m, rs] of byModule) {
      const file = join(tmp, `${m.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)}.json`);
      mkdirSync(resolve(file, ".."), { recursive: true });
      writeFileSync(file, JSON.stringify(rs));
      index[m] = "2023-01-01T00:00:00Z";
    }
    writeFileSync(join(tmp, "index.json"), JSON.stringify(index));
    writeFileSync(join(tmp, "aliases.json"), JSON.stringify(aliases));
  });
}

/**
 * What Debian's govulncheck finds in a binary (binary mode, the corpus as its database): the ids
 * of the advisories whose vulnerable symbols it found linked in, or the reason it could not read
 * the binary.
 */
export function govulncheckFound(bin: string): Set<string> | string {
  const { goroot } = goToolchain();
  const r = spawnSync("govulncheck", ["-json", bin], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: {
      ...process.env,
      PATH: `${goroot}/bin:${process.env["PATH"] ?? ""}`,
      GOROOT: goroot,
      GOVULNDB: `file://${govulncheckDb()}`,
      GOFLAGS: "",
    },
  });
  if (r.status !== 0 && r.status !== 3) {
    return `govulncheck: ${(r.stderr || r.stdout).trim().split("\n").pop()}`;
  }
  const out = JSON.parse(r.stdout) as {
    Vulns?: { OSV: { id: string }; Modules?: { Packages?: { CallStacks?: unknown[] }[] }[] }[];
  };
  return new Set(
    (out.Vulns ?? [])
      .filter((v) => v.Modules?.some((m) => m.Packages?.some((p) => p.CallStacks?.length)))
      .map((v) => v.OSV.id),
  );
}
