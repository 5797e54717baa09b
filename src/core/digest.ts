import { createHash, type Hash } from "node:crypto";
import { ToolError } from "./errors.js";

declare const digestBrand: unique symbol;
/** A validated content digest `algorithm:hex` (OCI image-spec descriptor digest grammar). */
export type Digest = string & { readonly [digestBrand]: true };

/** Algorithms we compute. Others parse (the grammar allows them) but cannot be verified. */
export type DigestAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Parses and validates a digest string.
 * @throws ToolError CORE_INVALID_DIGEST when the string is not a valid, supported digest
 */
export function parseDigest(s: string): Digest {
  if (!GRAMMAR.test(s)) {
    throw new ToolError("CORE_INVALID_DIGEST", `invalid digest "${truncate(s)}"`, {
      hint: "a digest looks like sha256:<64 lower-case hex characters>",
    });
  }
  const [alg, hex] = s.split(":", 2) as [string, string];
  if (alg !== "sha256" && alg !== "sha512") {
    throw new ToolError("CORE_INVALID_DIGEST", `unsupported digest algorithm "${alg}"`, {
      hint: "use sha256 or sha512",
    });
  }
  if (hex.length !== HEX_LENGTH[alg] || !/^[a-f0-9]+$/.test(hex)) {
    throw new ToolError(
      "CORE_INVALID_DIGEST",
      `invalid ${alg} digest "${truncate(s)}": expected ${HEX_LENGTH[alg]} lower-case hex characters`,
    );
  }
  return s as Digest;
}

/** True when `s` is a valid digest. */
export function isDigest(s: string): s is Digest {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** The algorithm part of a digest. */
export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(":")) as DigestAlgorithm;
}

/** The hex part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(":") + 1);
}

/** Computes the sha256 digest of bytes. */
export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}` as Digest;
}

/** Incremental hasher producing a {@link Digest}. */
export class Digester {
  readonly #hash: Hash;
  #size = 0;
  constructor(readonly algorithm: DigestAlgorithm = "sha256") {
    this.#hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
  }
  get size(): number {
    return this.#size;
  }
  digest(): Digest {
    return `${this.algorithm}:${this.#hash.digest("hex")}` as Digest;
  }
}

/** What a verifying stream checks, and how to name the blob in errors. */
export interface VerifyExpectation {
  readonly digest: Digest;
  /** Expected size in bytes; reading more is an error as soon as it happens. */
  readonly size?: number;
  /** Human description of the blob and where it came from, for error messages. */
  readonly what: string;
}

/**
 * Passes chunks through while hashing them; throws at the end when the digest or size differs,
 * and as soon as the stream grows past the expected size (bounded reads on hostile sources).
 * @throws ToolError CORE_DIGEST_MISMATCH, CORE_SIZE_MISMATCH
 */
export async function* verifyStream(
  source: AsyncIterable<Uint8Array>,
  expect: VerifyExpectation,
): AsyncGenerator<Uint8Array> {
  const d = new Digester(digestAlgorithm(expect.digest));
  for await (const chunk of source) {
    d.update(chunk);
    if (expect.size !== undefined && d.size > expect.size) {
      throw new ToolError(
        "CORE_SIZE_MISMATCH",
        `${expect.what} is larger than its descriptor says (${expect.size} bytes)`,
      );
    }
    yield chunk;
  }
  if (expect.size !== undefined && d.size !== expect.size) {
    throw new ToolError(
      "CORE_SIZE_MISMATCH",
      `${expect.what} has ${d.size} bytes, its descriptor says ${expect.size} (truncated blob?)`,
    );
  }
  const got = d.digest();
  if (got !== expect.digest) {
    throw new ToolError(
      "CORE_DIGEST_MISMATCH",
      `${expect.what} has digest ${got}, expected ${expect.digest}`,
    );
  }
}

/**
 * Checks that bytes match a digest (and size).
 * @throws ToolError CORE_DIGEST_MISMATCH, CORE_SIZE_MISMATCH
 */
export function verifyBytes(bytes: Uint8Array, expect: VerifyExpectation): void {
  if (expect.size !== undefined && bytes.byteLength !== expect.size) {
    throw new ToolError(
      "CORE_SIZE_MISMATCH",
      `${expect.what} has ${bytes.byteLength} bytes, its descriptor says ${expect.size}`,
    );
  }
  const d = new Digester(digestAlgorithm(expect.digest));
  d.update(bytes);
  const got = d.digest();
  if (got !== expect.digest) {
    throw new ToolError(
      "CORE_DIGEST_MISMATCH",
      `${expect.what} has digest ${got}, expected ${expect.digest}`,
    );
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
