import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import {
  type BuildSpec,
  fetchBytes,
  type LockedPackage,
  loadArchiveIndex,
  parseSpec,
  resolvePackages,
} from "../build/index.js";
import { sha256 } from "../core/digest.js";
import { ToolError, UsageError } from "../core/errors.js";
import { readInput } from "../core/input.js";
import {
  formatImageRef,
  openSource,
  parseImageLocation,
  parseImageRef,
  RegistrySource,
  type ResolvedImage,
  resolveImage,
  writeFileAtomic,
} from "../oci/index.js";
import type { AppContext } from "./context.js";
import { generateSbom } from "./sbom.js";

const run = promisify(execFile);

/**
 * What the builder records about the assembly in `internalParameters.assembly`, each only when
 * it holds: `network: "none"` when the assembly read nothing over the network (scratch or a
 * local base, .debs from the verified cache), `inputs: "pinned by sha256"` when every input is
 * pinned by digest, and the environment it ran in.
 */
export interface AssemblyRecord {
  readonly network?: string;
  readonly inputs?: string;
  readonly environment?: {
    readonly process?: string;
    /** "none": the assembly is not isolated from the build host. */
    readonly sandbox?: string;
    readonly outputRoots?: string;
  };
}

export const ASSEMBLY_NO_NETWORK = "none";
export const ASSEMBLY_INPUTS_PINNED = "pinned by sha256";

/** The lock file: every package pinned by version and sha256, and the index it came from. */
export interface BuildLock {
  readonly lockVersion: 1;
  /** sha256 of the spec's resolution inputs (archive, architecture, packages). */
  readonly resolutionKey: string;
  readonly archive: {
    readonly uri: string;
    readonly suite: string;
    readonly architecture: string;
    readonly inRelease: string;
    readonly date: string;
    readonly version: string;
    /**
     * The signed Release's Origin, Label, Suite and Codename: the image's os-release (absent in
     * locks written before they were recorded).
     */
    readonly origin?: string;
    readonly label?: string;
    readonly releaseSuite?: string;
    readonly codename?: string;
  };
  readonly packages: readonly LockedPackage[];
}

const resolutionKey = (s: BuildSpec): string =>
  sha256(
    JSON.stringify({ archive: s.archive, architecture: s.architecture, packages: s.packages }),
  );

export async function gitSource(
  dir: string,
): Promise<{ commit: string; dirty: boolean; signature: string; time: number } | undefined> {
  try {
    const commit = (await run("git", ["-C", dir, "rev-parse", "HEAD"])).stdout.trim();
    const dirty = (await run("git", ["-C", dir, "status", "--porcelain"])).stdout.trim() !== "";
    const [sig, time] = (await run("git", ["-C", dir, "log", "-1", "--format=%G?%n%ct"])).stdout
      .trim()
      .split("\n");
    const signature =
      {
        G: "good",
        B: "bad",
        U: "good, unknown validity",
        X: "good, expired",
        Y: "good, expired key",
        R: "good, revoked key",
        E: "cannot be checked",
        N: "none",
      }[sig ?? "N"] ?? "unknown";
    return { commit, dirty, signature, time: Number(time) };
  } catch {
    return undefined;
  }
}

/**
 * What the assembly guarantees, recorded in the provenance only when it holds: no network (it
 * reads the sha256-verified .debs of the local cache, the build context, and a base only from a
 * local store or layout), every package pinned by sha256 in the lock (the base by its digest),
 * and the environment as it is: the build process on the build host, with no sandbox.
 */
export function assemblyRecord(
  lock: BuildLock,
  base: { remote: boolean } | undefined,
): AssemblyRecord {
  const pinned = lock.packages.every((p) => /^[0-9a-f]{64}$/.test(p.sha256));
  return {
    network: base?.remote
      ? "the base image's layers were read from a registry"
      : ASSEMBLY_NO_NETWORK,
    ...(pinned ? { inputs: ASSEMBLY_INPUTS_PINNED } : {}),
    environment: {
      process: "the cleanimg build process on the build host",
      sandbox: "none",
      outputRoots: "two fresh temporary directories, compared",
    },
  };
}

