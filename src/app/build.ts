import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assembleImage, type BuildSpec, diffFiles, type LockedPackage } from "../build/index.js";
import type { RecordedLink } from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import { renderSbom } from "../sbom/index.js";
import { putEvidence } from "../store/index.js";
import {
  BUILD_TYPE,
  type Produced,
  recordBaseImage,
  recordBuildInputs,
  recordImageSignature,
  recordProvenance,
  recordReproducibility,
} from "./build-evidence.js";
import {
  fetchDebs,
  gitSource,
  type OpenBase,
  openBase,
  type ReadSpec,
  readBuildSpec,
  resolveLock,
} from "./build-inputs.js";
import { planOsRelease } from "./build-os-release.js";
import type { AppContext } from "./context.js";
import { copyImageBetween } from "./images.js";
import { generateSbom } from "./sbom.js";

export {
  BASE_IMAGE_PREDICATE,
  BUILD_TYPE,
  BUILDER_ID,
  IMAGE_SIGNATURE_KIND,
  IMAGE_SIGNATURE_PREDICATE,
  LOCK_MEDIA_TYPE,
  REPRODUCIBLE_PREDICATE,
  SLSA_PROVENANCE_V1,
} from "./build-evidence.js";
export {
  ASSEMBLY_INPUTS_PINNED,
  ASSEMBLY_NO_NETWORK,
  type AssemblyRecord,
  type BuildLock,
  cacheDir,
} from "./build-inputs.js";
export { osReleasePlan } from "./build-os-release.js";

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

/** The build's log: each line timestamped, and shown as progress. */
function buildJournal(ctx: AppContext, now: () => Date) {
  const lines: string[] = [];
  return {
    say(m: string): void {
      lines.push(`${now().toISOString()} ${m}`);
      ctx.progress(m);
    },
    bytes: (): Uint8Array => new TextEncoder().encode(`${lines.join("\n")}\n`),
  };
}

type Assembled = Awaited<ReturnType<typeof assembleImage>>;

/**
 * Assembles the image twice in fresh temporary roots and requires the same digest, then tags the
 * first in the local store. The roots are removed whatever happens.
 * @throws ToolError CORE_DIGEST_MISMATCH naming the differences when the digests differ
 */
async function assembleTwiceAndTag(
  ctx: AppContext,
  a: {
    spec: BuildSpec;
    contextDir: string;
    debs: { pkg: LockedPackage; path: string }[];
    epoch: number;
    base: OpenBase | undefined;
    osRelease: Uint8Array | undefined;
    ref: string;
  },
  say: (m: string) => void,
): Promise<{ first: Assembled; second: Assembled }> {
  const roots = [
    await mkdtemp(join(tmpdir(), "cleanimg-build-a-")),
    await mkdtemp(join(tmpdir(), "cleanimg-build-b-")),
  ];
  try {
    const assemble = (outDir: string) =>
      assembleImage({
        spec: a.spec,
        contextDir: a.contextDir,
        debs: a.debs,
        epoch: a.epoch,
        outDir,
        refName: "build",
        ...(a.base ? { base: { name: a.base.name, image: a.base.image } } : {}),
        ...(a.osRelease ? { osRelease: a.osRelease } : {}),
      });
    const first = await assemble(roots[0] as string);
    say(`assembled ${first.manifestDigest}`);
    const second = await assemble(roots[1] as string);
    say(`rebuilt in a fresh root: ${second.manifestDigest}`);
    if (first.manifestDigest !== second.manifestDigest) {
      const diff = diffFiles(first.files, second.files);
      throw new ToolError(
        "CORE_DIGEST_MISMATCH",
        `the build is not reproducible: ${first.manifestDigest} then ${second.manifestDigest}; ${diff.length} differences: ${diff.slice(0, 10).join("; ")}`,
        { hint: "nothing was tagged; the differences name the files and fields" },
      );
    }
    await copyImageBetween(ctx, `oci:${roots[0]}:build`, `local:${a.ref}`);
    say(`tagged ${a.ref} in the local store`);
    return { first, second };
  } finally {
    await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
  }
}

