import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type ChainReport,
  evidenceTrust,
  identities,
  type LinkReport,
  type RecordedLink,
  recordChainLink,
  verifyChain,
  verifyEvidence,
} from "../chain/index.js";
import { type Digest, isDigest, sha256 } from "../core/digest.js";
import { OciError, ToolError, UsageError } from "../core/errors.js";
import {
  DEFAULT_POLICY,
  evaluatePolicy,
  type Policy,
  type PolicyDecision,
  parsePolicy,
} from "../policy/index.js";
import type { VexStatement } from "../vex/index.js";
import { keyOfFinding, keyOfStatement } from "../vex/index.js";
import type { Finding } from "../vuln/index.js";
import { signedBaseImage } from "./base-image.js";
import { BUILDER_ID, IMAGE_SIGNATURE_KIND, IMAGE_SIGNATURE_PREDICATE } from "./build.js";
import { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { resolveSubject } from "./images.js";
import { buildProperties } from "./provenance.js";
import { TOOL } from "./sbom.js";

const run = promisify(execFile);

export const POLICY_DECISION_MEDIA_TYPE = "application/vnd.cleanimg.policy-decision.v1+json";

type Json = <T>(d: Digest | undefined) => Promise<T | undefined>;

/** The vulnerabilities and VEX view of the input, from the verified scan and VEX links only. */
async function vulnerabilityInput(scan: LinkReport, vex: LinkReport, json: Json) {
  const ok = (l: LinkReport): boolean => l.state === "valid";
  const scanDoc = ok(scan)
    ? await json<{ findings: Finding[]; unassessed?: { packages: number }[] }>(scan.evidence)
    : undefined;
  const vexDoc = ok(vex) ? await json<{ statements: VexStatement[] }>(vex.evidence) : undefined;
  const statements = vexDoc?.statements ?? [];
  const statusOf = new Map(statements.map((s) => [keyOfStatement(s), s]));
  const vulnerabilities = (scanDoc?.findings ?? []).map((f) => {
    const s = statusOf.get(keyOfFinding(f));
    return {
      id: f.id,
      package: f.package.name,
      version: f.package.version,
      purl: f.package.purl,
      severity: f.rating?.severity ?? "UNKNOWN",
      status: s?.status ?? "unassessed",
      ...(s?.justification ? { justification: s.justification } : {}),
    };
  });
  const unassessed = (scanDoc?.unassessed ?? []).reduce((n, u) => n + u.packages, 0);
  const count = (st: string): number => vulnerabilities.filter((v) => v.status === st).length;
  return {
    vulnerabilities,
    vex: {
      present: vex.state !== "not-recorded",
      verified: ok(vex) && ok(scan),
      complete:
        ok(vex) &&
        ok(scan) &&
        vulnerabilities.every((v) => v.status !== "unassessed") &&
        unassessed === 0,
      unassessedPackages: unassessed,
      statements: statements.length,
      affected: count("affected"),
      not_affected: count("not_affected"),
      fixed: count("fixed"),
      under_investigation: count("under_investigation"),
      ...(vex.evidence ? { digest: vex.evidence } : {}),
    },
  };
}

/** The image's newest signature, verified: present, valid (about this image), its signer. */
async function signatureInput(ctx: AppContext, digest: Digest): Promise<Record<string, unknown>> {
  const store = ctx.evidence();
  const sigs = await store.find({ subject: digest, kind: IMAGE_SIGNATURE_KIND });
  const sig = sigs[sigs.length - 1];
  if (!sig) {
    return { present: false, valid: false, signer: "" };
  }
  try {
    const v = verifyEvidence((await store.getBlob(sig.evidence)).bytes, await evidenceTrust(ctx));
    const about = v.statement.subject.some((s) => `sha256:${s.digest["sha256"]}` === digest);
    return {
      present: true,
      valid: about && v.statement.predicateType === IMAGE_SIGNATURE_PREDICATE,
      signer: v.keyids[0] ?? "",
      digest: sig.evidence,
    };
  } catch (e) {
    return {
      present: true,
      valid: false,
      signer: "",
      error: (e as Error).message,
      digest: sig.evidence,
    };
  }
}

/** Provenance, SBOM and build facts, from the verified provenance and SBOM links only. */
async function buildInput(ctx: AppContext, digest: Digest, prov: LinkReport, sbom: LinkReport) {
  const ok = (l: LinkReport): boolean => l.state === "valid";
  const pin = prov.predicate?.inputs ?? {};
  // hermetic and isolated: from the verified provenance only
  const built = await buildProperties(ctx, digest, prov);
  return {
    provenance: {
      present: prov.state !== "not-recorded",
      verified: ok(prov),
      level: ok(prov) ? Number(pin["slsaBuildLevel"] ?? 0) : 0,
      slsaVersion: "v1.0",
      builder: pin["builder"] ?? "",
      ...(prov.evidence ? { digest: prov.evidence } : {}),
    },
    sbom: {
      present: sbom.state !== "not-recorded",
      verified: ok(sbom),
      format:
        sbom.predicate?.inputs["format"] === "spdx-3"
          ? "spdx-3.0.1"
          : (sbom.predicate?.inputs["format"] ?? ""),
      packages: Number(sbom.predicate?.inputs["packages"] ?? 0),
      ...(sbom.evidence ? { digest: sbom.evidence } : {}),
    },
    build: {
      present: ok(prov),
      tool: ok(prov) && pin["builder"] === BUILDER_ID ? "cleanimg" : "",
      reproducible: ok(prov) && Boolean(pin["reproducible"]),
      hermetic: built.hermetic,
      isolated: built.isolated,
      detail: built.detail,
    },
  };
}

/** The base image from the verified base-image attestation, and whether config approves it. */
async function baseInput(ctx: AppContext, digest: Digest, prov: LinkReport) {
  const approved = (await loadConfig(ctx)).approvedBaseImages;
  const base = await signedBaseImage(ctx, digest, prov);
  return {
    name: base.kind === "scratch" ? "scratch" : base.kind === "image" ? base.name : "",
    digest: base.kind === "image" ? base.digest : "",
    signed: base.kind === "scratch" || base.kind === "image",
    approved:
      base.kind === "scratch"
        ? true
        : base.kind === "image" && approved
          ? approved.includes(base.digest)
          : null,
  };
}

/**
 * The policy input document of an image (documented in docs/policy.md), assembled from its
 * verified evidence chain: what a rule can rely on is only what verified evidence shows.
 */
export async function policyInput(
  ctx: AppContext,
  ref: string,
  /** The name to give the image (default: `ref`), e.g. a pod's image when `ref` is a digest. */
  name = ref,
  /** The image's chain, when the caller has just verified it. */
  verified?: ChainReport,
): Promise<{ input: Record<string, unknown>; digest: Digest; links: readonly LinkReport[] }> {
  const img = await resolveSubject(ctx, ref);
  const digest = img.digest;
  const chain = verified?.image === digest ? verified : await verifyChain(ctx, digest);
  const store = ctx.evidence();
  const link = (s: LinkReport["stage"]): LinkReport =>
    chain.links.find((l) => l.stage === s) as LinkReport;
  const json: Json = async <T>(d: Digest | undefined): Promise<T | undefined> =>
    d ? (JSON.parse(new TextDecoder().decode((await store.getBlob(d)).bytes)) as T) : undefined;
  const prov = link("provenance");
  const vulns = await vulnerabilityInput(link("scan"), link("vex"), json);
  const signature = await signatureInput(ctx, digest);
  const { signing } = await identities(ctx);
  const facts = await buildInput(ctx, digest, prov, link("sbom"));
  const base = await baseInput(ctx, digest, prov);
  const input = {
    image: {
      name,
      digest,
      provenance: facts.provenance,
      sbom: facts.sbom,
      vulnerabilities: vulns.vulnerabilities,
      vex: vulns.vex,
      signature,
      build: facts.build,
      base,
      chain: {
        intact: chain.intact,
        ...(chain.firstBroken ? { firstBroken: chain.firstBroken } : {}),
      },
    },
    trust: { signingKey: signing.keyid },
  };
  return { input, digest, links: chain.links };
}

export interface PolicyEvaluation {
  readonly image: { readonly reference: string; readonly digest: Digest };
  readonly policy: {
    readonly name: string;
    readonly digest: Digest;
    readonly engine: "cel" | "rego";
  };
  readonly decision: PolicyDecision;
  readonly link?: RecordedLink;
}

/** Loads a policy file (CEL in YAML/JSON), or the default policy. */
export async function loadPolicy(path?: string): Promise<{ policy: Policy; bytes: Uint8Array }> {
  if (!path) {
    return {
      policy: DEFAULT_POLICY,
      bytes: new TextEncoder().encode(JSON.stringify(DEFAULT_POLICY)),
    };
  }
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError("CLI_USAGE", `cannot read the policy ${path}: ${e.code ?? e.message}`);
  });
  return { policy: parsePolicy(bytes.toString("utf8"), path), bytes: new Uint8Array(bytes) };
}

