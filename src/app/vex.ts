import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import {
  BUNDLE_MEDIA_TYPE,
  dsseLogBody,
  type EvidenceBundle,
  IN_TOTO_PAYLOAD_TYPE,
  statement as inTotoStatement,
  isAbout,
  keyIdOf,
  keySigner,
  loadPrivateKey,
  type Statement,
  signEnvelope,
  verifyEvidenceBundle,
} from "../attest/index.js";
import {
  type EvidenceTrust,
  evidenceTrust,
  identityList,
  logDsseBody,
  recordAuditEvent,
  signStatement,
  trustedLogs,
} from "../chain/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { ToolError, UsageError } from "../core/errors.js";
import type { Issue } from "../core/issues.js";
import type { EvidenceLink } from "../store/index.js";
import {
  JUSTIFICATIONS,
  type Justification,
  readVex,
  VEX_STATUSES,
  type VexDocument,
  type VexStatus,
} from "../vex/index.js";
import type { AppContext } from "./context.js";
import { inspectImage } from "./images.js";
import { trustedPersonKeys } from "./keys.js";
import { TOOL } from "./sbom.js";

export const OPENVEX_MEDIA_TYPE = "application/vnd.openvex+json";
export const VEX_DECISION_KIND = "vex-decision";
/** A decision is an in-toto statement about the image whose predicate is the OpenVEX document. */
export const VEX_DECISION_PREDICATE = "https://openvex.dev/ns/v0.2.0";

/** The deciding person's private key (a PEM or cosign.key file's contents). */
export interface DecisionKey {
  readonly pem: string;
  readonly password?: string;
}

export interface VexDecision {
  readonly vulnerability: string;
  readonly status: string;
  readonly justification?: string;
  readonly impact?: string;
  readonly action?: string;
  /** Component purl the decision is about; without it, the image as a whole. */
  readonly component?: string;
  readonly author: string;
  /** Decision time (default now). */
  readonly timestamp?: Date;
}

/**
 * What OpenVEX and signing require of a decision before any work.
 * @throws UsageError CLI_USAGE naming what is missing or wrong
 */
function validateDecision(ctx: AppContext, d: VexDecision, hasKey: boolean): void {
  if (!(VEX_STATUSES as readonly string[]).includes(d.status)) {
    throw new UsageError("CLI_USAGE", `unknown VEX status "${d.status}"`, {
      hint: VEX_STATUSES.join(", "),
    });
  }
  if (d.justification && !(JUSTIFICATIONS as readonly string[]).includes(d.justification)) {
    throw new UsageError("CLI_USAGE", `unknown justification "${d.justification}"`, {
      hint: JUSTIFICATIONS.join(", "),
    });
  }
  if (d.status === "not_affected" && !d.justification && !d.impact) {
    throw new UsageError(
      "CLI_USAGE",
      "not_affected needs a --justification or an --impact statement",
      {
        hint: 'say why: --justification vulnerable_code_not_in_execute_path --impact "…"',
      },
    );
  }
  if (d.status === "affected" && !d.action) {
    throw new UsageError(
      "CLI_USAGE",
      "affected needs an --action statement (what users should do)",
      {
        hint: '--action "update to 1.2.4"',
      },
    );
  }
  if (!d.author.trim()) {
    throw new UsageError("CLI_USAGE", "a VEX decision needs its author", {
      hint: "--author you@example.com (or set CLEANIMG_AUTHOR)",
    });
  }
  if (!hasKey && !ctx.settings.fulcioURL) {
    throw new UsageError(
      "CLI_USAGE",
      "a VEX decision is signed by the person who makes it: give --key FILE (or configure keyless signing, CLEANIMG_FULCIO_URL)",
    );
  }
}

/**
 * Records a person's VEX decision about an image as an OpenVEX document, signed by that person
 * (their key, or keyless as the configured OIDC identity when CLEANIMG_FULCIO_URL is set) as an
 * in-toto statement in a Sigstore bundle logged in the embedded log, in the evidence store linked
 * to the image's manifest digest; every later scan of that image applies it once its signature
 * verifies against the people this site trusts (see verifiedVexDecisions).
 * @throws UsageError CLI_USAGE for a status, justification or missing reason OpenVEX forbids,
 *   or when there is no key to sign with
 */
