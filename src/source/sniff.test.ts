import { describe, expect, it } from "vitest";
import type { FileNode, Sniffer } from "./image-fs.js";
import { sniffSink } from "./image-fs.js";

// A small deterministic generator, so a failure names a reproducible case.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const MAGIC = Uint8Array.from([0xff, 0x47, 0x6f, 0x21]);

function sniffer(over: Partial<Sniffer> = {}, judged = true): Sniffer {
  return {
    id: "t",
    magic: MAGIC,
    capture: 40,
    lookahead: 3,
    // a match is real when the byte after the magic is 1 (a literal copy carries 0)
    ...(judged ? { accept: (h: Uint8Array) => h[4] === 1 } : {}),
    match: (_n: FileNode) => true,
    ...over,
  };
}

/** What a search over the whole file captures: the reference the streaming sink must equal. */
function reference(sn: Sniffer, file: Uint8Array): Uint8Array | undefined {
  const need = sn.magic.length + (sn.lookahead ?? 0);
  const buf = Buffer.from(file);
  for (let from = 0; ; ) {
    const i = buf.indexOf(Buffer.from(sn.magic), from);
    if (i < 0 || (sn.anchored && i > 0) || file.length - i < need) {
      return undefined;
    }
    if (!sn.accept || sn.accept(file.subarray(i, i + need))) {
      return file.slice(i, i + Math.min(sn.capture, file.length - i));
    }
    if (sn.anchored) {
      return undefined;
    }
    from = i + 1;
  }
}

function streamed(sn: Sniffer, file: Uint8Array, cuts: number[]): Uint8Array | undefined {
  let got: Uint8Array | undefined;
  const sink = sniffSink(sn, (b) => (got = b), file.length);
  let at = 0;
  for (const c of [...cuts, file.length]) {
    void sink.write(file.subarray(at, c));
    at = c;
  }
  void sink.close();
  return got;
}

/** A file of random bytes with real and literal magics planted, some near the end. */
function fileOf(r: () => number): Uint8Array {
  const n = 1 + Math.floor(r() * 300);
  const f = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  for (let k = Math.floor(r() * 4); k > 0; k--) {
    const at = Math.floor(r() * n);
    f.set(MAGIC.subarray(0, Math.min(4, n - at)), at);
    if (at + 4 < n) {
      f[at + 4] = r() < 0.5 ? 1 : 0;
    }
  }
  return f;
}

function cutsOf(r: () => number, n: number): number[] {
  const cuts: number[] = [];
  for (let at = 0; ; ) {
    // mostly short pieces, so boundaries fall inside magics and lookaheads
    at += 1 + Math.floor(r() * (r() < 0.5 ? 4 : 60));
    if (at >= n) {
      return cuts;
    }
    cuts.push(at);
  }
}

describe("sniffSink", () => {
  it("captures what a search over the whole file finds, however the file is cut", () => {
    const r = rng(20261207);
    for (const sn of [sniffer(), sniffer({ lookahead: 0 }, false), sniffer({ anchored: true })]) {
      let found = 0;
      for (let t = 0; t < 3000; t++) {
        const file = fileOf(r);
        if (sn.anchored && r() < 0.5) {
          file.set(MAGIC.subarray(0, Math.min(4, file.length)), 0);
          if (file.length > 4) {
            file[4] = 1;
          }
        }
        const want = reference(sn, file);
        found += want ? 1 : 0;
        const cuts = cutsOf(r, file.length);
        expect(
          streamed(sn, file, cuts),
          `file ${Buffer.from(file).toString("hex")} cut at ${cuts}`,
        ).toEqual(want);
      }
      // the cases include matches, not only misses
      expect(found).toBeGreaterThan(300);
    }
  });

  it("finds a match whose magic and lookahead are split over three chunks", () => {
    const file = Uint8Array.from([9, 9, ...MAGIC, 1, 7, 7, 5, 5]);
    expect(streamed(sniffer(), file, [3, 5, 7])).toEqual(file.slice(2));
  });

  it("skips a literal copy cut by a boundary and takes the real blob after it", () => {
    const file = Uint8Array.from([...MAGIC, 0, 0, 0, 8, ...MAGIC, 1, 2, 3, 4]);
    expect(streamed(sniffer(), file, [2, 6, 9, 10])).toEqual(file.slice(8));
  });
});
