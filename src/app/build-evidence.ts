import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Statement, statement } from "../attest/index.js";
import { type RecordedLink, recordChainLink, signStatement } from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import { putEvidence } from "../store/index.js";
import type { BuildLock, OpenBase, ReadSpec } from "./build-inputs.js";
import { assemblyRecord } from "./build-inputs.js";
import { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { TOOL } from "./sbom.js";

export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
export const BUILD_TYPE = "https://cleanimg.dev/build/debian-image/v1";
export const BUILDER_ID = "https://cleanimg.dev/builder/local/v1";
export const REPRODUCIBLE_PREDICATE = "https://cleanimg.dev/attestation/reproducible/v1";
export const BASE_IMAGE_PREDICATE = "https://cleanimg.dev/attestation/base-image/v1";
export const IMAGE_SIGNATURE_PREDICATE = "https://sigstore.dev/cosign/sign/v1";
export const IMAGE_SIGNATURE_KIND = "image-signature";
export const LOCK_MEDIA_TYPE = "application/vnd.cleanimg.build-lock.v1+json";
const BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json";

/** What was produced, by name and digest, in the order the build made it. */
export type Produced = { what: string; digest: string }[];

type Image = { readonly name: string; readonly digest: Digest };

const hex = (d: string): string => d.replace(/^sha256:/, "");

/** Signs a statement about the image and keeps its bundle, linked to the image as `kind`. */
async function signAndLink(
  ctx: AppContext,
  image: Image,
  predicateType: string,
  predicate: unknown,
  kind: string,
): Promise<Digest> {
  const signed = await signStatement(
    ctx,
    statement([{ name: image.name, digest: image.digest }], predicateType, predicate),
  );
  return (
    await putEvidence(ctx.evidence(), {
      bytes: signed.bytes,
      mediaType: BUNDLE,
      subject: image.digest,
      kind,
    })
  ).evidence;
}

/** The build's inputs kept as evidence: the spec, the lock and the CI's in-toto links. */
export async function recordBuildInputs(
  ctx: AppContext,
  image: Image,
  spec: ReadSpec,
  lockBytes: Uint8Array,
  intotoLinksDir: string | undefined,
): Promise<{
  specDigest: Digest;
  lockDigest: Digest;
  intotoLinks: { name: string; step: string; digest: Digest }[];
}> {
  const store = ctx.evidence();
  const keep = async (bytes: Uint8Array, mediaType: string, kind: string, file?: string) =>
    (
      await putEvidence(store, {
        bytes,
        mediaType,
        subject: image.digest,
        kind,
        ...(file ? { annotations: { file } } : {}),
      })
    ).evidence;
  const specDigest = await keep(spec.bytes, "application/yaml", "build-spec");
  const lockDigest = await keep(lockBytes, LOCK_MEDIA_TYPE, "build-lock");
  const intotoLinks: { name: string; step: string; digest: Digest }[] = [];
  if (intotoLinksDir) {
    const files = (
      await readdir(intotoLinksDir).catch((e: NodeJS.ErrnoException) => {
        throw new ToolError(
          "CORE_INPUT_UNREADABLE",
          `cannot read the in-toto links in ${intotoLinksDir}: ${e.code ?? e.message}`,
        );
      })
    )
      .filter((f) => f.endsWith(".link"))
      .sort();
    for (const f of files) {
      const bytes = new Uint8Array(await readFile(join(intotoLinksDir, f)));
      const d = await keep(bytes, "application/vnd.in-toto+json", "intoto-link", f);
      intotoLinks.push({ name: f, step: f.split(".").slice(0, -2).join("."), digest: d });
    }
  }
  return { specDigest, lockDigest, intotoLinks };
}

/** The signed statement that two independent assemblies gave the same digest. */
export function recordReproducibility(
  ctx: AppContext,
  image: Image,
  digests: readonly [Digest, Digest],
  epoch: number,
): Promise<Digest> {
  return signAndLink(
    ctx,
    image,
    REPRODUCIBLE_PREDICATE,
    {
      rebuilt: true,
      matched: true,
      digests,
      method:
        "two independent assemblies in fresh temporary roots from the lock-pinned, sha256-verified inputs",
      sourceDateEpoch: epoch,
    },
    "reproducibility",
  );
}

/** Everything the provenance statement is made from. */
export interface ProvenanceFacts {
  readonly image: Image;
  readonly spec: ReadSpec;
  readonly offline: boolean;
  readonly epoch: number;
  readonly lock: BuildLock;
  readonly base: OpenBase | undefined;
  readonly osRelease: unknown;
  readonly source?: { commit: string; dirty: boolean; signature: string };
  readonly specDigest: Digest;
  readonly lockDigest: Digest;
  readonly logDigest: Digest;
  readonly reproDigest: Digest;
  readonly intotoLinks: readonly { name: string; step: string; digest: Digest }[];
  /** The context files the assembly copied in, with their sha256. */
  readonly contextFiles: readonly { path: string; sha256: string }[];
  readonly invocationId: string;
  readonly started: Date;
  readonly finished: Date;
}

/** The resolved dependencies of the provenance: source, base, index, lock, links, files, .debs. */
function resolvedDependencies(f: ProvenanceFacts): unknown[] {
  const { source, base, lock } = f;
  return [
    ...(source
      ? [
          {
            uri: `git+file://${f.spec.contextDir}`,
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
    { name: "cleanimg.lock", digest: { sha256: hex(f.lockDigest) } },
    ...f.intotoLinks.map((l) => ({
      name: `in-toto:${l.name}`,
      digest: { sha256: hex(l.digest) },
      annotations: { step: l.step },
    })),
    ...f.contextFiles.map((c) => ({ name: `context:${c.path}`, digest: { sha256: c.sha256 } })),
    ...lock.packages.map((p) => ({
      uri: `pkg:deb/debian/${p.name}@${encodeURIComponent(p.version)}?arch=${p.architecture}`,
      digest: { sha256: p.sha256 },
      name: p.filename,
    })),
  ];
}

/** The SLSA provenance v1 statement of the build. */
export function provenanceStatement(f: ProvenanceFacts): Statement {
  return statement([{ name: f.image.name, digest: f.image.digest }], SLSA_PROVENANCE_V1, {
    buildDefinition: {
      buildType: BUILD_TYPE,
      externalParameters: {
        spec: {
          path: f.spec.path.slice(f.spec.contextDir.length + 1),
          digest: { sha256: hex(f.specDigest) },
        },
        image: f.image.name,
        offline: f.offline,
      },
      internalParameters: {
        sourceDateEpoch: f.epoch,
        assembly: assemblyRecord(f.lock, f.base),
        osRelease: f.osRelease,
      },
      resolvedDependencies: resolvedDependencies(f),
    },
    runDetails: {
      builder: { id: BUILDER_ID, version: { cleanimg: TOOL.version } },
      metadata: {
        invocationId: f.invocationId,
        startedOn: f.started.toISOString(),
        finishedOn: f.finished.toISOString(),
      },
      byproducts: [
        { name: "build.log", digest: { sha256: hex(f.logDigest) } },
        { name: "reproducibility", digest: { sha256: hex(f.reproDigest) } },
      ],
    },
  });
}

/** Signs the provenance, keeps it and links it into the chain as its first link. */
export async function recordProvenance(
  ctx: AppContext,
  f: ProvenanceFacts,
): Promise<{ digest: Digest; link: RecordedLink }> {
  const prov = await signStatement(ctx, provenanceStatement(f));
  const digest = (
    await putEvidence(ctx.evidence(), {
      bytes: prov.bytes,
      mediaType: BUNDLE,
      subject: f.image.digest,
      kind: "provenance",
    })
  ).evidence;
  const link = await recordChainLink(ctx, {
    image: f.image,
    stage: "provenance",
    evidence: { digest, mediaType: BUNDLE, predicateType: SLSA_PROVENANCE_V1 },
    previous: [],
    inputs: {
      slsaBuildLevel: "1",
      builder: BUILDER_ID,
      base: f.spec.spec.base,
      spec: f.specDigest,
      lock: f.lockDigest,
      reproducible: f.reproDigest,
      ...(f.source ? { sourceCommit: f.source.commit, sourceSignature: f.source.signature } : {}),
    },
    tool: `${TOOL.name} ${TOOL.version}`,
  });
  return { digest, link };
}

/** Which base image, and whether the configuration's approved list has it, signed and logged. */
export async function recordBaseImage(
  ctx: AppContext,
  image: Image,
  base: OpenBase,
): Promise<Digest> {
  const approvedList = (await loadConfig(ctx)).approvedBaseImages;
  return signAndLink(
    ctx,
    image,
    BASE_IMAGE_PREDICATE,
    {
      base: { name: base.name, digest: base.image.descriptor.digest },
      approved: approvedList ? approvedList.includes(base.image.descriptor.digest) : null,
      approvedBaseImages: approvedList ?? null,
    },
    "base-image",
  );
}

/** The image signature: a DSSE statement of cosign's signing predicate, signed and logged. */
export function recordImageSignature(ctx: AppContext, image: Image): Promise<Digest> {
  return signAndLink(ctx, image, IMAGE_SIGNATURE_PREDICATE, {}, IMAGE_SIGNATURE_KIND);
}
