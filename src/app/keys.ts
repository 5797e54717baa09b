import { createPublicKey, type KeyObject } from "node:crypto";
import { constants, existsSync, readdirSync } from "node:fs";
import { lstat, mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  type BundleVerifyOptions,
  generateKeyPair,
  type KeyType,
  keyIdOf,
  keySigner,
  loadPrivateKey,
  loadPublicKey,
  type SigstoreBundleJson,
  type SigstoreServiceUrls,
  signKeyless,
  signWithKeyWitnessed,
  type VerifiedBundle,
  verifySigstoreBundle,
} from "../attest/index.js";
import { recordAuditEvent } from "../chain/index.js";
import { unwritable } from "../core/atomic-write.js";
import { AttestError, ToolError, UsageError } from "../core/errors.js";
import { readInput, readJsonInput } from "../core/input.js";
import { writeFileAtomic } from "../oci/index.js";
import type { AppContext } from "./context.js";

/**
 * The people whose signed VEX decisions this site applies: the public keys in
 * `$CLEANIMG_HOME/keys/trusted-people/` (put there by `key trust --person FILE`), apart from the
 * keys trusted for evidence (`keys/trusted/`): a machine's signing key is not a person.
 */
export const TRUSTED_PEOPLE_DIR = join("keys", "trusted-people");

/** The public keys of the people trusted to make VEX decisions. */
export async function trustedPersonKeys(ctx: AppContext): Promise<KeyObject[]> {
  const dir = join(ctx.home, TRUSTED_PEOPLE_DIR);
  if (!existsSync(dir)) {
    return [];
  }
  const keys: KeyObject[] = [];
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith(".pub"))
    .sort()) {
    keys.push(loadPublicKey(await readFile(join(dir, f), "utf8")));
  }
  return keys;
}

/**
 * Trusts a person's public key for VEX decisions: copies it (as SPKI PEM) to
 * `keys/trusted-people/KEYID.pub`. Idempotent.
 * @throws ToolError CORE_INPUT_UNREADABLE when the file is unreadable or not a public key
 */
