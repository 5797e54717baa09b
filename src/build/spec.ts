import type { Node } from "yaml";
import { isDigest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import { assertYamlDepth, yaml } from "../core/yaml.js";

/**
 * The build spec (`cleanimg.yaml`): what goes into an image, pinned. Documented in
 * docs/build.md. Every error names the file, line and field, and says how to fix it.
 */

export interface SpecPackage {
  readonly name: string;
  /** Exact version required (the index must have it). */
  readonly version?: string;
}

export interface SpecFile {
  /** Path in the build context (the spec's directory), a file or a directory. */
  readonly src: string;
  /** Absolute path in the image; a directory when it ends with "/". */
  readonly dst: string;
  /** Octal mode for files (directories get 0755 unless given). */
  readonly mode?: number;
  readonly uid: number;
  readonly gid: number;
}

export interface BuildSpec {
  /** The image name the build tags (the command line's --image wins). */
  readonly image?: string;
  /** `scratch`, or a reference pinned by digest. */
  readonly base: string;
  readonly archive: {
    readonly uri: string;
    readonly suite: string;
    readonly components: readonly string[];
    readonly keyring: string;
  };
  readonly architecture: string;
  readonly packages: readonly SpecPackage[];
  readonly files: readonly SpecFile[];
  readonly user?: string;
  readonly workdir?: string;
  readonly env: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly ports: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export const DEFAULT_ARCHIVE = {
  uri: "http://deb.debian.org/debian",
  suite: "bookworm",
  components: ["main"],
  keyring: "/usr/share/keyrings/debian-archive-keyring.gpg",
} as const;

const KEYS = [
  "version",
  "image",
  "base",
  "archive",
  "architecture",
  "packages",
  "files",
  "user",
  "workdir",
  "env",
  "entrypoint",
  "cmd",
  "ports",
  "labels",
  "annotations",
];

/** Reads typed fields from a parsed YAML document; every failure names file:line:col. */
class SpecReader {
  constructor(
    private readonly file: string,
    private readonly lines: InstanceType<typeof import("yaml").LineCounter>,
  ) {}

  at(n: Node | null | undefined): string {
    const r = n?.range?.[0];
    if (r === undefined) {
      return this.file;
    }
    const p = this.lines.linePos(r);
    return `${this.file}:${p.line}:${p.col}`;
  }

  fail(n: Node | null | undefined, msg: string, hint?: string): never {
    throw new ToolError("BUILD_SPEC_INVALID", `${this.at(n)}: ${msg}`, {
      hint: hint ?? "see docs/build.md for the spec format",
    });
  }

  /** The fields of a mapping node, refusing keys outside `known`. */
  fields(n: Node, what: string, known: readonly string[], hint = known.join(", ")) {
    if (!yaml().isMap(n)) {
      return this.fail(n, `${what} must be a mapping (${known.join(", ")})`);
    }
    const out = new Map<string, Node>();
    for (const item of n.items) {
      const k = yaml().isScalar(item.key) ? String(item.key.value) : "";
      if (!known.includes(k)) {
        this.fail(
          item.key as Node,
          `unknown ${what === "spec" ? "" : `${what} `}field "${k}"`,
          hint,
        );
      }
      out.set(k, item.value as Node);
    }
    return out;
  }

  str(k: string, n: Node | undefined): string | undefined {
    if (n === undefined || (yaml().isScalar(n) && n.value === null)) {
      return undefined;
    }
    if (!yaml().isScalar(n) || (typeof n.value !== "string" && typeof n.value !== "number")) {
      return this.fail(n, `${k} must be a string`);
    }
    return String(n.value);
  }

  strList(k: string, n: Node | undefined): string[] | undefined {
    if (n === undefined) {
      return undefined;
    }
    if (!yaml().isSeq(n)) {
      return this.fail(n, `${k} must be a list`, `e.g. ${k}: ["/usr/bin/app", "--flag"]`);
    }
    return n.items.map((i, idx) => this.str(`${k}[${idx}]`, i as Node) as string);
  }

  strMap(k: string, n: Node | undefined): Record<string, string> {
    if (n === undefined) {
      return {};
    }
    if (!yaml().isMap(n)) {
      return this.fail(n, `${k} must be a mapping of strings`);
    }
    const out: Record<string, string> = {};
    for (const item of n.items) {
      const key = yaml().isScalar(item.key) ? String(item.key.value) : "";
      out[key] = this.str(`${k}.${key}`, item.value as Node) ?? "";
    }
    return out;
  }

  /** The items of a list node. */
  items(n: Node, msg: string, hint?: string): Node[] {
    if (!yaml().isSeq(n)) {
      return this.fail(n, msg, hint);
    }
    return n.items as Node[];
  }
}

function parseRoot(text: string, file: string): { r: SpecReader; fields: Map<string, Node> } {
  assertYamlDepth(text, file);
  const lines = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    logLevel: "error",
  });
  const r = new SpecReader(file, lines);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const p = e?.linePos?.[0];
    throw new ToolError(
      "BUILD_SPEC_INVALID",
      `${file}${p ? `:${p.line}:${p.col}` : ""}: not valid YAML: ${e?.message.split("\n")[0]}`,
      { hint: "fix the YAML syntax" },
    );
  }
  const root = doc.contents;
  if (!yaml().isMap(root)) {
    return r.fail(root, "the spec must be a mapping (key: value lines)");
  }
  return { r, fields: r.fields(root, "spec", KEYS, `known fields: ${KEYS.join(", ")}`) };
}