export async function addVexDecision(
  ctx: AppContext,
  ref: string,
  d: VexDecision,
  opts: { readonly key?: DecisionKey } = {},
): Promise<{ image: string; document: string; link: EvidenceLink; signer: string }> {
  validateDecision(ctx, d, opts.key !== undefined);
  // read before any work: a wrong passphrase fails here
  const key = opts.key ? loadPrivateKey(opts.key.pem, opts.key.password) : undefined;
  const img = await inspectImage(ctx, ref, { record: false });
  const digest = img.manifest.digest;
  const name =
    (
      ref
        .replace(/^[a-z-]+:(\/\/)?/, "")
        .split("/")
        .pop() ?? "image"
    ).split(/[:@]/)[0] ?? "image";
  const product = `pkg:oci/${encodeURIComponent(name.toLowerCase())}@${encodeURIComponent(digest)}`;
  const timestamp = `${(d.timestamp ?? new Date()).toISOString().slice(0, 19)}Z`;
  const statement = {
    vulnerability: { name: d.vulnerability },
    timestamp,
    products: [
      {
        "@id": product,
        identifiers: { purl: product },
        hashes: { "sha-256": digest.replace(/^sha256:/, "") },
        ...(d.component ? { subcomponents: [{ "@id": d.component }] } : {}),
      },
    ],
    status: d.status as VexStatus,
    ...(d.justification ? { justification: d.justification as Justification } : {}),
    ...(d.impact ? { impact_statement: d.impact } : {}),
    ...(d.action ? { action_statement: d.action } : {}),
  };
  const body = {
    "@context": "https://openvex.dev/ns/v0.2.0",
    author: d.author,
    role: "person",
    timestamp,
    version: 1,
    tooling: `${TOOL.name} ${TOOL.version} (vex add)`,
    statements: [statement],
  };
  const id = `urn:cleanimg:vex:${sha256(JSON.stringify(body))}`;
  const { "@context": context, ...rest } = body;
  const document = `${JSON.stringify({ "@context": context, "@id": id, ...rest }, null, 2)}\n`;
  const bytes = new TextEncoder().encode(document);
  readVex(bytes, "vex add"); // what is stored must read back
  const stmt = inTotoStatement([{ name: product, digest }], VEX_DECISION_PREDICATE, {
    "@context": context,
    "@id": id,
    ...rest,
  });
  const signed = key
    ? await signWithPersonKey(ctx, stmt, key)
    : await signKeylessDecision(ctx, stmt);
  const store = ctx.evidence();
  const blob = await store.putBlob(signed.bytes, BUNDLE_MEDIA_TYPE);
  const annotations = {
    vulnerability: d.vulnerability,
    status: d.status,
    author: d.author,
    signer: signed.signer,
    ...(d.component ? { component: d.component } : {}),
  };
  // the decision and the audit event that records it are made together or not at all
  await recordAuditEvent(
    ctx,
    {
      action: "vex-decision",
      subject: digest,
      subjectName: ref,
      evidence: { document: blob },
      details: annotations,
    },
    [{ subject: digest, evidence: blob, kind: VEX_DECISION_KIND, annotations }],
  );
  const [link] = await store.find({ subject: digest, evidence: blob, kind: VEX_DECISION_KIND });
  if (!link) {
    throw new ToolError("STORE_NOT_FOUND", `the decision's link ${blob} was not kept`);
  }
  return { image: digest, document, link, signer: signed.signer };
}

/**
 * Signs a decision with the person's key into a bundle of the form signStatement makes (DSSE
 * envelope, the embedded log's entry and inclusion proof); the signer is named by its key id.
 */
async function signWithPersonKey(
  ctx: AppContext,
  stmt: Statement,
  key: KeyObject,
): Promise<{ bytes: Uint8Array; signer: string }> {
  const signer = keySigner(key);
  const envelope = await signEnvelope(
    IN_TOTO_PAYLOAD_TYPE,
    new TextEncoder().encode(JSON.stringify(stmt)),
    [signer],
  );
  const pem = createPublicKey(key).export({ type: "spki", format: "pem" }).toString();
  const body = dsseLogBody(envelope, new TextEncoder().encode(JSON.stringify(envelope)), pem);
  const entry = await logDsseBody(ctx, body);
  const bundle: EvidenceBundle = {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: {
      publicKey: { hint: signer.keyid },
      tlogEntries: [entry],
    },
    dsseEnvelope: envelope,
  };
  return { bytes: new TextEncoder().encode(JSON.stringify(bundle)), signer: signer.keyid };
}

/** Signs a decision keyless (Fulcio, Rekor) as the configured OIDC identity; named by its SAN. */
async function signKeylessDecision(
  ctx: AppContext,
  stmt: Statement,
): Promise<{ bytes: Uint8Array; signer: string }> {
  const s = await signStatement(ctx, stmt);
  const raw = s.bundle.verificationMaterial.certificate?.rawBytes;
  const san = raw
    ? (new X509Certificate(Buffer.from(raw, "base64")).subjectAltName ?? "")
        .split(",")
        .map((x) => x.trim().replace(/^(URI|email|DNS):/, ""))[0]
    : undefined;
  return { bytes: s.bytes, signer: san || "unknown keyless identity" };
}

