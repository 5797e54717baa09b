import { spawnSync } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { statement } from "../attest/index.js";
import { BUNDLE_MEDIA_TYPE, recordAuditEvent, signStatement } from "../chain/index.js";
import { type Digest, digestHex, sha256 } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import { readInput } from "../core/input.js";
import type { Issue } from "../core/issues.js";
import {
  DEFAULT_EXCLUDES,
  type InTotoKey,
  type InTotoSigner,
  type Layout,
  type Link,
  loadInTotoPublicKey,
  loadInTotoSigner,
  parseMetadata,
  recordArtifacts,
  signedBy,
  signMetadata,
  type VerifyResult,
  verifyLayout,
} from "../intoto/index.js";
import { writeFileAtomic } from "../oci/index.js";
import type { AppContext } from "./context.js";
import { resolveSubject } from "./images.js";
import { TOOL } from "./sbom.js";

/**
 * The in-toto use cases, with the reference implementation's command-line semantics:
 * `intoto run` (in-toto-run), `intoto sign` (in-toto-sign), `intoto verify` (in-toto-verify).
 */

async function readKeyFile(path: string): Promise<string> {
  return (await readInput(path, "the key")).toString("utf8");
}

export async function loadSigner(path: string, password?: string): Promise<InTotoSigner> {
  return loadInTotoSigner(await readKeyFile(path), password, path);
}

export async function loadPublicKeys(paths: readonly string[]): Promise<InTotoKey[]> {
  return Promise.all(paths.map(async (p) => loadInTotoPublicKey(await readKeyFile(p), p)));
}

/** Records artifacts, naming each given path that does not exist as an issue (not recorded). */
function recorded(
  role: "material" | "product",
  paths: readonly string[],
  base: string,
  excludes: readonly string[],
  issues: Issue[],
): Record<string, Record<string, string>> {
  return recordArtifacts(paths, base, excludes, (p) =>
    issues.push({
      code: "INTOTO_ARTIFACT_MISSING",
      message: `${role} ${p} does not exist (under ${base}): not recorded in the link`,
      path: p,
    }),
  );
}

export interface RunOptions {
  readonly name: string;
  readonly signer: InTotoSigner;
  readonly materials?: readonly string[];
  readonly products?: readonly string[];
  /** The command; empty with noCommand. */
  readonly command: readonly string[];
  readonly noCommand?: boolean;
  readonly excludes?: readonly string[];
  /** Where artifact paths are resolved and recorded relative to (default: the cwd). */
  readonly basePath?: string;
  /** Where the link is written (default: the cwd). */
  readonly metadataDirectory?: string;
  readonly useDsse?: boolean;
  readonly cwd: string;
}

/**
 * Runs a step: hashes the materials, runs the command (its return value, stdout and stderr are
 * the byproducts), hashes the products, signs the link and writes `NAME.KEYID8.link`.
 */
export async function intotoRun(
  o: RunOptions,
): Promise<{ path: string; link: Link; issues: readonly Issue[] }> {
  if (!/^[\w.-]+$/.test(o.name)) {
    throw new ToolError(
      "CORE_INVALID_ARGUMENT",
      `step name "${o.name}" is not a valid file name part`,
    );
  }
  const cwd = o.cwd;
  const base = resolve(cwd, o.basePath ?? ".");
  const excludes = o.excludes ?? DEFAULT_EXCLUDES;
  const issues: Issue[] = [];
  const materials = recorded("material", o.materials ?? [], base, excludes, issues);
  let byproducts: Record<string, unknown> = {};
  if (!o.noCommand) {
    const [cmd, ...args] = o.command;
    if (!cmd) {
      throw new ToolError("CORE_INVALID_ARGUMENT", "no command to run", {
        hint: "give it after --, or use --no-command",
      });
    }
    const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.error) {
      throw new ToolError("INTOTO_RUN_FAILED", `cannot run ${cmd}: ${r.error.message}`);
    }
    byproducts = { "return-value": r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
  }
  const products = recorded("product", o.products ?? [], base, excludes, issues);
  const link: Link = {
    _type: "link",
    name: o.name,
    command: o.noCommand ? [] : [...o.command],
    materials,
    products,
    byproducts,
    environment: {},
  };
  const path = join(
    resolve(cwd, o.metadataDirectory ?? "."),
    `${o.name}.${o.signer.key.keyid.slice(0, 8)}.link`,
  );
  await writeFileAtomic(path, signMetadata(link, [o.signer], o.useDsse ? "dsse" : "metablock"));
  return { path, link, issues };
}

