import { createPublicKey, type KeyObject } from "node:crypto";
import { constants, existsSync, readdirSync } from "node:fs";
import { link, mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  generateKeyPair,
  keyIdOf,
  keySigner,
  loadPrivateKey,
  loadPublicKey,
  type Signer,
  type TrustedLog,
} from "../attest/index.js";
import { ToolError } from "../core/errors.js";
import type { ChainContext } from "./context.js";

/**
 * Signing by default. Every piece of evidence cleanimg records is signed with the signing key
 * and logged in the embedded transparency log, whose checkpoints the log key signs. Both keys
 * live under `$CLEANIMG_HOME/keys` and are made on first use (ECDSA P-256, mode 0600); a key of
 * one's own (PEM, or a cosign.key) is used with `CLEANIMG_SIGNING_KEY=PATH` (and
 * `CLEANIMG_SIGNING_KEY_PASSWORD`, or cosign's `COSIGN_PASSWORD`, when it
 * is encrypted). Verification trusts the signing key's public half and any `*.pub` file in
 * `$CLEANIMG_HOME/keys/trusted/`.
 */

export interface SigningIdentity {
  readonly signer: Signer;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyid: string;
  /** Where the key came from (a path). */
  readonly source: string;
}

export interface LogIdentity {
  readonly signer: Signer;
  readonly publicKey: KeyObject;
  /** The checkpoint origin (and note key name) of this log. */
  readonly origin: string;
  /** base64 sha256 of the log key's DER public key: Sigstore's log id. */
  readonly logId: string;
}

const cache = new WeakMap<ChainContext, Promise<{ signing: SigningIdentity; log: LogIdentity }>>();

/** The signing and log identities of this home directory, made on first use. */
export function identities(
  ctx: ChainContext,
): Promise<{ signing: SigningIdentity; log: LogIdentity }> {
  let p = cache.get(ctx);
  if (!p) {
    p = (async () => {
      const dir = join(ctx.home, "keys");
      const own = ctx.settings.signingKey;
      const signingPath = own ?? join(dir, "signing.key");
      const signingPem = own
        ? await readFile(own, "utf8").catch((e: NodeJS.ErrnoException) => {
            throw new ToolError(
              "ATTEST_KEY_INVALID",
              `cannot read CLEANIMG_SIGNING_KEY ${own}: ${e.code ?? e.message}`,
            );
          })
        : await keyFile(dir, "signing");
      // cosign's key files read with cosign's password variable too
      const sk = loadPrivateKey(signingPem, ctx.settings.signingKeyPassword);
      const spub = createPublicKey(sk);
      const logKey = loadPrivateKey(await keyFile(dir, "log"));
      const lpub = createPublicKey(logKey);
      const logKeyid = keyIdOf(lpub);
      return {
        signing: {
          signer: keySigner(sk),
          publicKey: spub,
          publicKeyPem: spub.export({ type: "spki", format: "pem" }).toString(),
          keyid: keyIdOf(spub),
          source: signingPath,
        },
        log: {
          signer: keySigner(logKey),
          publicKey: lpub,
          origin: `cleanimg.local/log/${logKeyid.slice(0, 16)}`,
          logId: Buffer.from(logKeyid, "hex").toString("base64"),
        },
      };
    })();
    cache.set(ctx, p);
  }
  return p;
}

/** Reads keys/NAME.key, creating it (and NAME.pub) if missing; safe against a concurrent maker. */
async function keyFile(dir: string, name: string): Promise<string> {
  const path = join(dir, `${name}.key`);
  if (!existsSync(path)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const k = generateKeyPair("ecdsa-p256");
    const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await fh.writeFile(k.privatePem);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // link() fails when another process made the key first; theirs is used
    await link(tmp, path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") {
        throw e;
      }
    });
    await rm(tmp, { force: true });
    const pub = join(dir, `${name}.pub`);
    if (!existsSync(pub)) {
      const pem = createPublicKey(loadPrivateKey(await readFile(path, "utf8")))
        .export({ type: "spki", format: "pem" })
        .toString();
      await open(pub, "wx", 0o644)
        .then(async (h) => {
          await h.writeFile(pem);
          await h.close();
        })
        .catch(() => {});
    }
  }
  return readFile(path, "utf8");
}

/** Transparency logs whose checkpoints verification accepts: ours and keys/trusted-logs/*.pub. */
export async function trustedLogs(ctx: ChainContext): Promise<TrustedLog[]> {
  const { log } = await identities(ctx);
  const logs: TrustedLog[] = [{ publicKey: log.publicKey, origin: log.origin }];
  const dir = join(ctx.home, "keys", "trusted-logs");
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith(".pub"))
      .sort()) {
      const publicKey = loadPublicKey(await readFile(join(dir, f), "utf8"));
      logs.push({ publicKey, origin: `cleanimg.local/log/${keyIdOf(publicKey).slice(0, 16)}` });
    }
  }
  return logs;
}

/** Public keys whose signatures verification accepts. */
export async function trustedKeys(ctx: ChainContext): Promise<KeyObject[]> {
  const { signing } = await identities(ctx);
  const keys = [signing.publicKey];
  const dir = join(ctx.home, "keys", "trusted");
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith(".pub"))
      .sort()) {
      keys.push(loadPublicKey(await readFile(join(dir, f), "utf8")));
    }
  }
  return keys;
}