/** Where fetched indexes and .debs are kept: $CLEANIMG_CACHE, else $CLEANIMG_HOME/cache. */
export function cacheDir(ctx: AppContext): string {
  return ctx.settings.cache ?? join(ctx.home, "cache");
}

async function fetchDeb(
  ctx: AppContext,
  archiveUri: string,
  p: LockedPackage,
  offline: boolean,
): Promise<string> {
  const dir = join(cacheDir(ctx), "debs");
  const path = join(dir, `${p.sha256}.deb`);
  if (existsSync(path)) {
    return path;
  }
  if (offline) {
    throw new ToolError(
      "BUILD_NOT_CACHED",
      `offline, and ${p.name} ${p.version} is not in the cache (${path})`,
      { hint: "run the build once online to fill the cache" },
    );
  }
  await mkdir(dir, { recursive: true });
  const url = `${archiveUri}/${p.filename}`;
  ctx.progress(`fetching ${p.name} ${p.version}`);
  const bytes = await fetchBytes(url);
  const got = createHash("sha256").update(bytes).digest("hex");
  if (got !== p.sha256 || bytes.length !== p.size) {
    throw new ToolError(
      "CORE_DIGEST_MISMATCH",
      `${url} is not ${p.name} ${p.version} as the signed index lists it (sha256 ${p.sha256}, got ${got})`,
    );
  }
  await writeFileAtomic(path, bytes);
  return path;
}

/** The spec as read: its path, bytes, parsed form, context directory and image reference. */
export interface ReadSpec {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly spec: BuildSpec;
  readonly contextDir: string;
  /** The image reference to tag, normalized. */
  readonly ref: string;
}

/**
 * Reads and parses the build spec, and names the image to tag.
 * @throws ToolError CORE_INPUT_UNREADABLE when the spec cannot be read; UsageError CLI_USAGE
 *   when none is named and there is no cleanimg.yaml, or no image name is given
 */
export async function readBuildSpec(opts: { spec?: string; image?: string }): Promise<ReadSpec> {
  const path = resolve(opts.spec ?? "cleanimg.yaml");
  const hint = "write a cleanimg.yaml (see docs/build.md) or pass --spec FILE";
  if (opts.spec === undefined && !existsSync(path)) {
    // no spec named and none here: how the command was called, not an input that failed
    throw new UsageError("CLI_USAGE", `no build spec: ${path} does not exist`, { hint });
  }
  const bytes = await readInput(path, "the build spec", hint);
  const spec = parseSpec(bytes.toString("utf8"), path);
  const name = opts.image ?? spec.image;
  if (!name) {
    throw new UsageError(
      "CLI_USAGE",
      "which image name? the spec has no image and --image was not given",
    );
  }
  return {
    path,
    bytes: new Uint8Array(bytes),
    spec,
    contextDir: dirname(path),
    ref: formatImageRef(parseImageRef(name)),
  };
}

/** The base image, pinned by digest, open until `close`, and what it already has installed. */
export interface OpenBase {
  readonly name: string;
  readonly image: ResolvedImage;
  /** Its layers stream from a registry while the image is assembled. */
  readonly remote: boolean;
  readonly hasOsRelease: boolean;
  /** Its Debian packages: resolution does not install them again. */
  readonly installed: readonly { name: string; version: string }[];
  close(): Promise<void>;
}

/**
 * Opens the spec's base image (none for scratch) and checks it is the pinned digest.
 * @throws ToolError CORE_DIGEST_MISMATCH when the base resolves to another digest
 */