function parseBase(r: SpecReader, n: Node | undefined): string {
  const base = r.str("base", n) ?? "scratch";
  if (base !== "scratch" && !/@sha256:[0-9a-f]{64}$/.test(base)) {
    r.fail(
      n,
      `base image "${base}" is not pinned by digest`,
      "write base: REF@sha256:… (a tag can change; a build must not), or base: scratch",
    );
  }
  if (base !== "scratch" && !isDigest(base.slice(base.lastIndexOf("@") + 1))) {
    r.fail(n, `base image "${base}" has an invalid digest`);
  }
  return base;
}

function parseArchive(r: SpecReader, an: Node | undefined): BuildSpec["archive"] {
  if (an === undefined) {
    return { ...DEFAULT_ARCHIVE };
  }
  const a = r.fields(an, "archive", ["uri", "suite", "components", "keyring"]);
  const archive = {
    uri: (r.str("archive.uri", a.get("uri")) ?? DEFAULT_ARCHIVE.uri).replace(/\/+$/, ""),
    suite: r.str("archive.suite", a.get("suite")) ?? DEFAULT_ARCHIVE.suite,
    components: r.strList("archive.components", a.get("components")) ?? [
      ...DEFAULT_ARCHIVE.components,
    ],
    keyring: r.str("archive.keyring", a.get("keyring")) ?? DEFAULT_ARCHIVE.keyring,
  };
  if (!/^https?:\/\//.test(archive.uri)) {
    r.fail(a.get("uri"), `archive uri "${archive.uri}" is not an http(s) URL`);
  }
  return archive;
}

function parsePackages(r: SpecReader, pn: Node | undefined): SpecPackage[] {
  if (pn === undefined) {
    return [];
  }
  const items = r.items(pn, "packages must be a list", "e.g. packages: [hello, ca-certificates]");
  return items.map((n, i) => {
    let p: SpecPackage;
    if (yaml().isMap(n)) {
      const m = r.fields(n, "package", ["name", "version"], "name and version");
      const name = r.str(`packages[${i}].name`, m.get("name"));
      if (!name) {
        r.fail(n, `packages[${i}] has no name`);
      }
      const v = r.str(`packages[${i}].version`, m.get("version"));
      p = { name: name as string, ...(v ? { version: v } : {}) };
    } else {
      p = { name: r.str(`packages[${i}]`, n) as string };
    }
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p.name)) {
      r.fail(n, `"${p.name}" is not a Debian package name`);
    }
    return p;
  });
}

