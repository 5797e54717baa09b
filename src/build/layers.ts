/** The layers of a built image: .deb and build-context files as sorted, clamped tar entries. */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Digest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import {
  encodeTarHeader,
  type ResolvedImage,
  readTar,
  streamOf,
  TAR_END,
  type TarEntryInput,
  tarPadding,
} from "../oci/index.js";
import type { BuildSpec } from "./spec.js";

const run = promisify(execFile);

export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly size: number;
  readonly sha256: string;
  readonly filename: string;
  readonly source?: string;
}

/** One entry of the image's filesystem, as the reproducibility diff compares them. */
export interface FileRecord {
  readonly path: string;
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly size: number;
  readonly sha256?: string;
  readonly linkname?: string;
  /** Which input put it there (a package name, or "files"). */
  readonly from: string;
}

export interface AssembledImage {
  readonly manifestDigest: Digest;
  readonly manifest: Uint8Array;
  readonly configDigest: Digest;
  readonly layers: readonly {
    readonly digest: Digest;
    readonly diffId: Digest;
    readonly size: number;
  }[];
  readonly files: readonly FileRecord[];
}

export interface Item {
  readonly e: TarEntryInput;
  readonly body?: Uint8Array;
  readonly from: string;
}

/** A normalised path inside the image, without a leading "./" or "/" ("" for the root). */
function norm(name: string): string {
  return name
    .replace(/^\.?\/+/, "")
    .replace(/^\.$/, "")
    .replace(/\/+$/, "");
}

async function debItems(path: string, pkg: LockedPackage, epoch: number): Promise<Item[]> {
  const opts = { encoding: "buffer" as const, maxBuffer: 4 * 1024 ** 3 };
  const data = (await run("dpkg-deb", ["--fsys-tarfile", path], opts)).stdout;
  const items: Item[] = [];
  await readTar(streamOf(new Uint8Array(data)), {
    what: `${pkg.name}_${pkg.version}.deb`,
    onEntry: (e) => {
      const p = norm(e.name);
      if (p === "") {
        return undefined;
      }
      const chunks: Uint8Array[] = [];
      const base = {
        name: e.type === "dir" ? `${p}/` : p,
        type: e.type,
        mode: e.mode & 0o7777,
        uid: e.uid,
        gid: e.gid,
        mtime: Math.min(e.mtime, epoch),
        ...(e.type === "symlink" ? { linkname: e.linkname } : {}),
        ...(e.type === "hardlink" ? { linkname: norm(e.linkname) } : {}),
      };
      if (e.type !== "file") {
        items.push({ e: base, from: pkg.name });
        return undefined;
      }
      return {
        write: (c) => {
          chunks.push(new Uint8Array(c));
        },
        close: () => {
          items.push({ e: base, body: Buffer.concat(chunks), from: pkg.name });
        },
      };
    },
  });
  // the dpkg record, distroless layout: the control stanza and the md5sums
  const control = (await run("dpkg-deb", ["-f", path], { encoding: "utf8" })).stdout.trimEnd();
  const stanza = control
    .split("\n")
    .flatMap((l) => (l.startsWith("Package:") ? [l, "Status: install ok installed"] : [l]))
    .join("\n");
  const fixed = { type: "file" as const, mode: 0o644, uid: 0, gid: 0, mtime: epoch };
  items.push({
    e: { ...fixed, name: `var/lib/dpkg/status.d/${pkg.name}` },
    body: new TextEncoder().encode(`${stanza}\n`),
    from: pkg.name,
  });
  const md5 = await run("dpkg-deb", ["-I", path, "md5sums"], { encoding: "utf8" }).then(
    (r) => r.stdout,
    () => "",
  );
  if (md5) {
    items.push({
      e: { ...fixed, name: `var/lib/dpkg/status.d/${pkg.name}.md5sums` },
      body: new TextEncoder().encode(md5),
      from: pkg.name,
    });
  }
  return items;
}

async function contextItems(spec: BuildSpec, contextDir: string, epoch: number): Promise<Item[]> {
  const items: Item[] = [];
  for (const f of spec.files) {
    const src = join(contextDir, f.src);
    const st = await lstat(src).catch(() => {
      throw new ToolError(
        "BUILD_SPEC_INVALID",
        `files: ${f.src} does not exist in the build context ${contextDir}`,
      );
    });
    const add = async (abs: string, dst: string): Promise<void> => {
      const s = await lstat(abs);
      const common = { uid: f.uid, gid: f.gid, mtime: epoch };
      if (s.isDirectory()) {
        items.push({
          e: { ...common, name: `${norm(dst)}/`, type: "dir", mode: f.mode ?? 0o755 },
          from: "files",
        });
        for (const n of (await readdir(abs)).sort()) {
          await add(join(abs, n), `${dst.replace(/\/$/, "")}/${n}`);
        }
      } else if (s.isSymbolicLink()) {
        items.push({
          e: {
            ...common,
            name: norm(dst),
            type: "symlink",
            mode: 0o777,
            linkname: await readlink(abs),
          },
          from: "files",
        });
      } else if (s.isFile()) {
        items.push({
          e: {
            ...common,
            name: norm(dst),
            type: "file",
            mode: f.mode ?? (s.mode & 0o111 ? 0o755 : 0o644),
          },
          body: new Uint8Array(await readFile(abs)),
          from: "files",
        });
      } else {
        throw new ToolError(
          "BUILD_SPEC_INVALID",
          `files: ${abs} is not a file, directory or symlink`,
        );
      }
    };
    await add(
      src,
      st.isDirectory() || !f.dst.endsWith("/") ? f.dst : `${f.dst}${f.src.split("/").pop()}`,
    );
  }
  return items;
}

