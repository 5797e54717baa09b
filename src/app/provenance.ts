import { isAbout, verifySigstoreBundle } from "../attest/index.js";
import type { LinkReport } from "../chain/index.js";
import { evidenceTrust, verifyEvidence } from "../chain/index.js";
import type { BuildProperties, BuildProperty } from "../compliance/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { AttestError, isToolError, ToolError } from "../core/errors.js";
import { readInput } from "../core/input.js";
import { parseJson } from "../core/json.js";
import {
  ASSEMBLY_INPUTS_PINNED,
  ASSEMBLY_NO_NETWORK,
  type AssemblyRecord,
  BUILDER_ID,
  SLSA_PROVENANCE_V1,
} from "./build.js";
import type { AppContext } from "./context.js";

/**
 * `verify-provenance` in the manner of slsa-verifier, for any builder that signs SLSA provenance
 * into Sigstore bundles (GitHub artifact attestations, slsa-github-generator, cleanimg): the
 * bundle verifies offline against the trusted root, the artifact is a subject, the signing
 * identity is the builder asked for, and the provenance names the source asked for. The SLSA
 * Build level is not asserted from the provenance alone: it is a property of the builder.
 */

const GITHUB_OIDC = "https://token.actions.githubusercontent.com";

export interface ProvenanceVerification {
  readonly artifact: string;
  readonly builder: string;
  readonly source: string;
  readonly predicateType: string;
}

/** "https://github.com/org/repo.git@refs/x" and "git+https://…" to "github.com/org/repo". */
function normalizeSource(s: string): string {
  return s
    .replace(/^git\+/, "")
    .replace(/^[a-z]+:\/\//, "")
    .replace(/@.*$/, "")
    .replace(/\.git$/, "")
    .replace(/\/+$/, "");
}

type Json = { readonly [k: string]: Json } | string | undefined;
const at = (v: Json, ...path: string[]): Json =>
  path.reduce<Json>((o, k) => (o && typeof o === "object" ? o[k] : undefined), v);

function sourceOf(predicateType: string, predicate: Json): string | undefined {
  const pick = (v: Json): string | undefined => (typeof v === "string" ? v : undefined);
  if (predicateType === "https://slsa.dev/provenance/v1") {
    const ext = at(predicate, "buildDefinition", "externalParameters");
    return (
      pick(at(ext, "workflow", "repository")) ??
      pick(at(ext, "source", "uri")) ??
      pick(at(ext, "source"))
    );
  }
  if (predicateType === "https://slsa.dev/provenance/v0.2") {
    return pick(at(predicate, "invocation", "configSource", "uri"));
  }
  return undefined;
}

/**
 * @throws AttestError ATTEST_VERIFY_FAILED naming the check that failed
 */
export async function verifyProvenanceFile(
  artifactPath: string,
  provenancePath: string,
  opts: { sourceUri: string; builderId?: string; trustedRoot: string },
): Promise<ProvenanceVerification> {
  const artifact = new Uint8Array(await readInput(artifactPath, "the artifact"));
  let root: unknown;
  try {
    root = parseJson(await readInput(opts.trustedRoot, "the trusted root"), opts.trustedRoot);
  } catch (e) {
    if (isToolError(e)) {
      throw e;
    }
    throw new ToolError(
      "CORE_CONFIG_INVALID",
      `the trusted root ${opts.trustedRoot} is not JSON: ${(e as Error).message}`,
      { hint: "give Sigstore's trusted_root.json" },
    );
  }
  const lines = (await readInput(provenancePath, "the provenance"))
    .toString("utf8")
    .split("\n")
    .filter((l) => l.trim());
  const failures: string[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      const bundle = parseJson(line, `${provenancePath} line ${i + 1}`);
      const v = verifySigstoreBundle(bundle, { artifact, trustedRoot: root, issuer: GITHUB_OIDC });
      if (!v.dsse) {
        throw new AttestError("ATTEST_VERIFY_FAILED", "the bundle holds no DSSE attestation");
      }
      const st = parseJson(v.dsse.payload, `the statement in ${provenancePath}`) as {
        predicateType: string;
        predicate: Json;
      };
      if (!/^https:\/\/slsa\.dev\/provenance\/v(1|0\.2)$/.test(st.predicateType)) {
        throw new AttestError("ATTEST_VERIFY_FAILED", `not SLSA provenance (${st.predicateType})`);
      }
      const san = v.identity?.subjectAlternativeName ?? "";
      const builder = san.replace(/@.*$/, "");
      if (!opts.builderId) {
        throw new AttestError(
          "ATTEST_VERIFY_FAILED",
          `untrusted builder ${builder}: give the builder you trust with --builder-id`,
        );
      }
      if (builder !== opts.builderId.replace(/@.*$/, "")) {
        throw new AttestError(
          "ATTEST_VERIFY_FAILED",
          `built by ${builder}, not the expected builder ${opts.builderId}`,
        );
      }
      const source = sourceOf(st.predicateType, st.predicate);
      if (!source || normalizeSource(source) !== normalizeSource(opts.sourceUri)) {
        throw new AttestError(
          "ATTEST_VERIFY_FAILED",
          `the provenance names source ${source ?? "(none)"}, not ${opts.sourceUri}`,
        );
      }
      return { artifact: sha256(artifact), builder, source, predicateType: st.predicateType };
    } catch (e) {
      if (isToolError(e) && e.code === "CORE_LIMIT_EXCEEDED") {
        throw e; // hostile input, not a provenance that does not verify
      }
      failures.push((e as Error).message);
    }
  }
  throw new AttestError(
    "ATTEST_VERIFY_FAILED",
    `no provenance in ${provenancePath} verifies: ${failures.join("; ") || "the file is empty"}`,
  );
}

