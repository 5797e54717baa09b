import { createHash } from "node:crypto";
import { AttestError } from "../core/errors.js";

/**
 * Merkle tree hashing of RFC 6962 / RFC 9162 (section 2.1), as Certificate Transparency, Rekor
 * and every C2SP transparency log use it: leaves hashed with a 0x00 prefix, interior nodes with
 * 0x01, the tree split at the largest power of two smaller than its size.
 */

const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash("sha256");
  for (const p of parts) {
    h.update(p);
  }
  return new Uint8Array(h.digest());
};
const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

/** HASH(0x00 || data) */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha(LEAF, data);
}

/** HASH(0x01 || left || right) */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha(NODE, left, right);
}

/** The largest power of two smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) {
    k *= 2;
  }
  return k;
}

/** The Merkle tree hash of leaves given by their leaf hashes (RFC 9162 2.1.1). */
export function rootHash(leaves: readonly Uint8Array[], from = 0, to = leaves.length): Uint8Array {
  const n = to - from;
  if (n === 0) {
    return sha();
  }
  if (n === 1) {
    return leaves[from] as Uint8Array;
  }
  const k = split(n);
  return nodeHash(rootHash(leaves, from, from + k), rootHash(leaves, from + k, to));
}

/** The audit path of leaf `index` in the tree of `leaves` (RFC 9162 2.1.3.1). */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      `leaf ${index} is not in a tree of ${leaves.length}`,
    );
  }
  const path = (m: number, from: number, to: number): Uint8Array[] => {
    const n = to - from;
    if (n <= 1) {
      return [];
    }
    const k = split(n);
    return m < k
      ? [...path(m, from, from + k), rootHash(leaves, from + k, to)]
      : [...path(m - k, from + k, to), rootHash(leaves, from, from + k)];
  };
  return path(index, 0, leaves.length);
}

/** The consistency proof between the first `size1` leaves and all of them (RFC 9162 2.1.4.1). */
export function consistencyProof(leaves: readonly Uint8Array[], size1: number): Uint8Array[] {
  const size2 = leaves.length;
  if (!Number.isInteger(size1) || size1 < 0 || size1 > size2) {
    throw new AttestError("ATTEST_VERIFY_FAILED", `no tree of ${size1} inside a tree of ${size2}`);
  }
  if (size1 === 0 || size1 === size2) {
    return [];
  }
  const sub = (m: number, from: number, to: number, whole: boolean): Uint8Array[] => {
    const n = to - from;
    if (m === n) {
      return whole ? [] : [rootHash(leaves, from, to)];
    }
    const k = split(n);
    return m <= k
      ? [...sub(m, from, from + k, whole), rootHash(leaves, from + k, to)]
      : [...sub(m - k, from + k, to, false), rootHash(leaves, from, from + k)];
  };
  return sub(size1, 0, size2, true);
}

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);
const odd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/**
 * Verifies an inclusion proof (RFC 9162 2.1.3.2). Sizes are plain numbers (exact to 2^53).
 * @throws AttestError ATTEST_VERIFY_FAILED naming what does not hold
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      `inclusion proof: leaf index ${index} is outside a tree of size ${size}`,
    );
  }
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) {
      throw new AttestError("ATTEST_VERIFY_FAILED", "inclusion proof: more hashes than the path");
    }
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) {
    throw new AttestError("ATTEST_VERIFY_FAILED", "inclusion proof: fewer hashes than the path");
  }
  if (!equal(r, root)) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      "inclusion proof: the computed root hash does not match the checkpoint's",
    );
  }
}

/**
 * Verifies that the tree of size1 with root1 is a prefix of the tree of size2 with root2
 * (RFC 9162 2.1.4.2).
 * @throws AttestError ATTEST_VERIFY_FAILED naming what does not hold
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  const fail = (why: string): never => {
    throw new AttestError("ATTEST_VERIFY_FAILED", `consistency proof ${size1} -> ${size2}: ${why}`);
  };
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0) {
    fail("bad tree sizes");
  }
  if (size2 < size1) {
    fail("the second tree is smaller than the first: the log was truncated");
  }
  if (size1 === size2) {
    if (proof.length !== 0) {
      fail("a proof between equal sizes must be empty");
    }
    if (!equal(root1, root2)) {
      fail("same size, different root hashes: the log was rewritten");
    }
    return;
  }
  if (size1 === 0) {
    if (proof.length !== 0) {
      fail("a proof from the empty tree must be empty");
    }
    return;
  }
  if (proof.length === 0) {
    fail("empty proof");
  }
  const path = [...proof];
  if (Number.isInteger(Math.log2(size1))) {
    // an exact power of two: the first tree is a complete subtree, its root starts the path
    path.unshift(root1);
  }
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Uint8Array;
  let sr = path[0] as Uint8Array;
  for (const c of path.slice(1)) {
    if (sn === 0) {
      fail("more hashes than the proof needs");
    }
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) {
    fail("fewer hashes than the proof needs");
  }
  if (!equal(fr, root1)) {
    fail("the first root hash does not match: the log's history was rewritten");
  }
  if (!equal(sr, root2)) {
    fail("the second root hash does not match");
  }
}