/** The SBOM: SPDX 3.0.1 in the chain (with the build's facts), CycloneDX 1.6 beside it. */
async function recordSboms(
  ctx: AppContext,
  image: { name: string; digest: Digest },
  b: {
    spec: ReadSpec;
    specDigest: Digest;
    epoch: number;
    invocationId: string;
    started: Date;
    finished: Date;
    offline: boolean;
  },
  produced: Produced,
): Promise<RecordedLink | undefined> {
  const s = await generateSbom(ctx, `local:${image.name}`, {
    format: "spdx-3",
    created: new Date(b.epoch * 1000),
    // the same build as the provenance: its type, invocation, times and spec
    build: {
      buildType: BUILD_TYPE,
      buildId: b.invocationId,
      // SPDX 3 DateTime: seconds, UTC
      startTime: `${b.started.toISOString().slice(0, 19)}Z`,
      endTime: `${b.finished.toISOString().slice(0, 19)}Z`,
      configSource: {
        uri: b.spec.path.slice(b.spec.contextDir.length + 1),
        sha256: b.specDigest.slice(7),
      },
      parameters: { image: image.name, offline: String(b.offline) },
    },
  });
  const cdx = await putEvidence(ctx.evidence(), {
    bytes: new TextEncoder().encode(renderSbom(s.sbom, "cyclonedx-1.6")),
    mediaType: "application/vnd.cyclonedx+json",
    subject: image.digest,
    kind: "sbom",
    annotations: { format: "cyclonedx-1.6", packages: String(s.sbom.packages.length) },
  });
  produced.push(
    { what: "SBOM, SPDX 3.0.1 (signed, in the chain)", digest: s.evidence?.evidence ?? "" },
    { what: "SBOM, CycloneDX 1.6", digest: cdx.evidence },
  );
  return s.link;
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
  const journal = buildJournal(ctx, now);
  const say = journal.say;
  const spec = await readBuildSpec(opts);
  const offline = opts.offline === true;
  const base = await openBase(ctx, spec.spec);
  try {
    const source = await gitSource(spec.contextDir);
    const envEpoch = ctx.settings.sourceDateEpoch;
    const epoch =
      opts.epoch ??
      (envEpoch !== undefined && /^\d+$/.test(envEpoch) ? Number(envEpoch) : (source?.time ?? 0));
    say(`building ${spec.ref} from ${spec.path} (SOURCE_DATE_EPOCH ${epoch})`);
    const installed = base?.installed ?? [];
    const { lock, lockPath, lockWritten } = await resolveLock(
      ctx,
      spec.spec,
      spec.contextDir,
      { installed, offline },
      say,
    );
    const lockBytes = new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`);
    const debs = await fetchDebs(ctx, lock, offline);
    const osRelease = await planOsRelease(ctx, spec.spec, lock, base, say);
    const { first, second } = await assembleTwiceAndTag(
      ctx,
      { ...spec, spec: spec.spec, debs, epoch, base, osRelease: osRelease.bytes },
      say,
    );
    const image = { name: spec.ref, digest: first.manifestDigest };
    const digests: [Digest, Digest] = [first.manifestDigest, second.manifestDigest];
    const produced: Produced = [{ what: "image", digest: image.digest }];
    const inputs = await recordBuildInputs(ctx, image, spec, lockBytes, opts.intotoLinks);
    produced.push(
      { what: "build spec", digest: inputs.specDigest },
      { what: "lock file", digest: inputs.lockDigest },
    );
    const reproDigest = await recordReproducibility(ctx, image, digests, epoch);
    produced.push({ what: "rebuilt-and-matched attestation", digest: reproDigest });
    const finished = now();
    const invocationId = randomUUID();
    say(`finished`);
    const logDigest = (
      await putEvidence(ctx.evidence(), {
        bytes: journal.bytes(),
        mediaType: "text/plain",
        subject: image.digest,
        kind: "build-log",
      })
    ).evidence;
    produced.push({ what: "build log", digest: logDigest });
    const prov = await recordProvenance(ctx, {
      image,
      spec,
      offline,
      epoch,
      lock,
      base,
      osRelease: osRelease.source,
      ...(source ? { source } : {}),
      ...inputs,
      logDigest,
      reproDigest,
      contextFiles: first.files
        .filter((f) => f.from === "files" && f.sha256)
        .map((f) => ({ path: f.path, sha256: f.sha256 as string })),
      invocationId,
      started,
      finished,
    });
    produced.push({ what: "SLSA provenance v1 (signed)", digest: prov.digest });
    if (base) {
      const d = await recordBaseImage(ctx, image, base);
      produced.push({ what: "base-image attestation (signed, logged)", digest: d });
    }
    const sigDigest = await recordImageSignature(ctx, image);
    produced.push({ what: "image signature (signed, logged)", digest: sigDigest });
    const sbomLink = await recordSboms(
      ctx,
      image,
      { spec, specDigest: inputs.specDigest, epoch, invocationId, started, finished, offline },
      produced,
    );
    const links = [prov.link, ...(sbomLink ? [sbomLink] : [])];
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
      reproducible: { matched: true, digests },
      slsa: { level: 1, spec: "SLSA v1.0 Build track" },
      links,
      produced,
    };
  } finally {
    await base?.close();
  }
}
