import { createPublicKey, type KeyObject, randomBytes, X509Certificate } from "node:crypto";
import { constants, existsSync, readdirSync } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  BUNDLE_MEDIA_TYPE,
  consistencyProof,
  type DsseEnvelope,
  dsseLogBody,
  type EvidenceBundle,
  type FrontierNode,
  frontierAppend,
  frontierRoot,
  fulcioSigner,
  generateKeyPair,
  IN_TOTO_PAYLOAD_TYPE,
  type InclusionProof,
  type KeylessTrust,
  keyIdOf,
  keySigner,
  lastLeafProof,
  leafHash,
  loadPrivateKey,
  loadPublicKey,
  noteKeyHint,
  rootHash,
  type Signer,
  type Statement,
  signCheckpoint,
  signEnvelope,
  type TrustedLog,
  type VerifiedEvidenceBundle,
  verifyCheckpointNote,
  verifyConsistency,
  verifyEvidenceBundle,
  witnessEnvelopeInRekor,
} from "../attest/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { AttestError, ToolError, UsageError } from "../core/errors.js";
import {
  appendToLog,
  type EvidenceStore,
  PostgresEvidenceStore,
  SqliteEvidenceStore,
} from "../store/index.js";
import type { AppContext } from "./context.js";

/**
 * Signing by default. Every piece of evidence cleanimg records is signed with the signing key
 * and logged in the embedded transparency log, whose checkpoints the log key signs. Both keys
 * live under `$CLEANIMG_HOME/keys` and are made on first use (ECDSA P-256, mode 0600); a key of
 * one's own (PEM, or a cosign.key) is used with `CLEANIMG_SIGNING_KEY=PATH` (and
 * `CLEANIMG_SIGNING_KEY_PASSWORD`, or cosign's `COSIGN_PASSWORD`, when it
 * is encrypted). Verification trusts the signing key's public half and any `*.pub` file in
 * `$CLEANIMG_HOME/keys/trusted/`.
 */

export { BUNDLE_MEDIA_TYPE };
export const TLOG = "tlog";

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

const cache = new WeakMap<AppContext, Promise<{ signing: SigningIdentity; log: LogIdentity }>>();

