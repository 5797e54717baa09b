import { describe, expect, it } from "vitest";
import type { Digest } from "../core/digest.js";
import { isAbout, type Statement, statement } from "./statement.js";

const A = `sha256:${"a".repeat(64)}` as Digest;
const B = `sha256:${"b".repeat(64)}` as Digest;

describe("isAbout", () => {
  it("matches a subject by algorithm and hex, and nothing else", () => {
    const st = statement([{ name: "x", digest: A }], "t", {});
    expect(isAbout(st, A)).toBe(true);
    expect(isAbout(st, B)).toBe(false);
    expect(isAbout(st, `sha512:${"a".repeat(64)}` as Digest)).toBe(false);
  });

  it("is false, not a throw, on subjects that are not the in-toto shape", () => {
    for (const subject of [
      undefined,
      null,
      "x",
      [null],
      [{}],
      [{ digest: null }],
      [{ digest: "a" }],
    ]) {
      expect(isAbout({ subject } as unknown as Statement, A)).toBe(false);
    }
  });
});