/**
 * What a cleanimg build's signed records show about the build, for the compliance status and the
 * policy input: only what a verified signature covers, and only what verification can check.
 */

/** The SLSA provenance v1 predicate as cleanimg's builder writes it (the parts read here). */
interface BuildPredicate {
  readonly buildDefinition?: {
    readonly buildType?: string;
    readonly internalParameters?: { readonly assembly?: AssemblyRecord };
    readonly resolvedDependencies?: readonly {
      readonly uri?: string;
      readonly name?: string;
      readonly digest?: Readonly<Record<string, string>>;
    }[];
  };
  readonly runDetails?: { readonly builder?: { readonly id?: string } };
}

/** The build's SLSA provenance, verified: the chain's provenance link's document. */
export async function verifiedBuildProvenance(
  ctx: AppContext,
  image: Digest,
  prov: LinkReport,
): Promise<
  | { readonly predicate: BuildPredicate; readonly evidence: readonly string[] }
  | { readonly error: string; readonly evidence: readonly string[] }
> {
  const evidence = [prov.attestation, prov.evidence].filter((d): d is Digest => Boolean(d));
  // stale: verified, with a newer upstream link; what it signs about this build still holds
  if ((prov.state !== "valid" && prov.state !== "stale") || !prov.evidence) {
    return {
      error:
        prov.state === "not-recorded"
          ? "no provenance is recorded for this image"
          : `the provenance link is ${prov.state}: ${prov.reason ?? ""}`,
      evidence,
    };
  }
  try {
    const v = verifyEvidence(
      (await ctx.evidence().getBlob(prov.evidence)).bytes,
      await evidenceTrust(ctx),
    );
    if (v.statement.predicateType !== SLSA_PROVENANCE_V1) {
      throw new Error(`the provenance document is ${v.statement.predicateType}, not SLSA v1`);
    }
    if (!isAbout(v.statement, image)) {
      throw new Error("the provenance is not about this image");
    }
    return { predicate: v.statement.predicate as BuildPredicate, evidence };
  } catch (e) {
    return { error: `the provenance does not verify: ${(e as Error).message}`, evidence };
  }
}