/**
 * Signs a layout or link (adding to its signatures, replacing one by the same key), or with
 * `verifyOnly` checks that each key has signed it.
 */
export async function intotoSign(o: {
  file: string;
  signers?: readonly InTotoSigner[];
  verifyKeys?: readonly InTotoKey[];
  output?: string;
  append?: boolean;
}): Promise<{ output?: string; verified?: readonly string[] }> {
  const bytes = await readInput(o.file, "the metadata file");
  const m = parseMetadata<Layout | Link>(new Uint8Array(bytes), o.file);
  if (o.verifyKeys) {
    const bad = o.verifyKeys.filter((k) => !signedBy(m, k));
    if (bad.length) {
      throw new ToolError(
        "ATTEST_SIGNATURE_INVALID",
        `${o.file} is not signed by ${bad.map((k) => k.keyid).join(", ")}`,
      );
    }
    return { verified: o.verifyKeys.map((k) => k.keyid) };
  }
  const signers = o.signers ?? [];
  if (signers.length === 0) {
    throw new ToolError("CORE_INVALID_ARGUMENT", "no signing key given", { hint: "-k KEY" });
  }
  const signed = m.signed as Layout | Link;
  const out =
    o.output ??
    (signed._type === "link" ? `${signed.name}.${signers[0]?.key.keyid.slice(0, 8)}.link` : o.file);
  await writeFileAtomic(
    out,
    signMetadata(signed, signers, m.envelope, o.append ? m.signatures : []),
  );
  return { output: out };
}

export function intotoVerify(o: {
  layout: Uint8Array;
  layoutName: string;
  layoutKeys: readonly InTotoKey[];
  linkDir?: string;
  cwd: string;
  now?: Date;
}): VerifyResult {
  const cwd = o.cwd;
  return verifyLayout({
    layout: o.layout,
    layoutName: o.layoutName,
    layoutKeys: o.layoutKeys,
    linkDir: resolve(cwd, o.linkDir ?? "."),
    workDir: cwd,
    ...(o.now ? { now: o.now } : {}),
  });
}

/**
 * `intoto record start`: records the materials of a step whose commands run outside cleanimg,
 * into a signed preliminary link `.NAME.KEYID8.link-unfinished` (as in-toto-record does).
 */
export async function intotoRecordStart(o: {
  name: string;
  signer: InTotoSigner;
  materials?: readonly string[];
  excludes?: readonly string[];
  basePath?: string;
  cwd: string;
}): Promise<{ path: string; issues: readonly Issue[] }> {
  const base = resolve(o.cwd, o.basePath ?? ".");
  const issues: Issue[] = [];
  const link: Link = {
    _type: "link",
    name: o.name,
    command: [],
    materials: recorded(
      "material",
      o.materials ?? [],
      base,
      o.excludes ?? DEFAULT_EXCLUDES,
      issues,
    ),
    products: {},
    byproducts: {},
    environment: {},
  };
  const path = join(o.cwd, `.${o.name}.${o.signer.key.keyid.slice(0, 8)}.link-unfinished`);
  await writeFileAtomic(path, signMetadata(link, [o.signer], "metablock"));
  return { path, issues };
}

/**
 * `intoto record stop`: adds the products to the preliminary link (whose signature must be the
 * same key's), signs the finished link and removes the preliminary one.
 */