export async function trustPersonKey(
  ctx: AppContext,
  file: string,
): Promise<{ keyid: string; path: string }> {
  const pem = (await readInput(file, "the public key")).toString("utf8");
  let key: KeyObject;
  try {
    if (pem.includes("PRIVATE KEY")) {
      throw new Error("it holds a private key");
    }
    key = loadPublicKey(pem);
  } catch (e) {
    throw new ToolError(
      "CORE_INPUT_UNREADABLE",
      `${file} is not a public key: ${(e as Error).message}`,
      {
        hint: "give the person's PREFIX.pub (key generate writes it), never the private key",
      },
    );
  }
  const keyid = keyIdOf(key);
  const dir = join(ctx.home, TRUSTED_PEOPLE_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${keyid}.pub`);
  // granting VEX authority is an action of the record: audited first, then in force
  await recordAuditEvent(ctx, {
    action: "key-trust",
    evidence: {},
    details: { keyid, path, grants: "vex-decisions" },
  });
  await writeFileAtomic(path, key.export({ type: "spki", format: "pem" }).toString());
  return { keyid, path };
}

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
  const exists = (path: string): ToolError =>
    new ToolError("CORE_INVALID_ARGUMENT", `cannot create ${path}: it exists`, {
      hint: "choose another --output-key-prefix; existing keys are never overwritten",
    });
  for (const path of [`${prefix}.key`, `${prefix}.pub`]) {
    if (
      await lstat(path).then(
        () => true,
        () => false,
      )
    ) {
      throw exists(path); // before either is written: never half a pair
    }
  }
  const write = async (path: string, data: string, mode: number): Promise<void> => {
    const fh = await open(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
      mode,
    ).catch(async (e: NodeJS.ErrnoException) => {
      throw e.code === "EEXIST" ? exists(path) : await unwritable(path, e);
    });
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  await write(`${prefix}.key`, k.privatePem, 0o600);
  await write(`${prefix}.pub`, k.publicPem, 0o644).catch(async (e: unknown) => {
    await rm(`${prefix}.key`, { force: true });
    throw e;
  });
  return { privateKey: `${prefix}.key`, publicKey: `${prefix}.pub`, keyid: k.keyid };
}

/** Parses a key type name. @throws UsageError CLI_USAGE */
export function parseKeyType(s: string): KeyType {
  if (s === "ecdsa-p256" || s === "ed25519") {
    return s;
  }
  throw new UsageError("CLI_USAGE", `unknown key type "${s}"`, { hint: "ecdsa-p256 or ed25519" });
}

/**
 * Refuses a verification that names no signer, as cosign does: a keyless signature is accepted
 * only from the certificate identity and issuer given, a key-signed one only with the key given;
 * "any signer" is never an answer.
 * @throws UsageError CLI_USAGE naming the missing flags
 */
export function requireSignerPolicy(opts: {
  readonly identity?: string | undefined;
  readonly issuer?: string | undefined;
  readonly key?: string | undefined;
}): void {
  if (opts.key) {
    return;
  }
  const missing = [
    ...(opts.identity ? [] : ["--certificate-identity"]),
    ...(opts.issuer ? [] : ["--certificate-oidc-issuer"]),
  ];
  if (missing.length > 0) {
    throw new UsageError(
      "CLI_USAGE",
      `${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} required for verification in keyless mode (or --key for a bundle signed with a key)`,
    );
  }
}

/** True when a bundle's verification material is a certificate (keyless), not a public key. */
function isCertificateSigned(bundle: unknown): boolean {
  const vm = (bundle as { verificationMaterial?: unknown } | null)?.verificationMaterial;
  return (
    typeof vm === "object" && vm !== null && ("certificate" in vm || "x509CertificateChain" in vm)
  );
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
  requireSignerPolicy(opts);
  const read = (p: string) => readInput(p, "the file");
  const bundle = await readJsonInput(bundlePath, "the bundle");
  const root = await readJsonInput(opts.trustedRoot, "the trusted root");
  if (isCertificateSigned(bundle) && !(opts.identity && opts.issuer)) {
    // a key verifies a key-signed bundle only: a certificate's signer still needs an identity
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      `${bundlePath} is signed keyless (a certificate), not with the given key: --certificate-identity and --certificate-oidc-issuer are required to verify it`,
    );
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

/** The public-good staging instance (what `--staging` means in the sigstore-conformance protocol). */
const STAGING = {
  fulcioURL: "https://fulcio.sigstage.dev",
  rekorURL: "https://rekor.sigstage.dev",
  tsaURL: "https://timestamp.sigstage.dev/api/v1/timestamp",
} as const;

export interface SignBundleOptions {
  /** OIDC identity token for keyless signing. */
  readonly identityToken?: string;
  /** A private key file (PEM or cosign.key) to sign with instead of keyless. */
  readonly key?: string;
  readonly keyPassword?: string;
  /** signing_config.json (v0.2) naming the services. */
  readonly signingConfig?: string;
  readonly fulcioURL?: string;
  readonly rekorURL?: string;
  readonly tsaURL?: string;
  readonly staging?: boolean;
}

/**
 * Signs a file into a Sigstore v0.3 bundle: keyless (Fulcio certificate for the token's identity)
 * or with a managed key, witnessed by Rekor and/or a TSA. There is no default service: the
 * caller names them (URLs, a signing config, or `staging`). The bundle file is written whole or
 * not at all.
 * Side effects: network requests to the services; writes the bundle file.
 */
export async function signBundleFile(
  artifactPath: string,
  bundlePath: string,
  o: SignBundleOptions,
): Promise<{ mediaType: string; keyKind: "certificate" | "public-key"; tlogEntries: number }> {
  const read = (p: string) => readInput(p, "the file");
  const data = new Uint8Array(await read(artifactPath));
  let signingConfig: unknown;
  if (o.signingConfig) {
    signingConfig = await readJsonInput(o.signingConfig, "the signing config");
  }
  const urls: SigstoreServiceUrls = {
    ...(o.staging ? STAGING : {}),
    ...(o.fulcioURL ? { fulcioURL: o.fulcioURL } : {}),
    ...(o.rekorURL ? { rekorURL: o.rekorURL } : {}),
    ...(o.tsaURL ? { tsaURL: o.tsaURL } : {}),
    ...(signingConfig !== undefined && !o.key ? { signingConfig } : {}),
  };
  if (!urls.signingConfig && !urls.rekorURL && !urls.tsaURL) {
    throw new UsageError(
      "CLI_USAGE",
      "no Sigstore services named: cleanimg does not reach the public instance unless told to",
      {
        hint: "give --signing-config FILE, or --fulcio-url and --rekor-url (a private instance), or --staging",
      },
    );
  }
  let bundle: SigstoreBundleJson;
  if (o.key) {
    const sk = loadPrivateKey((await read(o.key)).toString("utf8"), o.keyPassword);
    // cosign's hint: the key id's bytes in base64
    const hint = Buffer.from(keyIdOf(createPublicKey(sk)), "hex").toString("base64");
    bundle = await signWithKeyWitnessed(data, keySigner(sk, hint), urls);
  } else {
    if (!o.identityToken) {
      throw new UsageError("CLI_USAGE", "keyless signing needs --identity-token", {
        hint: "pass the OIDC token your CI issues (e.g. SIGSTORE_ID_TOKEN), or --key FILE",
      });
    }
    bundle = await signKeyless(data, o.identityToken, urls);
  }
  await writeFileAtomic(bundlePath, `${JSON.stringify(bundle)}\n`);
  return {
    mediaType: bundle.mediaType,
    keyKind: o.key ? "public-key" : "certificate",
    tlogEntries: (bundle.verificationMaterial?.tlogEntries ?? []).length,
  };
}