/**
 * Whose decisions are applied: the public keys in `$CLEANIMG_HOME/keys/trusted-people/`
 * (`key trust --person FILE`), and keyless identities in CLEANIMG_TRUSTED_PEOPLE ("SAN|ISSUER"
 * entries split by ";", with CLEANIMG_SIGSTORE_TRUSTED_ROOT), with the transparency logs
 * evidence verification trusts. The keys that sign evidence (this store's, keys/trusted/) and
 * the CI identities of CLEANIMG_TRUSTED_IDENTITIES are not people and are not trusted here.
 */
export type DecisionTrust = EvidenceTrust;

export async function decisionTrust(ctx: AppContext): Promise<DecisionTrust> {
  const keys = await trustedPersonKeys(ctx);
  const logs = await trustedLogs(ctx);
  const people = identityList(
    ctx.settings.trustedPeople,
    "CLEANIMG_TRUSTED_PEOPLE",
    "alice@example.com|https://accounts.google.com",
  );
  const root = people.length > 0 ? (await evidenceTrust(ctx)).keyless?.trustedRoot : undefined;
  return {
    keys,
    logs,
    ...(root !== undefined ? { keyless: { trustedRoot: root, identities: people } } : {}),
  };
}

/** A stored decision that verified: its OpenVEX document and who signed it. */
export type CheckedDecision =
  | { readonly ok: true; readonly document: Uint8Array; readonly signer: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Verifies a stored decision: a bundle signed by a trusted person (see DecisionTrust), logged,
 * whose statement is an OpenVEX document about this image. Never throws: what failed is the
 * reason.
 */
export function checkVexDecision(
  bytes: Uint8Array,
  image: Digest,
  trust: DecisionTrust,
): CheckedDecision {
  let bundle: Partial<EvidenceBundle> & { "@context"?: unknown };
  try {
    bundle = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { ok: false, reason: "it is not JSON" };
  }
  if (bundle?.mediaType !== BUNDLE_MEDIA_TYPE) {
    return {
      ok: false,
      reason:
        typeof bundle?.["@context"] === "string"
          ? "it is not signed (recorded before decisions were signed): record it again with vex add --key"
          : "it is not a signed decision",
    };
  }
  let verified: ReturnType<typeof verifyEvidenceBundle>;
  try {
    verified = verifyEvidenceBundle(bytes, trust.keys, trust.logs, trust.keyless);
  } catch (e) {
    const hint = bundle.verificationMaterial?.publicKey?.hint;
    if (hint !== undefined && !trust.keys.some((k) => keyIdOf(k) === hint)) {
      return {
        ok: false,
        reason: `signed by key ${hint}, which is not trusted for VEX decisions (trust a person with key trust --person FILE)`,
      };
    }
    return { ok: false, reason: `its signature does not verify: ${(e as Error).message}` };
  }
  const st = verified.statement;
  if (st.predicateType !== VEX_DECISION_PREDICATE) {
    return { ok: false, reason: `it signs ${st.predicateType}, not an OpenVEX decision` };
  }
  if (!isAbout(st, image)) {
    return { ok: false, reason: "its signed statement is about another image" };
  }
  return {
    ok: true,
    document: new TextEncoder().encode(JSON.stringify(st.predicate)),
    signer: verified.keyids.join(", "),
  };
}

/**
 * The `vex add` decisions about an image that verify (see checkVexDecision), as documents to
 * apply; every decision that does not verify is left out with an issue naming it and why.
 */
export async function verifiedVexDecisions(
  ctx: AppContext,
  image: Digest,
): Promise<{ documents: { name: string; digest: Digest; doc: VexDocument }[]; issues: Issue[] }> {
  const store = ctx.evidence();
  const links = await store.find({ subject: image, kind: VEX_DECISION_KIND });
  const documents: { name: string; digest: Digest; doc: VexDocument }[] = [];
  const issues: Issue[] = [];
  if (links.length === 0) {
    return { documents, issues };
  }
  const trust = await decisionTrust(ctx);
  for (const l of links) {
    const a = l.annotations;
    const what = `${a["vulnerability"] ?? "?"} ${a["status"] ?? "?"} by ${a["author"] ?? "unknown"}`;
    let check: CheckedDecision;
    let name = "";
    let doc: VexDocument | undefined;
    try {
      check = checkVexDecision((await store.getBlob(l.evidence)).bytes, image, trust);
      if (check.ok) {
        name = `evidence ${l.evidence} (vex add by ${a["author"] ?? "unknown"}, signed by ${check.signer})`;
        doc = readVex(check.document, name);
      }
    } catch (e) {
      // an altered blob (the store re-hashes it), or a signed document that does not read
      check = { ok: false, reason: (e as Error).message };
    }
    if (check.ok && doc) {
      documents.push({ name, digest: l.evidence, doc });
    } else if (!check.ok) {
      issues.push({
        code: "VEX_DECISION_NOT_APPLIED",
        message: `VEX decision ${l.evidence} (recorded as ${what}) not applied: ${check.reason}`,
        subject: l.evidence,
      });
    }
  }
  return { documents, issues };
}