/** The signing and log identities of this home directory, made on first use. */
export function identities(
  ctx: AppContext,
): Promise<{ signing: SigningIdentity; log: LogIdentity }> {
  const env = ctx.env;
  let p = cache.get(ctx);
  if (!p) {
    p = (async () => {
      const dir = join(ctx.home, "keys");
      const own = env["CLEANIMG_SIGNING_KEY"];
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
      const sk = loadPrivateKey(
        signingPem,
        env["CLEANIMG_SIGNING_KEY_PASSWORD"] ?? env["COSIGN_PASSWORD"],
      );
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
export async function trustedLogs(ctx: AppContext): Promise<TrustedLog[]> {
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
export async function trustedKeys(ctx: AppContext): Promise<KeyObject[]> {
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

interface StoredLogEntry {
  /** base64 of the logged body */
  readonly body: string;
  /** the frontier after this entry */
  readonly frontier: readonly { readonly size: number; readonly hash: string }[];
  /** the signed checkpoint of the tree ending with this entry */
  readonly checkpoint: string;
}

function parseStoredLogEntry(bytes: Uint8Array, index: number): StoredLogEntry {
  try {
    const e = JSON.parse(new TextDecoder().decode(bytes)) as StoredLogEntry;
    if (
      typeof e.body === "string" &&
      Array.isArray(e.frontier) &&
      typeof e.checkpoint === "string"
    ) {
      return e;
    }
  } catch {
    // reported below
  }
  throw new AttestError("ATTEST_VERIFY_FAILED", `transparency log entry ${index} is unreadable`);
}

const frontierOf = (e: StoredLogEntry): FrontierNode[] =>
  e.frontier.map((n) => ({ size: n.size, hash: new Uint8Array(Buffer.from(n.hash, "base64")) }));

/** Appends a body to the embedded log; returns its index, proof and signed time. */
export async function appendToTransparencyLog(
  ctx: AppContext,
  body: Uint8Array,
  now: () => Date = () => new Date(),
): Promise<{ index: number; proof: InclusionProof; integratedTime: number }> {
  const { log } = await identities(ctx);
  let proof: InclusionProof | undefined;
  let time = 0;
  const { index } = await appendToLog(ctx.evidence(), TLOG, async (i, prev) => {
    const before = prev ? frontierOf(parseStoredLogEntry(prev, i - 1)) : [];
    const after = frontierAppend(before, leafHash(body));
    const root = frontierRoot(after);
    time = now().getTime();
    const checkpoint = await signCheckpoint(
      {
        origin: log.origin,
        size: i + 1,
        rootHash: root,
        extensions: [`Timestamp: ${BigInt(time) * 1_000_000n}`],
      },
      log.origin,
      noteKeyHint(log.origin, log.publicKey),
      log.signer,
    );
    proof = {
      logIndex: String(i),
      rootHash: Buffer.from(root).toString("base64"),
      treeSize: String(i + 1),
      hashes: lastLeafProof(before).map((h) => Buffer.from(h).toString("base64")),
      checkpoint: { envelope: checkpoint },
    };
    const stored: StoredLogEntry = {
      body: Buffer.from(body).toString("base64"),
      frontier: after.map((n) => ({ size: n.size, hash: Buffer.from(n.hash).toString("base64") })),
      checkpoint,
    };
    return new TextEncoder().encode(JSON.stringify(stored));
  });
  const made = proof as InclusionProof;
  await raiseWitness(ctx, "tlog", index + 1, new TextEncoder().encode(made.checkpoint.envelope));
  return { index, proof: made, integratedTime: Math.floor(time / 1000) };
}

/*
 * The witness: what this home has seen the store's logs hold, kept where the log rows are not
 * (docs/adr/0005, "the logs' heads kept outside them"). After each append, the newest signed
 * checkpoint of the transparency log and the newest audit entry (itself signed) are written as
 * files `KIND-SIZE` in a directory beside the embedded store (`evidence/witness/`), or under
 * `$CLEANIMG_HOME/witness/` for a PostgreSQL store (keyed by its server and database). A file is
 * written to a temporary name, fsynced, renamed and its directory fsynced; then the files of
 * smaller sizes are removed. Writers never replace a file, so concurrent ones cannot lower the
 * largest size: the witness only ever rises.
 */

export type WitnessKind = "tlog" | "audit";

/** Where the witness of this context's store is kept (undefined for a store in memory). */
export function witnessDir(ctx: AppContext): string | undefined {
  const store: EvidenceStore = ctx.evidence();
  if (store instanceof SqliteEvidenceStore) {
    return join(store.dir, "witness");
  }
  if (store instanceof PostgresEvidenceStore) {
    let where = store.url;
    try {
      const u = new URL(store.url);
      u.username = "";
      u.password = "";
      where = u.toString();
    } catch {
      // not a URL the WHATWG parser reads: the whole string names the store
    }
    return join(ctx.home, "witness", sha256(where).slice(7, 23));
  }
  return undefined;
}

const witnessFile = (kind: WitnessKind, size: number): string =>
  `${kind}-${String(size).padStart(16, "0")}`;

async function witnessSizes(dir: string, kind: WitnessKind): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const re = new RegExp(`^${kind}-(\\d{16})$`);
  return names.flatMap((n) => {
    const m = re.exec(n);
    return m ? [Number(m[1])] : [];
  });
}

/**
 * Records that the log `kind` held `size` entries, with `bytes` proving it (the signed checkpoint,
 * the signed last audit entry). Best effort once the entry is appended: a witness left lower is
 * still true, only less strict.
 */
export async function raiseWitness(
  ctx: AppContext,
  kind: WitnessKind,
  size: number,
  bytes: Uint8Array,
): Promise<void> {
  const dir = witnessDir(ctx);
  if (!dir) {
    return;
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const sizes = await witnessSizes(dir, kind);
    if (sizes.some((s) => s >= size)) {
      return;
    }
    const path = join(dir, witnessFile(kind, size));
    const tmp = join(dir, `.${witnessFile(kind, size)}.tmp-${randomBytes(6).toString("hex")}`);
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const d = await open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    await Promise.all(
      sizes
        .filter((s) => s < size)
        .map((s) => rm(join(dir, witnessFile(kind, s)), { force: true })),
    );
  } catch {
    // an unwritable home: the evidence is recorded; the witness stays where it was
  }
}

/** The largest size the witness records for a log, with its proof and where it is kept. */
export async function readWitness(
  ctx: AppContext,
  kind: WitnessKind,
): Promise<{ size: number; bytes: Uint8Array; path: string } | undefined> {
  const dir = witnessDir(ctx);
  if (!dir) {
    return undefined;
  }
  for (const size of (await witnessSizes(dir, kind)).sort((a, b) => b - a)) {
    const path = join(dir, witnessFile(kind, size));
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes) {
      return { size, bytes: new Uint8Array(bytes), path };
    }
  }
  return undefined;
}

/**
 * Whether the store's transparency log still holds a bundle's entry in this store's log: the
 * entry at its index, with its body. Undefined when it does, or when the bundle was logged in
 * another log (evidence imported from elsewhere); otherwise why not (the log's tail was cut, or
 * it was rewritten).
 */
export async function transparencyLogGap(
  ctx: AppContext,
  bundleBytes: Uint8Array,
): Promise<string | undefined> {
  const { log } = await identities(ctx);
  let entry: EvidenceBundle["verificationMaterial"]["tlogEntries"][0] | undefined;
  try {
    // our own log's entry comes first
    const b = JSON.parse(new TextDecoder().decode(bundleBytes)) as EvidenceBundle;
    const own = b.verificationMaterial?.tlogEntries?.[0];
    entry = own?.logId?.keyId === log.logId ? own : undefined;
  } catch {
    return undefined; // an unreadable bundle does not verify, which is reported as such
  }
  if (!entry) {
    return undefined;
  }
  const i = Number(entry.logIndex);
  const store = ctx.evidence();
  const [stored] = await store.entries(TLOG, i, i + 1);
  if (!stored) {
    const n = await store.size(TLOG);
    return `its transparency log entry #${i} is not in the store's log, which holds ${n} entries while the attestation's own signed checkpoint is of a tree of ${entry.inclusionProof.treeSize}: the log's tail was truncated (see tlog verify)`;
  }
  let body: string | undefined;
  try {
    body = parseStoredLogEntry(stored, i).body;
  } catch {
    body = undefined;
  }
  return body === entry.canonicalizedBody
    ? undefined
    : `the store's transparency log entry #${i} is not the one the attestation was logged as: the log was rewritten (see tlog verify)`;
}

/**
 * Keyless signing of evidence, when configured: CLEANIMG_FULCIO_URL and an OIDC token
 * (CLEANIMG_IDENTITY_TOKEN, or SIGSTORE_ID_TOKEN as CI systems provide it); Rekor is then
 * required (CLEANIMG_REKOR_URL), since only its time shows the short-lived certificate was valid.
 * @throws UsageError CLI_USAGE when half of it is configured
 */
function keylessConfig(
  env: AppContext["env"],
): { fulcioURL: string; token: string; rekorURL: string } | undefined {
  const fulcioURL = env["CLEANIMG_FULCIO_URL"];
  if (!fulcioURL) {
    return undefined;
  }
  const token = env["CLEANIMG_IDENTITY_TOKEN"] ?? env["SIGSTORE_ID_TOKEN"];
  const rekorURL = env["CLEANIMG_REKOR_URL"];
  if (!token || !rekorURL) {
    throw new UsageError(
      "CLI_USAGE",
      `keyless signing (CLEANIMG_FULCIO_URL) needs ${!token ? "an OIDC identity token" : "a Rekor URL"}`,
      {
        hint: !token
          ? "set CLEANIMG_IDENTITY_TOKEN (or SIGSTORE_ID_TOKEN) to the token your CI issues"
          : "set CLEANIMG_REKOR_URL: its entry is what proves the certificate was valid when it signed",
      },
    );
  }
  return { fulcioURL, token, rekorURL };
}

/**
 * Signs an in-toto statement (with the signing key, or keyless through Fulcio when configured),
 * logs it in the embedded log (and in Rekor when configured), and returns the Sigstore bundle
 * (serialized: its digest is the attestation's identity in the chain).
 */
export async function signStatement(
  ctx: AppContext,
  stmt: Statement,
): Promise<{ bundle: EvidenceBundle; bytes: Uint8Array; digest: Digest }> {
  const { signing, log } = await identities(ctx);
  const payload = new TextEncoder().encode(JSON.stringify(stmt));
  const keyless = keylessConfig(ctx.env);
  let verifierPem = signing.publicKeyPem;
  let envelope: DsseEnvelope;
  if (keyless) {
    const sign = fulcioSigner(keyless.token, { fulcioURL: keyless.fulcioURL });
    envelope = await signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, [
      {
        keyid: "",
        sign: async (data) => {
          const r = await sign(data);
          verifierPem = r.certificatePem;
          return r.signature;
        },
      },
    ]);
  } else {
    envelope = await signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, [signing.signer]);
  }
  const body = dsseLogBody(
    envelope,
    new TextEncoder().encode(JSON.stringify(envelope)),
    verifierPem,
  );
  // Rekor first: if it refuses, nothing has been logged or stored here
  const rekorURL = keyless?.rekorURL ?? ctx.env["CLEANIMG_REKOR_URL"];
  const rekor = rekorURL
    ? await witnessEnvelopeInRekor(envelope, verifierPem, { rekorURL })
    : undefined;
  const { index, proof, integratedTime } = await appendToTransparencyLog(ctx, body);
  const bundle: EvidenceBundle = {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: {
      ...(keyless
        ? { certificate: { rawBytes: new X509Certificate(verifierPem).raw.toString("base64") } }
        : { publicKey: { hint: signing.keyid } }),
      tlogEntries: [
        {
          logIndex: String(index),
          logId: { keyId: log.logId },
          kindVersion: { kind: "dsse", version: "0.0.1" },
          integratedTime: String(integratedTime),
          inclusionProof: proof,
          canonicalizedBody: Buffer.from(body).toString("base64"),
        },
        ...(rekor ? [rekor] : []),
      ],
    },
    dsseEnvelope: envelope,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(bundle));
  return { bundle, bytes, digest: sha256(bytes) };
}

/**
 * What evidence verification trusts: the signing keys and logs of this store, and for keyless
 * signatures and Rekor entries the Sigstore trusted root (CLEANIMG_SIGSTORE_TRUSTED_ROOT) and
 * the identities allowed to sign (CLEANIMG_TRUSTED_IDENTITIES: "SAN|ISSUER" entries split by ";").
 */
export interface EvidenceTrust {
  readonly keys: readonly KeyObject[];
  readonly logs: readonly TrustedLog[];
  /** The Sigstore trusted root and signing identities, when configured. */
  readonly keyless?: KeylessTrust;
}

export async function evidenceTrust(ctx: AppContext): Promise<EvidenceTrust> {
  const keys = await trustedKeys(ctx);
  const logs = await trustedLogs(ctx);
  const path = ctx.env["CLEANIMG_SIGSTORE_TRUSTED_ROOT"];
  if (!path) {
    return { keys, logs };
  }
  let sigstoreRoot: unknown;
  try {
    sigstoreRoot = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new ToolError(
      "CORE_INVALID_ARGUMENT",
      `CLEANIMG_SIGSTORE_TRUSTED_ROOT ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const identities = identityList(
    ctx,
    "CLEANIMG_TRUSTED_IDENTITIES",
    "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main|https://token.actions.githubusercontent.com",
  );
  return { keys, logs, keyless: { trustedRoot: sigstoreRoot, identities } };
}

/**
 * A `SAN|ISSUER;…` list of keyless identities from the environment variable `name`.
 * @throws UsageError CLI_USAGE naming the entry that is not SAN|ISSUER
 */
export function identityList(
  ctx: AppContext,
  name: string,
  example: string,
): { subjectAlternativeName: string; issuer: string }[] {
  return (ctx.env[name] ?? "")
    .split(";")
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => {
      const bar = x.lastIndexOf("|");
      if (bar <= 0) {
        throw new UsageError("CLI_USAGE", `${name}: "${x}" is not SAN|ISSUER`, { hint: example });
      }
      return { subjectAlternativeName: x.slice(0, bar), issuer: x.slice(bar + 1) };
    });
}

/** Verifies one of our evidence bundles with what the store trusts (see EvidenceTrust). */
export function verifyEvidence(bytes: Uint8Array, t: EvidenceTrust): VerifiedEvidenceBundle {
  return verifyEvidenceBundle(bytes, t.keys, t.logs, t.keyless);
}

/** Reads the whole embedded log (for `tlog verify` and checkpoints). */
export async function readTransparencyLog(
  ctx: AppContext,
): Promise<{ bodies: Uint8Array[]; checkpoints: string[]; frontiers: FrontierNode[][] }> {
  const raw = await ctx.evidence().entries(TLOG, 0);
  const entries = raw.map((b, i) => parseStoredLogEntry(b, i));
  return {
    bodies: entries.map((e) => new Uint8Array(Buffer.from(e.body, "base64"))),
    checkpoints: entries.map((e) => e.checkpoint),
    frontiers: entries.map(frontierOf),
  };
}

/** What `tlog verify` found. */
export interface TransparencyLogVerification {
  readonly size: number;
  readonly origin: string;
  /** The latest signed checkpoint (save it to prove later that the log only grew). */
  readonly checkpoint?: string;
  readonly problems: readonly { readonly index: number; readonly reason: string }[];
  /** The consistency check against an earlier checkpoint, when one was given. */
  readonly consistentWith?: {
    readonly size: number;
    readonly ok: boolean;
    readonly reason?: string;
  };
}

/**
 * Re-derives the whole embedded log from its entries: every stored frontier and checkpoint must
 * be the one its entries give, every checkpoint signed by the log key; and, given an earlier
 * checkpoint, proves with a consistency proof that the log only grew since.
 */
export async function verifyTransparencyLog(
  ctx: AppContext,
  earlier?: string,
): Promise<TransparencyLogVerification> {
  const { log } = await identities(ctx);
  const raw = await ctx.evidence().entries(TLOG, 0);
  const problems: { index: number; reason: string }[] = [];
  const leaves: Uint8Array[] = [];
  let frontier: FrontierNode[] = [];
  let last: string | undefined;
  raw.forEach((bytes, i) => {
    let e: StoredLogEntry;
    try {
      e = parseStoredLogEntry(bytes, i);
    } catch (x) {
      problems.push({ index: i, reason: (x as Error).message });
      return;
    }
    const leaf = leafHash(new Uint8Array(Buffer.from(e.body, "base64")));
    leaves.push(leaf);
    frontier = frontierAppend(frontier, leaf);
    const root = frontierRoot(frontier);
    try {
      const cp = verifyCheckpointNote(e.checkpoint, log.origin, log.publicKey);
      if (cp.size !== i + 1 || !Buffer.from(cp.rootHash).equals(Buffer.from(root))) {
        problems.push({
          index: i,
          reason: `the checkpoint stored with entry ${i} is not the tree its entries give: entry ${i} or an earlier one was altered`,
        });
      }
    } catch (x) {
      problems.push({ index: i, reason: (x as Error).message });
    }
    last = e.checkpoint;
  });
  let consistentWith: TransparencyLogVerification["consistentWith"];
  if (earlier !== undefined) {
    try {
      const old = verifyCheckpointNote(earlier, log.origin, log.publicKey);
      try {
        verifyConsistency(
          old.size,
          leaves.length,
          old.size <= leaves.length ? consistencyProof(leaves, old.size) : [],
          old.rootHash,
          rootHash(leaves),
        );
        consistentWith = { size: old.size, ok: true };
      } catch (x) {
        consistentWith = { size: old.size, ok: false, reason: (x as Error).message };
      }
    } catch (x) {
      consistentWith = { size: -1, ok: false, reason: (x as Error).message };
    }
  }
  problems.push(...(await largerTreeProblems(ctx, leaves)));
  return {
    size: raw.length,
    origin: log.origin,
    ...(last ? { checkpoint: last } : {}),
    problems,
    ...(consistentWith ? { consistentWith } : {}),
  };
}

/**
 * What proves the log held more than it does, or another history: the witness's checkpoint (kept
 * outside the store) and the signed checkpoints in the bundles the store holds. The largest
 * proof of a size beyond the log's is named; the witness's tree must also be the log's prefix.
 */
async function largerTreeProblems(
  ctx: AppContext,
  leaves: readonly Uint8Array[],
): Promise<{ index: number; reason: string }[]> {
  const { log } = await identities(ctx);
  const n = leaves.length;
  const cut = (size: number, what: string): { index: number; reason: string } => ({
    index: n,
    reason: `the log holds ${n} entries, but ${what} signs a tree of ${size}: entries ${n}..${size - 1} were removed (the log's tail was truncated)`,
  });
  const problems: { index: number; reason: string }[] = [];
  const w = await readWitness(ctx, "tlog");
  if (w) {
    const what = `the checkpoint kept outside the store (${w.path})`;
    try {
      const cp = verifyCheckpointNote(new TextDecoder().decode(w.bytes), log.origin, log.publicKey);
      if (cp.size > n) {
        problems.push(cut(cp.size, what));
      } else if (
        !Buffer.from(rootHash(leaves.slice(0, cp.size))).equals(Buffer.from(cp.rootHash))
      ) {
        problems.push({
          index: cp.size - 1,
          reason: `the log's first ${cp.size} entries are not the tree ${what} signs: the log was rewritten`,
        });
      }
    } catch (x) {
      problems.push({ index: n, reason: `${what} does not verify: ${(x as Error).message}` });
    }
  }
  const bundle = await largestBundleTree(ctx, log);
  if (bundle && bundle.size > n && !problems.some((p) => p.index === n)) {
    problems.push(cut(bundle.size, `the checkpoint in the store's bundle ${bundle.digest}`));
  }
  return problems;
}

/** The bundle the store holds with the largest verified checkpoint of this log. */
async function largestBundleTree(
  ctx: AppContext,
  log: LogIdentity,
): Promise<{ size: number; digest: Digest } | undefined> {
  const store = ctx.evidence();
  const digests = [
    ...new Set(
      (await store.find({}))
        .filter((l) => l.mediaType === BUNDLE_MEDIA_TYPE)
        .map((l) => l.evidence),
    ),
  ];
  const found: { size: number; digest: Digest; note: string }[] = [];
  for (let i = 0; i < digests.length; i += 32) {
    await Promise.all(
      digests.slice(i, i + 32).map(async (digest) => {
        try {
          const b = JSON.parse(
            new TextDecoder().decode((await store.getBlob(digest)).bytes),
          ) as EvidenceBundle;
          const own = b.verificationMaterial.tlogEntries[0];
          if (own.logId.keyId === log.logId) {
            const size = Number(own.inclusionProof.treeSize);
            found.push({ size, digest, note: own.inclusionProof.checkpoint.envelope });
          }
        } catch {
          // an unreadable bundle proves nothing
        }
      }),
    );
  }
  // the largest whose checkpoint our log key signed
  for (const f of found.sort((a, b) => b.size - a.size)) {
    try {
      const cp = verifyCheckpointNote(f.note, log.origin, log.publicKey);
      if (cp.size === f.size) {
        return { size: f.size, digest: f.digest };
      }
    } catch {
      // not signed by this log: no proof
    }
  }
  return undefined;
}
