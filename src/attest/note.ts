import { createHash, type KeyObject } from "node:crypto";
import { AttestError } from "../core/errors.js";
import { type Signer, verifySignature } from "./keys.js";

/**
 * Signed notes (C2SP signed-note) carrying transparency-log checkpoints (C2SP tlog-checkpoint):
 *
 *     <origin>\n<tree size>\n<base64 root hash>\n[extension lines\n]
 *     \n
 *     — <key name> <base64(4-byte key hint || signature)>\n
 *
 * Key hints: Ed25519 keys use C2SP's SHA-256(name || "\n" || 0x01 || key)[:4]; ECDSA keys use
 * the convention of Sigstore's Rekor, SHA-256(DER SubjectPublicKeyInfo)[:4], so Rekor's own
 * checkpoints verify with the same code.
 */

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Extra body lines (Rekor v1 writes "Timestamp: …"). */
  readonly extensions: readonly string[];
}

export interface NoteSignature {
  readonly name: string;
  readonly hint: Uint8Array;
  readonly signature: Uint8Array;
}

const EM_DASH = "\u2014";

/** The 4-byte key hint for a public key and name. */
export function noteKeyHint(name: string, publicKey: KeyObject): Uint8Array {
  const h = createHash("sha256");
  if (publicKey.asymmetricKeyType === "ed25519") {
    const raw = publicKey.export({ type: "spki", format: "der" }).subarray(-32);
    h.update(name, "utf8")
      .update("\n")
      .update(new Uint8Array([1]))
      .update(raw);
  } else {
    h.update(publicKey.export({ type: "spki", format: "der" }));
  }
  return new Uint8Array(h.digest().subarray(0, 4));
}

/** The checkpoint's note body (what is signed). */
export function checkpointBody(c: Checkpoint): string {
  return `${[c.origin, String(c.size), Buffer.from(c.rootHash).toString("base64"), ...c.extensions].join("\n")}\n`;
}

/** Signs a checkpoint; `hint` is {@link noteKeyHint} of the signer's public key. */
export async function signCheckpoint(
  c: Checkpoint,
  name: string,
  hint: Uint8Array,
  signer: Signer,
): Promise<string> {
  const body = checkpointBody(c);
  const { signature } = await signer.sign(new TextEncoder().encode(body));
  const blob = Buffer.concat([Buffer.from(hint), signature]).toString("base64");
  return `${body}\n${EM_DASH} ${name} ${blob}\n`;
}

/**
 * Parses a signed note holding a checkpoint, without verifying it.
 * @throws AttestError ATTEST_VERIFY_FAILED when the text is not a checkpoint note
 */
export function parseCheckpointNote(text: string): {
  body: string;
  checkpoint: Checkpoint;
  signatures: NoteSignature[];
} {
  const bad = (why: string): never => {
    throw new AttestError("ATTEST_VERIFY_FAILED", `checkpoint: ${why}`);
  };
  const cut = text.indexOf("\n\n");
  if (cut < 0 || !text.endsWith("\n")) {
    bad("not a signed note (a body, a blank line and signature lines are needed)");
  }
  const body = text.slice(0, cut + 1);
  const lines = body.slice(0, -1).split("\n");
  const [origin, size, root, ...extensions] = lines;
  if (!origin || !size || !/^[0-9]{1,16}$/.test(size) || root === undefined) {
    bad("the body needs an origin line, a decimal tree size and a root hash");
  }
  const rootHash = new Uint8Array(Buffer.from(root as string, "base64"));
  if (rootHash.length !== 32) {
    bad("the root hash is not 32 bytes of base64");
  }
  const signatures: NoteSignature[] = [];
  for (const line of text.slice(cut + 2, -1).split("\n")) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) {
      bad(`malformed signature line "${line.slice(0, 80)}"`);
    }
    const raw = Buffer.from((m as RegExpExecArray)[2] as string, "base64");
    if (raw.length < 5) {
      bad("a signature line is too short");
    }
    signatures.push({
      name: (m as RegExpExecArray)[1] as string,
      hint: new Uint8Array(raw.subarray(0, 4)),
      signature: new Uint8Array(raw.subarray(4)),
    });
  }
  if (signatures.length === 0) {
    bad("no signature lines");
  }
  return {
    body,
    checkpoint: { origin: origin as string, size: Number(size), rootHash, extensions },
    signatures,
  };
}

/**
 * Verifies a checkpoint note against a named public key and returns the checkpoint.
 * @throws AttestError ATTEST_VERIFY_FAILED when no signature by that key verifies
 */
export function verifyCheckpointNote(text: string, name: string, publicKey: KeyObject): Checkpoint {
  const note = parseCheckpointNote(text);
  const hint = noteKeyHint(name, publicKey);
  const candidates = note.signatures.filter(
    (s) => s.name === name && s.hint.every((b, i) => b === hint[i]),
  );
  if (candidates.length === 0) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      `checkpoint: no signature by the log key "${name}" (key hint ${Buffer.from(hint).toString("hex")})`,
    );
  }
  const data = new TextEncoder().encode(note.body);
  if (!candidates.some((s) => verifySignature(publicKey, data, s.signature))) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      `checkpoint: the signature by "${name}" does not verify over the note body`,
    );
  }
  return note.checkpoint;
}