function parseFile(r: SpecReader, n: Node, i: number): SpecFile {
  if (!yaml().isMap(n)) {
    r.fail(n, `files[${i}] must be a mapping with src and dst`);
  }
  const m = r.fields(n, "files", ["src", "dst", "mode", "owner"]);
  const src = r.str(`files[${i}].src`, m.get("src"));
  const dst = r.str(`files[${i}].dst`, m.get("dst"));
  if (!src || !dst) {
    return r.fail(n, `files[${i}] needs src and dst`);
  }
  if (src.startsWith("/") || src.split("/").includes("..")) {
    r.fail(
      m.get("src"),
      `files[${i}].src "${src}" leaves the build context`,
      "use a path relative to the spec's directory",
    );
  }
  if (!dst.startsWith("/") || dst.split("/").includes("..")) {
    r.fail(m.get("dst"), `files[${i}].dst "${dst}" must be an absolute path without ".."`);
  }
  const modeS = r.str(`files[${i}].mode`, m.get("mode"));
  if (modeS !== undefined && !/^0?[0-7]{3,4}$/.test(modeS)) {
    r.fail(m.get("mode"), `files[${i}].mode "${modeS}" is not an octal mode`, 'e.g. mode: "0755"');
  }
  const owner = r.str(`files[${i}].owner`, m.get("owner")) ?? "0:0";
  const om = /^(\d+):(\d+)$/.exec(owner);
  if (!om) {
    return r.fail(
      m.get("owner"),
      `files[${i}].owner "${owner}" is not UID:GID`,
      'numeric, e.g. owner: "65532:65532"',
    );
  }
  return {
    src,
    dst,
    ...(modeS !== undefined ? { mode: Number.parseInt(modeS, 8) } : {}),
    uid: Number(om[1]),
    gid: Number(om[2]),
  };
}

function parseFiles(r: SpecReader, fn: Node | undefined): SpecFile[] {
  if (fn === undefined) {
    return [];
  }
  const items = r.items(fn, "files must be a list of {src, dst, mode, owner}");
  return items.map((n, i) => parseFile(r, n, i));
}

function parseEnv(r: SpecReader, en: Node | undefined): string[] {
  if (en === undefined) {
    return [];
  }
  if (yaml().isMap(en)) {
    return Object.entries(r.strMap("env", en)).map(([k, v]) => `${k}=${v}`);
  }
  const env = r.strList("env", en) ?? [];
  for (const e of env) {
    if (!/^[^=]+=/.test(e)) {
      r.fail(en, `env entry "${e}" is not NAME=VALUE`);
    }
  }
  return env;
}

function parsePorts(r: SpecReader, n: Node | undefined): string[] {
  const ports = r.strList("ports", n) ?? [];
  for (const p of ports) {
    if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(p)) {
      r.fail(n, `port "${p}" is not PORT[/tcp|udp|sctp]`);
    }
  }
  return ports.map((p) => (p.includes("/") ? p : `${p}/tcp`));
}

/**
 * Parses and validates a spec.
 * @throws ToolError BUILD_SPEC_INVALID with file:line, the field and a hint
 */
export function parseSpec(text: string, file: string): BuildSpec {
  const { r, fields } = parseRoot(text, file);
  const version = r.str("version", fields.get("version"));
  if (version !== undefined && version !== "1") {
    r.fail(fields.get("version"), `spec version ${version} is not supported`, "use version: 1");
  }
  const base = parseBase(r, fields.get("base"));
  const archive = parseArchive(r, fields.get("archive"));
  const packages = parsePackages(r, fields.get("packages"));
  const files = parseFiles(r, fields.get("files"));
  const env = parseEnv(r, fields.get("env"));
  const ports = parsePorts(r, fields.get("ports"));
  const image = r.str("image", fields.get("image"));
  const user = r.str("user", fields.get("user"));
  const workdir = r.str("workdir", fields.get("workdir"));
  const entrypoint = r.strList("entrypoint", fields.get("entrypoint"));
  const cmd = r.strList("cmd", fields.get("cmd"));
  return {
    ...(image ? { image } : {}),
    base,
    archive,
    architecture: r.str("architecture", fields.get("architecture")) ?? "amd64",
    packages,
    files,
    ...(user ? { user } : {}),
    ...(workdir ? { workdir } : {}),
    env,
    ...(entrypoint ? { entrypoint } : {}),
    ...(cmd ? { cmd } : {}),
    ports,
    labels: r.strMap("labels", fields.get("labels")),
    annotations: r.strMap("annotations", fields.get("annotations")),
  };
}