export async function openBase(ctx: AppContext, spec: BuildSpec): Promise<OpenBase | undefined> {
  if (spec.base === "scratch") {
    return undefined;
  }
  const pinned = spec.base.slice(spec.base.lastIndexOf("@") + 1);
  const src = await openSource(parseImageLocation(spec.base), ctx);
  const image = await resolveImage(src, {
    platform: { os: "linux", architecture: spec.architecture },
  }).catch(async (e) => {
    await src.close();
    throw e;
  });
  if (image.descriptor.digest !== pinned && image.indexDescriptor?.digest !== pinned) {
    await src.close();
    throw new ToolError(
      "CORE_DIGEST_MISMATCH",
      `the base image ${spec.base} resolved to ${image.descriptor.digest}, not the pinned digest`,
      { hint: "pin the manifest (or index) digest the base really has" },
    );
  }
  try {
    const baseSbom = (await generateSbom(ctx, spec.base, { record: false })).sbom;
    return {
      name: spec.base,
      image,
      remote: src instanceof RegistrySource,
      hasOsRelease: baseSbom.distro !== undefined,
      installed: baseSbom.packages
        .filter((p) => p.type === "deb")
        .map((p) => ({ name: p.name, version: p.version })),
      close: () => src.close(),
    };
  } catch (e) {
    await src.close();
    throw e;
  }
}

/**
 * The lock file when it matches the spec, else a new resolution from the verified index,
 * written beside the spec.
 * @throws ToolError CORE_INPUT_UNREADABLE for a lock file that is not JSON
 */
export async function resolveLock(
  ctx: AppContext,
  spec: BuildSpec,
  contextDir: string,
  o: { installed: readonly { name: string; version: string }[]; offline: boolean },
  say: (m: string) => void,
): Promise<{ lock: BuildLock; lockPath: string; lockWritten: boolean }> {
  const lockPath = join(contextDir, "cleanimg.lock");
  const key = resolutionKey(spec);
  if (existsSync(lockPath)) {
    let matching: BuildLock | undefined;
    try {
      const l = JSON.parse(await readFile(lockPath, "utf8")) as BuildLock;
      matching = l.lockVersion === 1 && l.resolutionKey === key ? l : undefined;
    } catch {
      throw new ToolError("CORE_INPUT_UNREADABLE", `${lockPath} is not a valid lock file`, {
        hint: "delete it to resolve again",
      });
    }
    if (matching) {
      return { lock: matching, lockPath, lockWritten: false };
    }
  }
  say(
    `resolving ${spec.packages.length} packages from ${spec.archive.uri} ${spec.archive.suite}${o.offline ? " (offline: from the cached, verified index)" : ""}`,
  );
  const index = await loadArchiveIndex(spec, cacheDir(ctx), { offline: o.offline });
  const pkgs = resolvePackages(index, spec.packages, [...o.installed]);
  const lock: BuildLock = {
    lockVersion: 1,
    resolutionKey: key,
    archive: {
      uri: index.uri,
      suite: index.suite,
      architecture: index.architecture,
      inRelease: `sha256:${index.release.sha256}`,
      date: index.release.date,
      version: index.release.version,
      origin: index.release.origin,
      label: index.release.label,
      releaseSuite: index.release.suite,
      codename: index.release.codename,
    },
    packages: pkgs.map((p) => ({
      name: p.name,
      version: p.version,
      architecture: p.architecture,
      size: p.size,
      sha256: p.sha256,
      filename: p.filename,
      ...(p.source ? { source: p.source } : {}),
    })),
  };
  await writeFileAtomic(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
  say(`wrote ${lockPath}: ${pkgs.length} packages`);
  return { lock, lockPath, lockWritten: true };
}

/** Every locked .deb, from the verified cache or fetched and checked against the lock. */
export async function fetchDebs(
  ctx: AppContext,
  lock: BuildLock,
  offline: boolean,
): Promise<{ pkg: LockedPackage; path: string }[]> {
  const debs = [];
  for (const p of lock.packages) {
    debs.push({ pkg: p, path: await fetchDeb(ctx, lock.archive.uri, p, offline) });
  }
  return debs;
}
