import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ToolError } from "../core/errors.js";
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

/**
 * The in-toto use cases, with the reference implementation's command-line semantics:
 * `intoto run` (in-toto-run), `intoto sign` (in-toto-sign), `intoto verify` (in-toto-verify).
 */

async function readKeyFile(path: string): Promise<string> {
  return readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new ToolError(
      "CORE_INVALID_ARGUMENT",
      `cannot read the key ${path}: ${e.code ?? e.message}`,
    );
  });
}

export async function loadSigner(path: string, password?: string): Promise<InTotoSigner> {
  return loadInTotoSigner(await readKeyFile(path), password);
}

export async function loadPublicKeys(paths: readonly string[]): Promise<InTotoKey[]> {
  return Promise.all(paths.map(async (p) => loadInTotoPublicKey(await readKeyFile(p))));
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
export async function intotoRun(o: RunOptions): Promise<{ path: string; link: Link }> {
  if (!/^[\w.-]+$/.test(o.name)) {
    throw new ToolError(
      "CORE_INVALID_ARGUMENT",
      `step name "${o.name}" is not a valid file name part`,
    );
  }
  const cwd = o.cwd;
  const base = resolve(cwd, o.basePath ?? ".");
  const excludes = o.excludes ?? DEFAULT_EXCLUDES;
  const materials = recordArtifacts(o.materials ?? [], base, excludes);
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
      throw new ToolError("CORE_INVALID_ARGUMENT", `cannot run ${cmd}: ${r.error.message}`);
    }
    byproducts = { "return-value": r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
  }
  const products = recordArtifacts(o.products ?? [], base, excludes);
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
  return { path, link };
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
  const bytes = await readFile(o.file).catch((e: NodeJS.ErrnoException) => {
    throw new ToolError("CORE_INVALID_ARGUMENT", `cannot read ${o.file}: ${e.code ?? e.message}`);
  });
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
