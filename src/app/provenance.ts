import { readFile } from "node:fs/promises";
import { verifySigstoreBundle } from "../attest/index.js";
import { sha256 } from "../core/digest.js";
import { AttestError, ToolError } from "../core/errors.js";

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
  const read = (p: string) =>
    readFile(p).catch((e: NodeJS.ErrnoException) => {
      throw new ToolError("CORE_INVALID_ARGUMENT", `cannot read ${p}: ${e.code ?? e.message}`);
    });
  const artifact = new Uint8Array(await read(artifactPath));
  const root = JSON.parse((await read(opts.trustedRoot)).toString("utf8"));
  const lines = (await read(provenancePath))
    .toString("utf8")
    .split("\n")
    .filter((l) => l.trim());
  const failures: string[] = [];
  for (const line of lines) {
    try {
      const bundle = JSON.parse(line);
      const v = verifySigstoreBundle(bundle, { artifact, trustedRoot: root, issuer: GITHUB_OIDC });
      if (!v.dsse) {
        throw new AttestError("ATTEST_VERIFY_FAILED", "the bundle holds no DSSE attestation");
      }
      const st = JSON.parse(new TextDecoder().decode(v.dsse.payload)) as {
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
      failures.push((e as Error).message);
    }
  }
  throw new AttestError(
    "ATTEST_VERIFY_FAILED",
    `no provenance in ${provenancePath} verifies: ${failures.join("; ") || "the file is empty"}`,
  );
}
