import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { keySigner } from "./keys.js";
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.js";
import { noteKeyHint, signCheckpoint, verifyCheckpointNote } from "./note.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));

// The Certificate Transparency reference vectors (RFC 6962 test data, as published by
// certificate-transparency and transparency-dev/merkle): leaves, roots for sizes 1..8, proofs.
const CT_LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map((h) => leafHash(unhex(h)));
const CT_ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const CT_INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];
const CT_CONSISTENCY = [
  {
    first: 2,
    second: 8,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    first: 6,
    second: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];

describe("Merkle tree (RFC 6962 / 9162)", () => {
  it("gives the reference root for every size 0..8", () => {
    expect(hex(rootHash([]))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    for (let n = 1; n <= 8; n++) {
      expect(hex(rootHash(CT_LEAVES.slice(0, n))), `size ${n}`).toBe(CT_ROOTS[n - 1]);
    }
  });

  it("makes and verifies the reference inclusion and consistency proofs", () => {
    for (const v of CT_INCLUSION) {
      const tree = CT_LEAVES.slice(0, v.size);
      expect(inclusionProof(tree, v.index).map(hex)).toEqual(v.proof);
      verifyInclusion(
        CT_LEAVES[v.index] as Uint8Array,
        v.index,
        v.size,
        v.proof.map(unhex),
        unhex(CT_ROOTS[v.size - 1] as string),
      );
    }
    for (const v of CT_CONSISTENCY) {
      expect(consistencyProof(CT_LEAVES.slice(0, v.second), v.first).map(hex)).toEqual(v.proof);
      verifyConsistency(
        v.first,
        v.second,
        v.proof.map(unhex),
        unhex(CT_ROOTS[v.first - 1] as string),
        unhex(CT_ROOTS[v.second - 1] as string),
      );
    }
  });

  const N = 40;
  const leaves = Array.from({ length: N }, (_, i) => leafHash(new TextEncoder().encode(`e${i}`)));
  const roots = Array.from({ length: N + 1 }, (_, n) => rootHash(leaves.slice(0, n)));
  const flip = (p: Uint8Array[], i: number): Uint8Array[] =>
    p.map((h, j) => (j === i ? h.map((b, k) => (k === 0 ? b ^ 1 : b)) : h));

  it("verifies every inclusion proof for every tree size up to 40, and rejects altered ones", () => {
    for (let n = 1; n <= N; n++) {
      const tree = leaves.slice(0, n);
      for (let i = 0; i < n; i++) {
        const p = inclusionProof(tree, i);
        const leaf = leaves[i] as Uint8Array;
        const root = roots[n] as Uint8Array;
        verifyInclusion(leaf, i, n, p, root);
        for (let j = 0; j < p.length; j++) {
          expect(() => verifyInclusion(leaf, i, n, flip(p, j), root)).toThrow(/root hash/);
        }
        expect(() => verifyInclusion(leaf, i, n, [...p, leaf], root)).toThrow();
        if (p.length > 0) {
          expect(() => verifyInclusion(leaf, i, n, p.slice(0, -1), root)).toThrow();
        }
        if (n > 1) {
          expect(() => verifyInclusion(leaf, (i + 1) % n, n, p, root)).toThrow();
        }
      }
    }
  });

  it("verifies every consistency proof between sizes up to 40, and rejects altered ones", () => {
    for (let n2 = 1; n2 <= N; n2++) {
      for (let n1 = 1; n1 <= n2; n1++) {
        const p = consistencyProof(leaves.slice(0, n2), n1);
        const r1 = roots[n1] as Uint8Array;
        const r2 = roots[n2] as Uint8Array;
        verifyConsistency(n1, n2, p, r1, r2);
        for (let j = 0; j < p.length; j++) {
          expect(() => verifyConsistency(n1, n2, flip(p, j), r1, r2)).toThrow();
        }
        if (n1 < n2) {
          // a rewritten history: the old root differs
          expect(() => verifyConsistency(n1, n2, p, roots[n1 - 1] as Uint8Array, r2)).toThrow();
        }
      }
    }
    expect(() =>
      verifyConsistency(5, 4, [], roots[5] as Uint8Array, roots[4] as Uint8Array),
    ).toThrow(/truncated/);
  });
});

// Real Rekor proofs and checkpoints: the tlog entries of the sigstore-conformance bundles.
const ATT = resolve(import.meta.dirname, "../../../shared/corpus/attestations");
const CONF = join(ATT, "sigstore-conformance/bundle-verify");
const PUBLIC_GOOD = JSON.parse(
  readFileSync(join(ATT, "sigstore-trust/trusted_root.public-good.json"), "utf8"),
);
interface Entry {
  logId: { keyId: string };
  canonicalizedBody: string;
  inclusionProof?: {
    logIndex: string;
    treeSize: string;
    rootHash: string;
    hashes: string[];
    checkpoint?: { envelope: string };
  };
}
function rekorCase(name: string): { inclusion: string; checkpoint: string } {
  const dir = join(CONF, name);
  const bundle = JSON.parse(readFileSync(join(dir, "bundle.sigstore.json"), "utf8"));
  const root = existsSync(join(dir, "trusted_root.json"))
    ? JSON.parse(readFileSync(join(dir, "trusted_root.json"), "utf8"))
    : PUBLIC_GOOD;
  const e = bundle.verificationMaterial.tlogEntries[0] as Entry;
  const p = e.inclusionProof;
  if (!p) {
    return { inclusion: "no proof", checkpoint: "no proof" };
  }
  const run = (f: () => void): string => {
    try {
      f();
      return "ok";
    } catch (x) {
      return (x as Error).message;
    }
  };
  const inclusion = run(() =>
    verifyInclusion(
      leafHash(new Uint8Array(Buffer.from(e.canonicalizedBody, "base64"))),
      Number(p.logIndex),
      Number(p.treeSize),
      p.hashes.map((h) => new Uint8Array(Buffer.from(h, "base64"))),
      new Uint8Array(Buffer.from(p.rootHash, "base64")),
    ),
  );
  const checkpoint = run(() => {
    const log = (
      root.tlogs as { logId: { keyId: string }; publicKey: { rawBytes: string } }[]
    ).find((t) => t.logId.keyId === e.logId.keyId);
    const envelope = p.checkpoint?.envelope ?? "";
    const key = createPublicKey({
      key: Buffer.from(log?.publicKey.rawBytes ?? "", "base64"),
      format: "der",
      type: "spki",
    });
    const origin = envelope.split("\n")[0] ?? "";
    const cp = verifyCheckpointNote(envelope, origin.split(" ")[0] ?? "", key);
    if (
      cp.size !== Number(p.treeSize) ||
      hex(cp.rootHash) !== hex(Buffer.from(p.rootHash, "base64"))
    ) {
      throw new Error("the checkpoint is for another tree than the proof");
    }
  });
  return { inclusion, checkpoint };
}

describe("Rekor inclusion proofs and checkpoints from sigstore-conformance", () => {
  const names = readdirSync(CONF).filter((n) => existsSync(join(CONF, n, "bundle.sigstore.json")));
  const good = [
    "happy-path-v0.1",
    "happy-path-v0.2",
    "happy-path-v0.3",
    "happy-path-v0.3-new-mediaType",
    "happy-path-intoto-in-dsse-v3",
    "bundle-with-sct-with-extensions",
    "managed-key-happy-path",
    "rekor2-happy-path",
    "rekor2-checkpoint-cosigned",
    "rekor2-checkpoint-multiple-cosigs",
    "rekor2-checkpoint-origin-not-first",
    "rekor2-checkpoint-two-sigs-from-origin",
    "rekor2-dsse-happy-path",
  ];
  it.each(good)("%s: the entry is in the log and the checkpoint is Rekor's", (name) => {
    expect(names).toContain(name);
    expect(rekorCase(name)).toEqual({ inclusion: "ok", checkpoint: "ok" });
  });

  const bad: [string, "inclusion" | "checkpoint", RegExp][] = [
    ["inclusion-proof-corrupted-hash_fail", "inclusion", /computed root hash does not match/],
    ["invalid-inclusion-proof_fail", "inclusion", /computed root hash does not match/],
    ["checkpoint-bad-keyhint_fail", "checkpoint", /no signature by the log key/],
    ["invalid-checkpoint-signature_fail", "checkpoint", /does not verify over the note body/],
    ["checkpoint-wrong-roothash_fail", "checkpoint", /another tree than the proof/],
    ["rekor2-checkpoint-missing-log-signature_fail", "checkpoint", /signature line/],
    ["rekor2-checkpoint-missing-origin_fail", "checkpoint", /origin line/],
    ["rekor2-checkpoint-missing-root-hash_fail", "checkpoint", /root hash/],
    ["rekor2-checkpoint-missing-size_fail", "checkpoint", /tree size/],
    ["rekor2-checkpoint-no-matching-signature_fail", "checkpoint", /no signature by the log key/],
  ];
  it.each(bad)("%s fails its %s check", (name, part, reason) => {
    expect(rekorCase(name)[part]).toMatch(reason);
  });
});

describe("signed-note checkpoints", () => {
  for (const type of ["ed25519", "ec"] as const) {
    it(`sign and verify with ${type}, and name what broke`, async () => {
      const { privateKey } =
        type === "ed25519"
          ? generateKeyPairSync("ed25519")
          : generateKeyPairSync("ec", { namedCurve: "P-256" });
      const pub = createPublicKey(privateKey);
      const cp = {
        origin: "cleanimg.local/log",
        size: 8,
        rootHash: unhex(CT_ROOTS[7] as string),
        extensions: [],
      };
      const note = await signCheckpoint(
        cp,
        "cleanimg.local/log",
        noteKeyHint("cleanimg.local/log", pub),
        keySigner(privateKey),
      );
      expect(note).toMatch(/^cleanimg.local\/log\n8\n/);
      const back = verifyCheckpointNote(note, "cleanimg.local/log", pub);
      expect(back.size).toBe(8);
      expect(hex(back.rootHash)).toBe(CT_ROOTS[7]);
      expect(() =>
        verifyCheckpointNote(note.replace("\n8\n", "\n9\n"), "cleanimg.local/log", pub),
      ).toThrow(/does not verify/);
      const other = createPublicKey(generateKeyPairSync("ed25519").privateKey);
      expect(() => verifyCheckpointNote(note, "cleanimg.local/log", other)).toThrow(
        /no signature by the log key/,
      );
    });
  }
});