export type { BuildProperties, BuildProperty } from "../compliance/index.js";

export const HEX = /^[0-9a-f]{64}$/;

/** Dependencies of the provenance not pinned by a digest (sha256, or a git commit). */
function unpinned(p: BuildPredicate): string[] {
  return (p.buildDefinition?.resolvedDependencies ?? [])
    .filter(
      (d) =>
        !HEX.test(d.digest?.["sha256"] ?? "") &&
        !/^[0-9a-f]{40,64}$/.test(d.digest?.["gitCommit"] ?? ""),
    )
    .map((d) => d.uri ?? d.name ?? "(unnamed)");
}

/** Packages of the lock (when its bytes are here) the provenance does not list by that sha256. */
async function lockOutsideProvenance(ctx: AppContext, p: BuildPredicate): Promise<string[]> {
  const deps = p.buildDefinition?.resolvedDependencies ?? [];
  const lock = deps.find((d) => d.name === "cleanimg.lock")?.digest?.["sha256"];
  if (!lock || !HEX.test(lock)) {
    return [];
  }
  const d = `sha256:${lock}` as Digest;
  if (!(await ctx.evidence().hasBlob(d))) {
    return [];
  }
  const doc = JSON.parse(new TextDecoder().decode((await ctx.evidence().getBlob(d)).bytes)) as {
    packages?: { name: string; sha256?: string }[];
  };
  const listed = new Set(deps.map((x) => x.digest?.["sha256"]));
  return (doc.packages ?? [])
    .filter((x) => !HEX.test(x.sha256 ?? "") || !listed.has(x.sha256))
    .map((x) => x.name);
}

/**
 * Hermetic and isolated, from the verified provenance of cleanimg's builder: hermetic is true only
 * when it records no network during assembly and every input pinned, and every dependency it lists
 * (and every package of the lock, when the lock is here) is pinned by digest; false when it records
 * otherwise; "unknown" when no verified provenance of this builder records it. Isolated is false
 * when the provenance records no sandbox, and "unknown" otherwise: this version cannot check one.
 * Neither is derived from reproducibility.
 */
export async function buildProperties(
  ctx: AppContext,
  image: Digest,
  prov: LinkReport,
): Promise<BuildProperties> {
  const v = await verifiedBuildProvenance(ctx, image, prov);
  if ("error" in v) {
    return { hermetic: "unknown", isolated: "unknown", detail: v.error, evidence: v.evidence };
  }
  const p = v.predicate;
  const assembly = p.buildDefinition?.internalParameters?.assembly;
  if (p.runDetails?.builder?.id !== BUILDER_ID || !assembly) {
    return {
      hermetic: "unknown",
      isolated: "unknown",
      detail: `the provenance (builder ${p.runDetails?.builder?.id ?? "unnamed"}) records nothing about the assembly's network, inputs or environment`,
      evidence: v.evidence,
    };
  }
  const loose = [...unpinned(p), ...(await lockOutsideProvenance(ctx, p))];
  const [hermetic, why]: [BuildProperty, string] =
    loose.length > 0
      ? [false, `inputs not pinned by digest: ${loose.slice(0, 5).join(", ")}`]
      : assembly.network !== undefined && assembly.network !== ASSEMBLY_NO_NETWORK
        ? [false, `the assembly used the network (${assembly.network})`]
        : assembly.network === ASSEMBLY_NO_NETWORK && assembly.inputs === ASSEMBLY_INPUTS_PINNED
          ? [true, "no network during assembly, every input pinned by sha256"]
          : ["unknown", "the provenance does not record both no network and pinned inputs"];
  const sandbox = assembly.environment?.sandbox;
  const isolated: BuildProperty = sandbox === "none" ? false : "unknown";
  return {
    hermetic,
    isolated,
    detail: `${why}; ${sandbox === "none" ? "the assembly ran in the build host's process, with no sandbox" : "no sandbox this version can check is recorded"}`,
    evidence: v.evidence,
  };
}
