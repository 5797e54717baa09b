import { pae } from "../attest/index.js";
import { isToolError, ToolError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { canonicalJson } from "./canonical.js";
import { type InTotoKey, type InTotoSigner, inTotoSign, verifyInTotoSignature } from "./keys.js";

/**
 * in-toto metadata (layouts and links) in either envelope the reference implementation writes:
 * the classic Metablock `{signed, signatures: [{keyid, sig}]}` signed over canonical JSON, or a
 * DSSE envelope (payloadType application/vnd.in-toto+json) signed over its PAE.
 */

export const IN_TOTO_DSSE_TYPE = "application/vnd.in-toto+json";

export type Artifacts = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface Link {
  readonly _type: "link";
  readonly name: string;
  readonly command: readonly string[];
  readonly materials: Artifacts;
  readonly products: Artifacts;
  readonly byproducts: Readonly<Record<string, unknown>>;
  readonly environment: Readonly<Record<string, unknown>>;
}

export type Rule = readonly string[];

export interface Step {
  readonly _type: "step";
  readonly name: string;
  readonly pubkeys: readonly string[];
  readonly threshold: number;
  readonly expected_command: readonly string[];
  readonly expected_materials: readonly Rule[];
  readonly expected_products: readonly Rule[];
}

export interface Inspection {
  readonly _type: "inspection";
  readonly name: string;
  readonly run: readonly string[];
  readonly expected_materials: readonly Rule[];
  readonly expected_products: readonly Rule[];
}

export interface Layout {
  readonly _type: "layout";
  readonly expires: string;
  readonly readme?: string;
  readonly keys: Readonly<Record<string, InTotoKey>>;
  readonly steps: readonly Step[];
  readonly inspect: readonly Inspection[];
}

export interface Metadata<T> {
  readonly signed: T;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
  readonly envelope: "metablock" | "dsse";
  /** The bytes the signatures are over. */
  readonly signedBytes: Uint8Array;
}

/**
 * Parses a layout or link file in either envelope.
 * @throws ToolError INTOTO_METADATA_INVALID naming the file and what is wrong; CORE_LIMIT_EXCEEDED
 *   when it is nested too deep to be walked
 */
export function parseMetadata<T = Layout | Link>(bytes: Uint8Array, name: string): Metadata<T> {
  let doc: Record<string, unknown>;
  try {
    doc = parseJson(bytes, name) as Record<string, unknown>;
  } catch (e) {
    if (isToolError(e)) {
      throw e; // nested too deep: hostile input (CORE_LIMIT_EXCEEDED), named
    }
    throw new ToolError("INTOTO_METADATA_INVALID", `${name} is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc["payloadType"] === "string" && typeof doc["payload"] === "string") {
    if (doc["payloadType"] !== IN_TOTO_DSSE_TYPE) {
      throw new ToolError(
        "INTOTO_METADATA_INVALID",
        `${name}: DSSE payloadType ${String(doc["payloadType"])} is not ${IN_TOTO_DSSE_TYPE}`,
      );
    }
    const payload = Buffer.from(doc["payload"] as string, "base64");
    const sigs = (doc["signatures"] as { keyid?: string; sig: string }[] | undefined) ?? [];
    return {
      signed: parseJson(payload, `${name}'s DSSE payload`) as T,
      // DSSE signatures are base64; kept as hex like the classic ones
      signatures: sigs.map((s) => ({
        keyid: s.keyid ?? "",
        sig: Buffer.from(s.sig, "base64").toString("hex"),
      })),
      envelope: "dsse",
      signedBytes: pae(IN_TOTO_DSSE_TYPE, payload),
    };
  }
  if (!doc["signed"] || typeof doc["signed"] !== "object" || !Array.isArray(doc["signatures"])) {
    throw new ToolError(
      "INTOTO_METADATA_INVALID",
      `${name} is neither an in-toto Metablock ({signed, signatures}) nor a DSSE envelope`,
    );
  }
  return {
    signed: doc["signed"] as T,
    signatures: doc["signatures"] as { keyid: string; sig: string }[],
    envelope: "metablock",
    signedBytes: canonicalJson(doc["signed"]),
  };
}

/** Whether the metadata carries a valid signature by this key (matched by key id). */
export function signedBy<T>(m: Metadata<T>, key: InTotoKey): boolean {
  return m.signatures.some(
    (s) => s.keyid === key.keyid && verifyInTotoSignature(key, m.signedBytes, s.sig),
  );
}

/**
 * Signs metadata (adding to its signatures, replacing an earlier one by the same key) and
 * returns the file's bytes, in the envelope asked for.
 */
export function signMetadata(
  signed: unknown,
  signers: readonly InTotoSigner[],
  envelope: "metablock" | "dsse",
  existing: readonly { keyid: string; sig: string }[] = [],
): Uint8Array {
  const ids = new Set(signers.map((s) => s.key.keyid));
  const keep = existing.filter((s) => !ids.has(s.keyid));
  if (envelope === "dsse") {
    const payload = new TextEncoder().encode(JSON.stringify(signed));
    const data = pae(IN_TOTO_DSSE_TYPE, payload);
    return new TextEncoder().encode(
      `${JSON.stringify(
        {
          payloadType: IN_TOTO_DSSE_TYPE,
          payload: Buffer.from(payload).toString("base64"),
          signatures: [
            ...keep.map((s) => ({
              keyid: s.keyid,
              sig: Buffer.from(s.sig, "hex").toString("base64"),
            })),
            ...signers.map((s) => ({
              keyid: s.key.keyid,
              sig: Buffer.from(inTotoSign(s, data), "hex").toString("base64"),
            })),
          ],
        },
        null,
        2,
      )}\n`,
    );
  }
  const data = canonicalJson(signed);
  return new TextEncoder().encode(
    `${JSON.stringify(
      {
        signatures: [
          ...keep,
          ...signers.map((s) => ({ keyid: s.key.keyid, sig: inTotoSign(s, data) })),
        ],
        signed,
      },
      null,
      4,
    )}\n`,
  );
}
