import { describe, expect, it } from "vitest";
import {
  createAppContext,
  identities,
  signStatement,
  trustedKeys,
  verifyTransparencyLog,
} from "../../src/app/index.js";
import { statement, verifyEvidenceBundle } from "../../src/attest/index.js";
import { sha256 } from "../../src/core/digest.js";
import { tempDir } from "../support/tmp.js";

/**
 * Every part of a bundle cleanimg signs is covered: changing one byte of the payload, the
 * signature, a subject digest, an inclusion-proof hash, the checkpoint or the logged body makes
 * verification fail with a reason that names what broke.
 */
interface Bundle {
  dsseEnvelope: { payload: string; signatures: { sig: string }[] };
  verificationMaterial: {
    tlogEntries: {
      canonicalizedBody: string;
      inclusionProof: { hashes: string[]; treeSize: string; checkpoint: { envelope: string } };
    }[];
  };
}
const entry = (b: Bundle) =>
  b.verificationMaterial.tlogEntries[0] as Bundle["verificationMaterial"]["tlogEntries"][number];

describe("signed evidence bundles: tampering", () => {
  const setup = async () => {
    const ctx = createAppContext({ home: tempDir("cleanimg-bundle-"), env: {} });
    // a few entries first, so that the inclusion proof has hashes to alter
    for (let i = 0; i < 5; i++) {
      await signStatement(
        ctx,
        statement([{ name: "x", digest: sha256(`warm-up ${i}`) }], "https://example.test/p", { i }),
      );
    }
    const signed = await signStatement(
      ctx,
      statement([{ name: "app", digest: sha256("image") }], "https://example.test/p", {
        hello: "world",
      }),
    );
    const keys = await trustedKeys(ctx);
    const { log } = await identities(ctx);
    const verify = (b: unknown) =>
      verifyEvidenceBundle(new TextEncoder().encode(JSON.stringify(b)), keys, log);
    return { ctx, signed, verify };
  };
  const flip = (b64: string, at = 10): string => {
    const b = Buffer.from(b64, "base64");
    b[at % b.length] = (b[at % b.length] ?? 0) ^ 1;
    return b.toString("base64");
  };

  it("verifies untouched, offline, with its own proof and checkpoint", async () => {
    const { ctx, signed, verify } = await setup();
    const v = verify(signed.bundle);
    expect(v.logIndex).toBe(5);
    expect(v.statement.predicate).toEqual({ hello: "world" });
    expect((await verifyTransparencyLog(ctx)).problems).toEqual([]);
    await ctx.close();
  });

  const cases: [string, (b: Bundle) => void, RegExp][] = [
    [
      "a payload byte",
      (b) => (b.dsseEnvelope.payload = flip(b.dsseEnvelope.payload, 40)),
      /valid signature/,
    ],
    [
      "a signature byte",
      (b) =>
        ((b.dsseEnvelope.signatures[0] as { sig: string }).sig = flip(
          (b.dsseEnvelope.signatures[0] as { sig: string }).sig,
          20,
        )),
      /valid signature/,
    ],
    [
      "a subject digest (re-encoded payload, old signature)",
      (b) => {
        const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, "base64").toString());
        st.subject[0].digest.sha256 = "0".repeat(64);
        b.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString("base64");
      },
      /valid signature/,
    ],
    [
      "an inclusion-proof hash",
      (b) => {
        const p = entry(b).inclusionProof;
        p.hashes[0] = flip(p.hashes[0] as string);
      },
      /inclusion proof: the computed root hash does not match/,
    ],
    [
      "the checkpoint's root hash",
      (b) => {
        const p = entry(b).inclusionProof;
        const lines = p.checkpoint.envelope.split("\n");
        lines[2] = flip(lines[2] as string, 3);
        p.checkpoint.envelope = lines.join("\n");
      },
      /checkpoint: the signature by .* does not verify/,
    ],
    [
      "the checkpoint's signature",
      (b) => {
        const p = entry(b).inclusionProof;
        p.checkpoint.envelope = p.checkpoint.envelope.replace(
          / ([A-Za-z0-9+/=]+)\n$/,
          (_: string, s: string) => ` ${flip(s, 30)}\n`,
        );
      },
      /checkpoint: the signature by .* does not verify/,
    ],
    [
      "the logged body",
      (b) => {
        const e = entry(b);
        e.canonicalizedBody = flip(e.canonicalizedBody, 50);
      },
      /transparency log/,
    ],
    [
      "the proof's tree size",
      (b) => {
        const p = entry(b).inclusionProof;
        p.treeSize = String(Number(p.treeSize) + 1);
      },
      /checkpoint: it signs another tree/,
    ],
  ];
  it.each(cases)("changing %s fails, naming what broke", async (_what, tamper, reason) => {
    const { ctx, signed, verify } = await setup();
    const b = structuredClone(signed.bundle) as unknown as Bundle;
    tamper(b);
    expect(() => verify(b)).toThrow(reason);
    await ctx.close();
  });
});