/** Evaluates a Rego policy with OPA (`opa` on PATH); the decision is `data.<package>.allow`. */
async function evaluateRego(path: string, input: unknown, query: string): Promise<PolicyDecision> {
  const dir = await mkdtemp(join(tmpdir(), "cleanimg-opa-"));
  try {
    await writeFile(join(dir, "input.json"), JSON.stringify(input));
    const out = await run("opa", [
      "eval",
      "--format",
      "json",
      "-d",
      path,
      "-i",
      join(dir, "input.json"),
      query,
    ]).catch((e: NodeJS.ErrnoException & { stderr?: string }) => {
      if (e.code === "ENOENT") {
        throw new ToolError(
          "CORE_INVALID_ARGUMENT",
          `${path} is a Rego policy, and OPA is not installed`,
          {
            hint: "install the opa executable (openpolicyagent.org) on PATH, or write the policy in CEL (docs/policy.md)",
          },
        );
      }
      throw new ToolError("CORE_INVALID_ARGUMENT", `opa eval failed: ${e.stderr ?? e.message}`);
    });
    const r = JSON.parse(out.stdout) as { result?: { expressions?: { value?: unknown }[] }[] };
    const allow = r.result?.[0]?.expressions?.[0]?.value === true;
    return {
      policy: path,
      allow,
      rules: [{ name: query, result: allow ? "pass" : "fail", message: `${query} must be true` }],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Evaluates a policy against an image's verified evidence and records the decision as the
 * chain's policy link (signed, logged, audited), naming every link it read.
 */
/**
 * Refuses a bare digest that names no image here: neither the local image store nor the
 * evidence store holds anything of it, so a decision about it would be about nothing.
 * @throws OciError OCI_MANIFEST_UNKNOWN (exit 3)
 */
async function assertImageHeld(ctx: AppContext, digest: Digest): Promise<void> {
  if (await ctx.local.findDigest(digest)) {
    return;
  }
  if ((await ctx.evidence().find({ subject: digest, limit: 1 })).length > 0) {
    return;
  }
  throw new OciError(
    "OCI_MANIFEST_UNKNOWN",
    `no image with digest ${digest} in the store (neither the local image store nor its evidence)`,
    {
      hint: "give a digest of an image here (cleanimg-init image ls), or import its evidence first (cleanimg-init evidence import FILE or evidence pull REF)",
    },
  );
}

export async function evaluateImagePolicy(
  ctx: AppContext,
  ref: string,
  opts: {
    policy?: string;
    regoQuery?: string;
    record?: boolean;
    /** The image's name for the record (default: `ref`). */
    name?: string;
    /** Who asked, for the audit trail (default: this process's user). */
    actor?: string;
  } = {},
): Promise<PolicyEvaluation> {
  const name0 = opts.name ?? ref;
  if (isDigest(ref)) {
    await assertImageHeld(ctx, ref);
  }
  const { input, digest, links } = await policyInput(ctx, ref, name0);
  const config = await loadConfig(ctx);
  let decision: PolicyDecision;
  let policyBytes: Uint8Array;
  let name: string;
  let engine: "cel" | "rego";
  if (opts.policy?.endsWith(".rego")) {
    policyBytes = new Uint8Array(await readFile(opts.policy));
    decision = await evaluateRego(opts.policy, input, opts.regoQuery ?? "data.deployment.allow");
    name = opts.policy;
    engine = "rego";
  } else {
    const { policy, bytes } = await loadPolicy(opts.policy);
    policyBytes = bytes;
    decision = evaluatePolicy(policy, input, config.policyParams ?? {});
    name = policy.name;
    engine = "cel";
  }
  const policyDigest = sha256(policyBytes);
  let link: RecordedLink | undefined;
  if (opts.record !== false) {
    const store = ctx.evidence();
    const doc = await store.putBlob(
      new TextEncoder().encode(
        JSON.stringify({
          mediaType: POLICY_DECISION_MEDIA_TYPE,
          policy: { name, digest: policyDigest, engine },
          input,
          decision,
        }),
      ),
      POLICY_DECISION_MEDIA_TYPE,
    );
    await store.putBlob(
      policyBytes,
      engine === "rego" ? "application/vnd.opa.rego" : "application/yaml",
    );
    const read = links
      .filter(
        (l) =>
          l.state === "valid" && l.envelope && l.stage !== "policy" && l.stage !== "deployment",
      )
      .map((l) => ({
        stage: l.stage,
        attestation: l.attestation as Digest,
        envelope: l.envelope as Digest,
        evidence: l.evidence as Digest,
        created: l.created ?? "",
      }));
    link = await recordChainLink(ctx, {
      image: { name: name0, digest },
      stage: "policy",
      evidence: { digest: doc, mediaType: POLICY_DECISION_MEDIA_TYPE },
      previous: read,
      inputs: { policy: policyDigest, decision: decision.allow ? "allow" : "deny" },
      tool: `${TOOL.name} ${TOOL.version}`,
      details: { decision: decision.allow ? "allow" : "deny", policy: name },
      ...(opts.actor ? { actor: opts.actor } : {}),
    });
  }
  return {
    image: { reference: ref, digest },
    policy: { name, digest: policyDigest, engine },
    decision,
    ...(link ? { link } : {}),
  };
}
