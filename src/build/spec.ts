import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { isDigest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";

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

/**
 * Parses and validates a spec.
 * @throws ToolError CORE_INVALID_ARGUMENT with file:line, the field and a hint
 */
export function parseSpec(text: string, file: string): BuildSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (n: Node | null | undefined): string => {
    const r = n?.range?.[0];
    if (r === undefined) {
      return file;
    }
    const p = lines.linePos(r);
    return `${file}:${p.line}:${p.col}`;
  };
  const fail = (n: Node | null | undefined, msg: string, hint?: string): never => {
    throw new ToolError("CORE_INVALID_ARGUMENT", `${at(n)}: ${msg}`, {
      hint: hint ?? "see docs/build.md for the spec format",
    });
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const p = e?.linePos?.[0];
    throw new ToolError(
      "CORE_INVALID_ARGUMENT",
      `${file}${p ? `:${p.line}:${p.col}` : ""}: not valid YAML: ${e?.message.split("\n")[0]}`,
      { hint: "fix the YAML syntax" },
    );
  }
  const root = doc.contents;
  if (!isMap(root)) {
    return fail(root, "the spec must be a mapping (key: value lines)");
  }
  const fields = new Map<string, Node>();
  for (const item of root.items) {
    const k = isScalar(item.key) ? String(item.key.value) : "";
    if (!KEYS.includes(k)) {
      fail(item.key as Node, `unknown field "${k}"`, `known fields: ${KEYS.join(", ")}`);
    }
    fields.set(k, item.value as Node);
  }
  const str = (k: string, n: Node | undefined = fields.get(k)): string | undefined => {
    if (n === undefined || (isScalar(n) && n.value === null)) {
      return undefined;
    }
    if (!isScalar(n) || (typeof n.value !== "string" && typeof n.value !== "number")) {
      return fail(n, `${k} must be a string`);
    }
    return String(n.value);
  };
  const strList = (k: string, n: Node | undefined = fields.get(k)): string[] | undefined => {
    if (n === undefined) {
      return undefined;
    }
    if (!isSeq(n)) {
      return fail(n, `${k} must be a list`, `e.g. ${k}: ["/usr/bin/app", "--flag"]`);
    }
    return n.items.map((i, idx) => str(`${k}[${idx}]`, i as Node) as string);
  };
  const strMap = (k: string): Record<string, string> => {
    const n = fields.get(k);
    if (n === undefined) {
      return {};
    }
    if (!isMap(n)) {
      return fail(n, `${k} must be a mapping of strings`);
    }
    const out: Record<string, string> = {};
    for (const item of n.items) {
      const key = isScalar(item.key) ? String(item.key.value) : "";
      out[key] = str(`${k}.${key}`, item.value as Node) ?? "";
    }
    return out;
  };

  const version = str("version");
  if (version !== undefined && version !== "1") {
    fail(fields.get("version"), `spec version ${version} is not supported`, "use version: 1");
  }
  const base = str("base") ?? "scratch";
  if (base !== "scratch" && !/@sha256:[0-9a-f]{64}$/.test(base)) {
    fail(
      fields.get("base"),
      `base image "${base}" is not pinned by digest`,
      "write base: REF@sha256:… (a tag can change; a build must not), or base: scratch",
    );
  }
  if (base !== "scratch" && !isDigest(base.slice(base.lastIndexOf("@") + 1))) {
    fail(fields.get("base"), `base image "${base}" has an invalid digest`);
  }

  let archive: BuildSpec["archive"] = { ...DEFAULT_ARCHIVE };
  const an = fields.get("archive");
  if (an !== undefined) {
    if (!isMap(an)) {
      fail(an, "archive must be a mapping (uri, suite, components, keyring)");
    }
    const a = new Map<string, Node>();
    for (const item of (an as { items: { key: unknown; value: unknown }[] }).items) {
      const k = isScalar(item.key) ? String(item.key.value) : "";
      if (!["uri", "suite", "components", "keyring"].includes(k)) {
        fail(item.key as Node, `unknown archive field "${k}"`, "uri, suite, components, keyring");
      }
      a.set(k, item.value as Node);
    }
    archive = {
      uri: (str("archive.uri", a.get("uri")) ?? DEFAULT_ARCHIVE.uri).replace(/\/+$/, ""),
      suite: str("archive.suite", a.get("suite")) ?? DEFAULT_ARCHIVE.suite,
      components: strList("archive.components", a.get("components")) ?? [
        ...DEFAULT_ARCHIVE.components,
      ],
      keyring: str("archive.keyring", a.get("keyring")) ?? DEFAULT_ARCHIVE.keyring,
    };
    if (!/^https?:\/\//.test(archive.uri)) {
      fail(a.get("uri"), `archive uri "${archive.uri}" is not an http(s) URL`);
    }
  }

  const packages: SpecPackage[] = [];
  const pn = fields.get("packages");
  if (pn !== undefined) {
    if (!isSeq(pn)) {
      fail(pn, "packages must be a list", "e.g. packages: [hello, ca-certificates]");
    }
    for (const [i, item] of (pn as { items: unknown[] }).items.entries()) {
      const n = item as Node;
      if (isMap(n)) {
        const m = new Map<string, Node>();
        for (const it of n.items) {
          const k = isScalar(it.key) ? String(it.key.value) : "";
          if (k !== "name" && k !== "version") {
            fail(it.key as Node, `unknown package field "${k}"`, "name and version");
          }
          m.set(k, it.value as Node);
        }
        const name = str(`packages[${i}].name`, m.get("name"));
        if (!name) {
          fail(n, `packages[${i}] has no name`);
        }
        const v = str(`packages[${i}].version`, m.get("version"));
        packages.push({ name: name as string, ...(v ? { version: v } : {}) });
      } else {
        packages.push({ name: str(`packages[${i}]`, n) as string });
      }
    }
    for (const [i, p] of packages.entries()) {
      if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p.name)) {
        fail((pn as { items: Node[] }).items[i], `"${p.name}" is not a Debian package name`);
      }
    }
  }

  const files: SpecFile[] = [];
  const fn = fields.get("files");
  if (fn !== undefined) {
    if (!isSeq(fn)) {
      fail(fn, "files must be a list of {src, dst, mode, owner}");
    }
    for (const [i, item] of (fn as { items: unknown[] }).items.entries()) {
      const n = item as Node;
      if (!isMap(n)) {
        fail(n, `files[${i}] must be a mapping with src and dst`);
      }
      const m = new Map<string, Node>();
      for (const it of (n as { items: { key: unknown; value: unknown }[] }).items) {
        const k = isScalar(it.key) ? String(it.key.value) : "";
        if (!["src", "dst", "mode", "owner"].includes(k)) {
          fail(it.key as Node, `unknown files field "${k}"`, "src, dst, mode, owner");
        }
        m.set(k, it.value as Node);
      }
      const src = str(`files[${i}].src`, m.get("src"));
      const dst = str(`files[${i}].dst`, m.get("dst"));
      if (!src || !dst) {
        fail(n, `files[${i}] needs src and dst`);
      }
      if ((src as string).startsWith("/") || (src as string).split("/").includes("..")) {
        fail(
          m.get("src"),
          `files[${i}].src "${src}" leaves the build context`,
          "use a path relative to the spec's directory",
        );
      }
      if (!(dst as string).startsWith("/") || (dst as string).split("/").includes("..")) {
        fail(m.get("dst"), `files[${i}].dst "${dst}" must be an absolute path without ".."`);
      }
      const modeS = str(`files[${i}].mode`, m.get("mode"));
      if (modeS !== undefined && !/^0?[0-7]{3,4}$/.test(modeS)) {
        fail(
          m.get("mode"),
          `files[${i}].mode "${modeS}" is not an octal mode`,
          'e.g. mode: "0755"',
        );
      }
      const owner = str(`files[${i}].owner`, m.get("owner")) ?? "0:0";
      const om = /^(\d+):(\d+)$/.exec(owner);
      if (!om) {
        fail(
          m.get("owner"),
          `files[${i}].owner "${owner}" is not UID:GID`,
          'numeric, e.g. owner: "65532:65532"',
        );
      }
      files.push({
        src: src as string,
        dst: dst as string,
        ...(modeS !== undefined ? { mode: Number.parseInt(modeS, 8) } : {}),
        uid: Number((om as RegExpExecArray)[1]),
        gid: Number((om as RegExpExecArray)[2]),
      });
    }
  }

  let env: string[] = [];
  const en = fields.get("env");
  if (en !== undefined) {
    if (isMap(en)) {
      env = Object.entries(strMap("env")).map(([k, v]) => `${k}=${v}`);
    } else {
      env = strList("env") ?? [];
      for (const e of env) {
        if (!/^[^=]+=/.test(e)) {
          fail(en, `env entry "${e}" is not NAME=VALUE`);
        }
      }
    }
  }
  const ports = strList("ports") ?? [];
  for (const p of ports) {
    if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(p)) {
      fail(fields.get("ports"), `port "${p}" is not PORT[/tcp|udp|sctp]`);
    }
  }
  const image = str("image");
  const user = str("user");
  const workdir = str("workdir");
  const entrypoint = strList("entrypoint");
  const cmd = strList("cmd");
  return {
    ...(image ? { image } : {}),
    base,
    archive,
    architecture: str("architecture") ?? "amd64",
    packages,
    files,
    ...(user ? { user } : {}),
    ...(workdir ? { workdir } : {}),
    env,
    ...(entrypoint ? { entrypoint } : {}),
    ...(cmd ? { cmd } : {}),
    ports: ports.map((p) => (p.includes("/") ? p : `${p}/tcp`)),
    labels: strMap("labels"),
    annotations: strMap("annotations"),
  };
}