export async function intotoRecordStop(o: {
  name: string;
  signer: InTotoSigner;
  products?: readonly string[];
  excludes?: readonly string[];
  basePath?: string;
  metadataDirectory?: string;
  useDsse?: boolean;
  cwd: string;
}): Promise<{ path: string; link: Link; issues: readonly Issue[] }> {
  const prefix = o.signer.key.keyid.slice(0, 8);
  const unfinished = join(o.cwd, `.${o.name}.${prefix}.link-unfinished`);
  const bytes = await readFile(unfinished).catch(() => {
    throw new ToolError("CORE_INVALID_ARGUMENT", `no preliminary link ${unfinished}`, {
      hint: `run intoto record start -n ${o.name} with the same key first`,
    });
  });
  const m = parseMetadata<Link>(new Uint8Array(bytes), unfinished);
  if (!signedBy(m, o.signer.key)) {
    throw new ToolError(
      "ATTEST_SIGNATURE_INVALID",
      `${unfinished} is not signed by this key: it was altered or started with another key`,
    );
  }
  const base = resolve(o.cwd, o.basePath ?? ".");
  const issues: Issue[] = [];
  const excludes = o.excludes ?? DEFAULT_EXCLUDES;
  const link: Link = {
    ...m.signed,
    products: recorded("product", o.products ?? [], base, excludes, issues),
  };
  const path = join(resolve(o.cwd, o.metadataDirectory ?? "."), `${o.name}.${prefix}.link`);
  await writeFileAtomic(path, signMetadata(link, [o.signer], o.useDsse ? "dsse" : "metablock"));
  await rm(unfinished, { force: true });
  return { path, link, issues };
}

export const VSA_PREDICATE = "https://slsa.dev/verification_summary/v1";
export const INTOTO_VERIFICATION_KIND = "intoto-verification";

/**
 * Records an in-toto verification about an image as evidence: a SLSA Verification Summary
 * (VSA v1) naming the layout and every link it rested on by digest, signed, logged, linked to
 * the image and audited in one transaction. No SLSA level is claimed from it (verifiedLevels is
 * empty): a layout's checks are not a SLSA track.
 */
export async function recordInTotoVerification(
  ctx: AppContext,
  ref: string,
  v: {
    readonly result: VerifyResult;
    readonly layout: Uint8Array;
    readonly layoutName: string;
    readonly linkDir: string;
  },
): Promise<{ image: Digest; attestation: Digest }> {
  const subject = await resolveSubject(ctx, ref);
  const links: { uri: string; digest: { sha256: string } }[] = [];
  for (const s of v.result.steps) {
    for (const keyid of s.functionaries) {
      const file = join(v.linkDir, `${s.name}.${keyid.slice(0, 8)}.link`);
      const bytes = await readFile(file);
      links.push({
        uri: `${s.name}.${keyid.slice(0, 8)}.link`,
        digest: { sha256: digestHex(sha256(bytes)) },
      });
    }
  }
  const predicate = {
    verifier: { id: "https://cleanimg.dev/intoto-verify", version: { cleanimg: TOOL.version } },
    timeVerified: new Date().toISOString(),
    resourceUri: ref,
    policy: { uri: v.layoutName, digest: { sha256: digestHex(sha256(v.layout)) } },
    inputAttestations: links,
    verificationResult: v.result.passed ? "PASSED" : "FAILED",
    verifiedLevels: [],
    ...(v.result.failure ? { failure: v.result.failure } : {}),
  };
  const signed = await signStatement(
    ctx,
    statement([{ name: ref, digest: subject.digest }], VSA_PREDICATE, predicate),
  );
  const store = ctx.evidence();
  const attestation = await store.putBlob(signed.bytes, BUNDLE_MEDIA_TYPE);
  await recordAuditEvent(
    ctx,
    {
      action: "attest",
      subject: subject.digest,
      subjectName: ref,
      evidence: { attestation },
      details: {
        kind: INTOTO_VERIFICATION_KIND,
        result: predicate.verificationResult,
        layout: `sha256:${predicate.policy.digest.sha256}`,
      },
    },
    [
      {
        subject: subject.digest,
        evidence: attestation,
        kind: INTOTO_VERIFICATION_KIND,
        annotations: {
          result: predicate.verificationResult,
          layout: `sha256:${predicate.policy.digest.sha256}`,
        },
      },
    ],
  );
  return { image: subject.digest, attestation };
}