/** Merges items into one sorted layer, adding missing parent directories. */
export function mergeLayer(items: readonly Item[], epoch: number): Item[] {
  const byPath = new Map<string, Item>();
  for (const it of items) {
    const p = norm(it.e.name);
    const had = byPath.get(p);
    if (had && had.e.type !== "dir" && it.e.type !== "dir") {
      const same =
        had.e.type === it.e.type &&
        had.e.linkname === it.e.linkname &&
        Buffer.compare(Buffer.from(had.body ?? []), Buffer.from(it.body ?? [])) === 0;
      if (!same && had.from !== "files" && it.from !== "files") {
        throw new ToolError(
          "BUILD_SPEC_INVALID",
          `/${p} is shipped by both ${had.from} and ${it.from} with different contents`,
          { hint: "dpkg would refuse this pair too; drop one of the packages" },
        );
      }
    }
    if (had?.e.type !== "dir" || it.e.type !== "dir") {
      byPath.set(p, it);
    }
  }
  for (const p of [...byPath.keys()]) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!byPath.has(d)) {
        byPath.set(d, {
          e: { name: `${d}/`, type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: epoch },
          from: "parent",
        });
      }
    }
  }
  return [...byPath.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, it]) => it);
}

export function tarOf(items: readonly Item[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const it of items) {
    const size = it.e.type === "file" ? (it.body?.length ?? 0) : 0;
    parts.push(encodeTarHeader({ ...it.e, size, uname: "", gname: "" }));
    if (size > 0 && it.body) {
      parts.push(it.body, tarPadding(size));
    }
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

export const records = (items: readonly Item[]): FileRecord[] =>
  items.map((it) => ({
    path: `/${norm(it.e.name)}`,
    type: it.e.type,
    mode: it.e.mode ?? 0,
    uid: it.e.uid ?? 0,
    gid: it.e.gid ?? 0,
    mtime: it.e.mtime ?? 0,
    size: it.body?.length ?? 0,
    ...(it.body ? { sha256: createHash("sha256").update(it.body).digest("hex") } : {}),
    ...(it.e.linkname !== undefined ? { linkname: it.e.linkname } : {}),
    from: it.from,
  }));

export interface AssembleOptions {
  readonly spec: BuildSpec;
  readonly contextDir: string;
  readonly debs: readonly { readonly pkg: LockedPackage; readonly path: string }[];
  /** SOURCE_DATE_EPOCH, seconds. */
  readonly epoch: number;
  readonly outDir: string;
  readonly refName: string;
  /** The base image (pinned); its layers come first and its configuration is the starting point. */
  readonly base?: { readonly name: string; readonly image: ResolvedImage };
  /** A generated /etc/os-release (no package ships one), put in the packages' layer. */
  readonly osRelease?: Uint8Array;
}

export type LayerSet = { items: Item[]; createdBy: string };

/** Every .deb must be the one the lock file pins, before anything is built. */
export async function checkDebs(debs: AssembleOptions["debs"]): Promise<void> {
  for (const d of debs) {
    const bytes = await readFile(d.path);
    const got = createHash("sha256").update(bytes).digest("hex");
    if (got !== d.pkg.sha256 || bytes.length !== d.pkg.size) {
      throw new ToolError(
        "CORE_DIGEST_MISMATCH",
        `${d.path} is not ${d.pkg.name} ${d.pkg.version} as the lock file pins it (sha256 ${d.pkg.sha256}, got ${got})`,
        { hint: "the cached .deb was altered; delete it to download it again. Nothing was built" },
      );
    }
  }
}

/** The packages' layer (with a generated /etc/os-release), then the build context's. */
export async function layerSetsOf(o: AssembleOptions): Promise<LayerSet[]> {
  const { spec, epoch } = o;
  const layerSets: LayerSet[] = [];
  if (o.debs.length > 0 || o.osRelease) {
    // read the packages a few at a time (dpkg-deb runs in its own process); merge in lock order
    const read: Item[][] = new Array(o.debs.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(4, o.debs.length) }, async () => {
        while (next < o.debs.length) {
          const i = next++;
          const d = o.debs[i] as (typeof o.debs)[number];
          read[i] = await debItems(d.path, d.pkg, epoch);
        }
      }),
    );
    const all = read.flat();
    if (o.osRelease) {
      all.push({
        e: { name: "etc/os-release", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: epoch },
        body: o.osRelease,
        from: "os-release (generated from the signed Release)",
      });
    }
    layerSets.push({
      items: mergeLayer(all, epoch),
      createdBy: `cleanimg build: ${o.debs.length} Debian packages from ${spec.archive.suite}${o.osRelease ? ", /etc/os-release" : ""}`,
    });
  }
  if (spec.files.length > 0) {
    layerSets.push({
      items: mergeLayer(await contextItems(spec, o.contextDir, epoch), epoch),
      createdBy: `cleanimg build: ${spec.files.length} entries from the build context`,
    });
  }
  return layerSets;
}
