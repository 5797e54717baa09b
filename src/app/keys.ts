import { constants } from "node:fs";
import { open, readFile } from "node:fs/promises";
import {
  type BundleVerifyOptions,
  generateKeyPair,
  type KeyType,
  type VerifiedBundle,
  verifySigstoreBundle,
} from "../attest/index.js";
import { ToolError, UsageError } from "../core/errors.js";

/**
 * Writes a new key pair: PREFIX.key (private, encrypted with the passphrase, mode 0600) and
 * PREFIX.pub. Refuses to overwrite existing files.
 */
export async function writeKeyPair(
  prefix: string,
  type: KeyType,
  passphrase: string | undefined,
): Promise<{ privateKey: string; publicKey: string; keyid: string }> {
  const k = generateKeyPair(type, passphrase);
  const write = async (path: string, data: string, mode: number): Promise<void> => {
    const fh = await open(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
      mode,
    ).catch((e: NodeJS.ErrnoException) => {
      throw new ToolError(
        "CORE_INVALID_ARGUMENT",
        `cannot create ${path}: ${e.code === "EEXIST" ? "it exists" : e.message}`,
        {
          hint: "choose another --output-key-prefix; existing keys are never overwritten",
        },
      );
    });
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  await write(`${prefix}.key`, k.privatePem, 0o600);
  await write(`${prefix}.pub`, k.publicPem, 0o644);
  return { privateKey: `${prefix}.key`, publicKey: `${prefix}.pub`, keyid: k.keyid };
}

/** Parses a key type name. @throws UsageError CLI_USAGE */
export function parseKeyType(s: string): KeyType {
  if (s === "ecdsa-p256" || s === "ed25519") {
    return s;
  }
  throw new UsageError("CLI_USAGE", `unknown key type "${s}"`, { hint: "ecdsa-p256 or ed25519" });
}

/** Verifies a Sigstore bundle file offline (see verifySigstoreBundle). */
export async function verifyBundleFile(
  bundlePath: string,
  opts: {
    artifact?: string;
    trustedRoot: string;
    identity?: string;
    issuer?: string;
    key?: string;
  },
): Promise<VerifiedBundle> {
  const read = async (p: string): Promise<Buffer> =>
    readFile(p).catch((e: NodeJS.ErrnoException) => {
      throw new ToolError("CORE_INVALID_ARGUMENT", `cannot read ${p}: ${e.code ?? e.message}`);
    });
  let bundle: unknown;
  let root: unknown;
  try {
    bundle = JSON.parse((await read(bundlePath)).toString("utf8"));
    root = JSON.parse((await read(opts.trustedRoot)).toString("utf8"));
  } catch (e) {
    if (e instanceof ToolError) {
      throw e;
    }
    throw new ToolError("CORE_INVALID_ARGUMENT", `not JSON: ${(e as Error).message}`);
  }
  const o: BundleVerifyOptions = {
    trustedRoot: root,
    ...(opts.artifact ? { artifact: new Uint8Array(await read(opts.artifact)) } : {}),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.issuer ? { issuer: opts.issuer } : {}),
    ...(opts.key ? { publicKeyPem: (await read(opts.key)).toString("utf8") } : {}),
  };
  return verifySigstoreBundle(bundle, o);
}
