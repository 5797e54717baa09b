import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { statement } from "../attest/index.js";
import {
  assembleImage,
  BASE_FILES,
  type BuildSpec,
  cachedReleaseFields,
  diffFiles,
  type LockedPackage,
  loadArchiveIndex,
  OS_RELEASE_PATH,
  type OsReleaseSource,
  osReleaseFromRelease,
  parseSpec,
  type ReleaseFields,
  resolvePackages,
} from "../build/index.js";
import { type RecordedLink, recordChainLink, signStatement } from "../chain/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { ToolError, UsageError } from "../core/errors.js";
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
import { renderSbom } from "../sbom/index.js";
import { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { copyImageBetween } from "./images.js";
import { generateSbom, TOOL } from "./sbom.js";

const run = promisify(execFile);

export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
export const BUILD_TYPE = "https://cleanimg.dev/build/debian-image/v1";
export const BUILDER_ID = "https://cleanimg.dev/builder/local/v1";
export const REPRODUCIBLE_PREDICATE = "https://cleanimg.dev/attestation/reproducible/v1";
export const BASE_IMAGE_PREDICATE = "https://cleanimg.dev/attestation/base-image/v1";
export const IMAGE_SIGNATURE_PREDICATE = "https://sigstore.dev/cosign/sign/v1";
export const IMAGE_SIGNATURE_KIND = "image-signature";
export const LOCK_MEDIA_TYPE = "application/vnd.cleanimg.build-lock.v1+json";

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

/**
 * Where the image's /etc/os-release comes from: the base image when it has one, else the
 * base-files package when the lock installs it (it ships /usr/lib/os-release and /etc/os-release
 * pointing there), else generated from the signed Release fields the lock records.
 */
export function osReleasePlan(
  lock: BuildLock,
  base: { name: string; hasOsRelease: boolean } | undefined,
  /** The Release fields, when the lock predates recording them (from the pinned InRelease). */
  fromCache?: ReleaseFields,
): { source: OsReleaseSource; bytes?: Uint8Array } {
  if (base?.hasOsRelease) {
    return { source: { from: "base image", path: OS_RELEASE_PATH, base: base.name } };
  }
  const bf = lock.packages.find((p) => p.name === BASE_FILES);
  if (bf) {
    return {
      source: { from: "package", path: "/usr/lib/os-release", package: `${bf.name} ${bf.version}` },
    };
  }
  const release =
    lock.archive.codename !== undefined
      ? {
          origin: lock.archive.origin ?? "",
          label: lock.archive.label ?? "",
          suite: lock.archive.releaseSuite ?? "",
          version: lock.archive.version,
          codename: lock.archive.codename,
        }
      : fromCache;
  if (!release) {
    return {
      source: {
        from: "none",
        reason:
          "the lock file does not record the Release's Origin and Codename and the InRelease it pins is not cached; delete the lock to resolve again",
      },
    };
  }
  const g = osReleaseFromRelease(release);
  if ("reason" in g) {
    return { source: { from: "none", reason: g.reason } };
  }
  const bytes = new TextEncoder().encode(g.text);
  return {
    source: { from: "generated", path: OS_RELEASE_PATH, release, sha256: sha256(bytes).slice(7) },
    bytes,
  };
}

export interface BuildOptions {
  /** The spec file (default ./cleanimg.yaml). */
  readonly spec?: string;
  /** Image name to tag (default: the spec's `image`). */
  readonly image?: string;
  /** Forbid every network access: the lock file and the .deb cache must be complete. */
  readonly offline?: boolean;
  /** SOURCE_DATE_EPOCH (seconds); default: the environment's, else the source commit's time. */
  readonly epoch?: number;
  readonly now?: () => Date;
  /**
   * A directory of in-toto links (`*.link`) of the CI steps this build ran under: each is kept as
   * evidence of the image and named by digest in the provenance's resolved dependencies.
   */
  readonly intotoLinks?: string;
}

export interface BuildResult {
  readonly image: { readonly name: string; readonly digest: Digest };
  readonly lockPath: string;
  readonly lockWritten: boolean;
  readonly packages: number;
  readonly epoch: number;
  readonly source?: {
    readonly commit: string;
    readonly dirty: boolean;
    readonly signature: string;
  };
  readonly reproducible: { readonly matched: true; readonly digests: readonly [Digest, Digest] };
  readonly slsa: { readonly level: 1; readonly spec: "SLSA v1.0 Build track" };
  readonly links: readonly RecordedLink[];
  /** What was produced, by name and digest. */
  readonly produced: readonly { readonly what: string; readonly digest: string }[];
}

const resolutionKey = (s: BuildSpec): string =>
  sha256(
    JSON.stringify({ archive: s.archive, architecture: s.architecture, packages: s.packages }),
  );

async function gitSource(
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
function assemblyRecord(lock: BuildLock, base: { remote: boolean } | undefined): AssemblyRecord {
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
      "CORE_INVALID_ARGUMENT",
      `offline, and ${p.name} ${p.version} is not in the cache (${path})`,
      { hint: "run the build once online to fill the cache" },
    );
  }
  await mkdir(dir, { recursive: true });
  const url = `${archiveUri}/${p.filename}`;
  ctx.progress(`fetching ${p.name} ${p.version}`);
  const res = await fetch(url).catch((e: Error) => {
    throw new ToolError("CORE_INVALID_ARGUMENT", `cannot fetch ${url}: ${e.message}`);
  });
  if (!res.ok) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `cannot fetch ${url}: HTTP ${res.status}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const got = createHash("sha256").update(bytes).digest("hex");
  if (got !== p.sha256 || bytes.length !== p.size) {
    throw new ToolError(
      "CORE_DIGEST_MISMATCH",
      `${url} is not ${p.name} ${p.version} as the signed index lists it (sha256 ${p.sha256}, got ${got})`,
    );
  }
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
  return path;
}

/**
 * Builds an image from a spec: resolves (or reads the lock), fetches and verifies the .debs,
 * assembles the image twice in fresh temporary roots and requires the same digest, tags it in
 * the local store, and records signed evidence with no extra flags: SLSA provenance v1, the
 * reproducibility attestation, the SBOM (SPDX 3.0.1 linked into the chain, CycloneDX beside
 * it), the lock, the spec and the build log.
 * @throws ToolError BUILD errors with what failed and how to fix it; nothing is tagged then
 */
export async function buildImage(ctx: AppContext, opts: BuildOptions = {}): Promise<BuildResult> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  const log: string[] = [];
  const say = (m: string): void => {
    log.push(`${now().toISOString()} ${m}`);
    ctx.progress(m);
  };
  const specPath = resolve(opts.spec ?? "cleanimg.yaml");
  const specBytes = await readFile(specPath).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(
      "CLI_USAGE",
      `cannot read the build spec ${specPath}: ${e.code ?? e.message}`,
      {
        hint: "write a cleanimg.yaml (see docs/build.md) or pass --spec FILE",
      },
    );
  });
  const spec = parseSpec(specBytes.toString("utf8"), specPath);
  const contextDir = dirname(specPath);
  const name = opts.image ?? spec.image;
  if (!name) {
    throw new UsageError(
      "CLI_USAGE",
      "which image name? the spec has no image and --image was not given",
    );
  }
  const ref = formatImageRef(parseImageRef(name));
  // the base image, pinned by digest, and the Debian packages it already has
  let base:
    | { name: string; image: ResolvedImage; remote: boolean; close(): Promise<void> }
    | undefined;
  let installed: { name: string; version: string }[] = [];
  let baseHasOsRelease = false;
  if (spec.base !== "scratch") {
    const pinned = spec.base.slice(spec.base.lastIndexOf("@") + 1);
    const src = await openSource(parseImageLocation(spec.base), ctx);
    const image = await resolveImage(src, {
      platform: { os: "linux", architecture: spec.architecture },
    }).catch(async (e) => {
      await src.close();
      throw e;
    });
    // a registry base's layers stream over the network while the image is assembled
    base = {
      name: spec.base,
      image,
      remote: src instanceof RegistrySource,
      close: () => src.close(),
    };
    if (image.descriptor.digest !== pinned && image.indexDescriptor?.digest !== pinned) {
      await src.close();
      throw new ToolError(
        "CORE_DIGEST_MISMATCH",
        `the base image ${spec.base} resolved to ${image.descriptor.digest}, not the pinned digest`,
        { hint: "pin the manifest (or index) digest the base really has" },
      );
    }
    const baseSbom = (await generateSbom(ctx, spec.base, { record: false })).sbom;
    baseHasOsRelease = baseSbom.distro !== undefined;
    installed = baseSbom.packages
      .filter((p) => p.type === "deb")
      .map((p) => ({ name: p.name, version: p.version }));
  }
  const source = await gitSource(contextDir);
  const envEpoch = ctx.settings.sourceDateEpoch;
  const epoch =
    opts.epoch ??
    (envEpoch !== undefined && /^\d+$/.test(envEpoch) ? Number(envEpoch) : (source?.time ?? 0));
  say(`building ${ref} from ${specPath} (SOURCE_DATE_EPOCH ${epoch})`);

  // resolution: the lock file when it matches the spec, else the verified index
  const lockPath = join(contextDir, "cleanimg.lock");
  const key = resolutionKey(spec);
  let lock: BuildLock | undefined;
  if (existsSync(lockPath)) {
    try {
      const l = JSON.parse(await readFile(lockPath, "utf8")) as BuildLock;
      if (l.lockVersion === 1 && l.resolutionKey === key) {
        lock = l;
      }
    } catch {
      throw new ToolError("CORE_INVALID_ARGUMENT", `${lockPath} is not a valid lock file`, {
        hint: "delete it to resolve again",
      });
    }
  }
  let lockWritten = false;
  if (!lock) {
    say(
      `resolving ${spec.packages.length} packages from ${spec.archive.uri} ${spec.archive.suite}${opts.offline ? " (offline: from the cached, verified index)" : ""}`,
    );
    const index = await loadArchiveIndex(spec, cacheDir(ctx), { offline: opts.offline === true });
    const pkgs = resolvePackages(index, spec.packages, installed);
    lock = {
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
    lockWritten = true;
    say(`wrote ${lockPath}: ${pkgs.length} packages`);
  }
  const lockBytes = new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`);
  const debs = [];
  for (const p of lock.packages) {
    debs.push({ pkg: p, path: await fetchDeb(ctx, lock.archive.uri, p, opts.offline === true) });
  }

  const osRelease = osReleasePlan(
    lock,
    base ? { name: base.name, hasOsRelease: baseHasOsRelease } : undefined,
    lock.archive.codename === undefined
      ? await cachedReleaseFields(spec, cacheDir(ctx), lock.archive.inRelease)
      : undefined,
  );
  say(
    osRelease.source.from === "none"
      ? `no /etc/os-release: ${osRelease.source.reason}`
      : `/etc/os-release: ${osRelease.source.from === "generated" ? `generated from the signed Release (${lock.archive.origin} ${lock.archive.version} ${lock.archive.codename})` : osRelease.source.from === "package" ? `from ${osRelease.source.package}` : `from the base image`}`,
  );
  // two independent assemblies from the verified inputs
  const roots = [
    await mkdtemp(join(tmpdir(), "cleanimg-build-a-")),
    await mkdtemp(join(tmpdir(), "cleanimg-build-b-")),
  ];
  try {
    const baseOpt = {
      ...(base ? { base: { name: base.name, image: base.image } } : {}),
      ...(osRelease.bytes ? { osRelease: osRelease.bytes } : {}),
    };
    const first = await assembleImage({
      spec,
      contextDir,
      debs,
      epoch,
      outDir: roots[0] as string,
      refName: "build",
      ...baseOpt,
    });
    say(`assembled ${first.manifestDigest}`);
    const second = await assembleImage({
      spec,
      contextDir,
      debs,
      epoch,
      outDir: roots[1] as string,
      refName: "build",
      ...baseOpt,
    });
    say(`rebuilt in a fresh root: ${second.manifestDigest}`);
    if (first.manifestDigest !== second.manifestDigest) {
      const diff = diffFiles(first.files, second.files);
      throw new ToolError(
        "CORE_DIGEST_MISMATCH",
        `the build is not reproducible: ${first.manifestDigest} then ${second.manifestDigest}; ${diff.length} differences: ${diff.slice(0, 10).join("; ")}`,
        { hint: "nothing was tagged; the differences name the files and fields" },
      );
    }
    await copyImageBetween(ctx, `oci:${roots[0]}:build`, `local:${ref}`);
    say(`tagged ${ref} in the local store`);
    const image = { name: ref, digest: first.manifestDigest };
    const store = ctx.evidence();
    const produced: { what: string; digest: string }[] = [{ what: "image", digest: image.digest }];
    const specDigest = await store.putBlob(new Uint8Array(specBytes), "application/yaml");
    await store.link(image.digest, specDigest, "build-spec");
    const lockDigest = await store.putBlob(lockBytes, LOCK_MEDIA_TYPE);
    await store.link(image.digest, lockDigest, "build-lock");
    const intotoLinks: { name: string; step: string; digest: Digest }[] = [];
    if (opts.intotoLinks) {
      const files = (
        await readdir(opts.intotoLinks).catch((e: NodeJS.ErrnoException) => {
          throw new ToolError(
            "CORE_INVALID_ARGUMENT",
            `cannot read the in-toto links in ${opts.intotoLinks}: ${e.code ?? e.message}`,
          );
        })
      )
        .filter((f) => f.endsWith(".link"))
        .sort();
      for (const f of files) {
        const d = await store.putBlob(
          new Uint8Array(await readFile(join(opts.intotoLinks, f))),
          "application/vnd.in-toto+json",
        );
        await store.link(image.digest, d, "intoto-link", { file: f });
        intotoLinks.push({ name: f, step: f.split(".").slice(0, -2).join("."), digest: d });
      }
    }
    produced.push(
      { what: "build spec", digest: specDigest },
      { what: "lock file", digest: lockDigest },
    );

    // rebuilt and matched, signed
    const repro = await signStatement(
      ctx,
      statement([{ name: ref, digest: image.digest }], REPRODUCIBLE_PREDICATE, {
        rebuilt: true,
        matched: true,
        digests: [first.manifestDigest, second.manifestDigest],
        method:
          "two independent assemblies in fresh temporary roots from the lock-pinned, sha256-verified inputs",
        sourceDateEpoch: epoch,
      }),
    );
    const reproDigest = await store.putBlob(
      repro.bytes,
      "application/vnd.dev.sigstore.bundle.v0.3+json",
    );
    await store.link(image.digest, reproDigest, "reproducibility");
    produced.push({ what: "rebuilt-and-matched attestation", digest: reproDigest });

    const finished = now();
    const invocationId = randomUUID();
    say(`finished`);
    const logDigest = await store.putBlob(
      new TextEncoder().encode(`${log.join("\n")}\n`),
      "text/plain",
    );
    await store.link(image.digest, logDigest, "build-log");
    produced.push({ what: "build log", digest: logDigest });

    // SLSA provenance v1, signed as a standard attestation, then linked into the chain
    const hex = (d: string): string => d.replace(/^sha256:/, "");
    const provenance = statement([{ name: ref, digest: image.digest }], SLSA_PROVENANCE_V1, {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          spec: {
            path: specPath.slice(contextDir.length + 1),
            digest: { sha256: hex(specDigest) },
          },
          image: ref,
          offline: opts.offline === true,
        },
        internalParameters: {
          sourceDateEpoch: epoch,
          assembly: assemblyRecord(lock, base),
          osRelease: osRelease.source,
        },
        resolvedDependencies: [
          ...(source
            ? [
                {
                  uri: `git+file://${contextDir}`,
                  digest: { gitCommit: source.commit },
                  annotations: { dirty: source.dirty, signature: source.signature },
                },
              ]
            : []),
          ...(base
            ? [{ uri: `oci://${base.name}`, digest: { sha256: hex(base.image.descriptor.digest) } }]
            : []),
          {
            uri: `${lock.archive.uri}/dists/${lock.archive.suite}/InRelease`,
            digest: { sha256: hex(lock.archive.inRelease) },
          },
          { name: "cleanimg.lock", digest: { sha256: hex(lockDigest) } },
          ...intotoLinks.map((l) => ({
            name: `in-toto:${l.name}`,
            digest: { sha256: hex(l.digest) },
            annotations: { step: l.step },
          })),
          ...first.files
            .filter((f) => f.from === "files" && f.sha256)
            .map((f) => ({ name: `context:${f.path}`, digest: { sha256: f.sha256 as string } })),
          ...lock.packages.map((p) => ({
            uri: `pkg:deb/debian/${p.name}@${encodeURIComponent(p.version)}?arch=${p.architecture}`,
            digest: { sha256: p.sha256 },
            name: p.filename,
          })),
        ],
      },
      runDetails: {
        builder: { id: BUILDER_ID, version: { cleanimg: TOOL.version } },
        metadata: {
          invocationId,
          startedOn: started.toISOString(),
          finishedOn: finished.toISOString(),
        },
        byproducts: [
          { name: "build.log", digest: { sha256: hex(logDigest) } },
          { name: "reproducibility", digest: { sha256: hex(reproDigest) } },
        ],
      },
    });
    const prov = await signStatement(ctx, provenance);
    const provDigest = await store.putBlob(
      prov.bytes,
      "application/vnd.dev.sigstore.bundle.v0.3+json",
    );
    await store.link(image.digest, provDigest, "provenance");
    const provLink = await recordChainLink(ctx, {
      image,
      stage: "provenance",
      evidence: {
        digest: provDigest,
        mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
        predicateType: SLSA_PROVENANCE_V1,
      },
      previous: [],
      inputs: {
        slsaBuildLevel: "1",
        builder: BUILDER_ID,
        base: spec.base,
        spec: specDigest,
        lock: lockDigest,
        reproducible: reproDigest,
        ...(source ? { sourceCommit: source.commit, sourceSignature: source.signature } : {}),
      },
      tool: `${TOOL.name} ${TOOL.version}`,
    });
    produced.push({ what: "SLSA provenance v1 (signed)", digest: provDigest });

    // the base image: which one, and whether the configuration approves it
    if (base) {
      const approvedList = (await loadConfig(ctx)).approvedBaseImages;
      const baseAtt = await signStatement(
        ctx,
        statement([{ name: ref, digest: image.digest }], BASE_IMAGE_PREDICATE, {
          base: { name: base.name, digest: base.image.descriptor.digest },
          approved: approvedList ? approvedList.includes(base.image.descriptor.digest) : null,
          approvedBaseImages: approvedList ?? null,
        }),
      );
      const d = await store.putBlob(baseAtt.bytes, "application/vnd.dev.sigstore.bundle.v0.3+json");
      await store.link(image.digest, d, "base-image");
      produced.push({ what: "base-image attestation (signed, logged)", digest: d });
    }

    // the image signature (a DSSE statement of cosign's signing predicate), signed and logged
    const sig = await signStatement(
      ctx,
      statement([{ name: ref, digest: image.digest }], IMAGE_SIGNATURE_PREDICATE, {}),
    );
    const sigDigest = await store.putBlob(
      sig.bytes,
      "application/vnd.dev.sigstore.bundle.v0.3+json",
    );
    await store.link(image.digest, sigDigest, IMAGE_SIGNATURE_KIND);
    produced.push({ what: "image signature (signed, logged)", digest: sigDigest });

    // the SBOM: SPDX 3.0.1 in the chain, CycloneDX 1.6 beside it
    const s = await generateSbom(ctx, `local:${ref}`, {
      format: "spdx-3",
      created: new Date(epoch * 1000),
      // the same build as the provenance: its type, invocation, times and spec
      build: {
        buildType: BUILD_TYPE,
        buildId: invocationId,
        // SPDX 3 DateTime: seconds, UTC
        startTime: `${started.toISOString().slice(0, 19)}Z`,
        endTime: `${finished.toISOString().slice(0, 19)}Z`,
        configSource: {
          uri: specPath.slice(contextDir.length + 1),
          sha256: specDigest.slice(7),
        },
        parameters: { image: ref, offline: String(opts.offline === true) },
      },
    });
    const cdx = await store.putBlob(
      new TextEncoder().encode(renderSbom(s.sbom, "cyclonedx-1.6")),
      "application/vnd.cyclonedx+json",
    );
    await store.link(image.digest, cdx, "sbom", {
      format: "cyclonedx-1.6",
      packages: String(s.sbom.packages.length),
    });
    produced.push(
      { what: "SBOM, SPDX 3.0.1 (signed, in the chain)", digest: s.evidence?.evidence ?? "" },
      { what: "SBOM, CycloneDX 1.6", digest: cdx },
    );
    const links = [provLink, ...(s.link ? [s.link] : [])];
    for (const l of links) {
      produced.push({ what: `chain link: ${l.stage} (signed, logged)`, digest: l.attestation });
    }
    return {
      image,
      lockPath,
      lockWritten,
      packages: lock.packages.length,
      epoch,
      ...(source
        ? { source: { commit: source.commit, dirty: source.dirty, signature: source.signature } }
        : {}),
      reproducible: { matched: true, digests: [first.manifestDigest, second.manifestDigest] },
      slsa: { level: 1, spec: "SLSA v1.0 Build track" },
      links,
      produced,
    };
  } finally {
    await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
    await base?.close();
  }
}
