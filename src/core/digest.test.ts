import { describe, expect, it } from "vitest";
import { parseDigest, sha256, verifyBytes, verifyStream } from "./digest.js";
import { ToolError } from "./errors.js";

async function drain(it: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of it) {
    // consume
  }
}

async function* of(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    yield new TextEncoder().encode(p);
  }
}

describe("digests", () => {
  it("parses valid digests and rejects malformed ones", () => {
    const d = sha256("abc");
    expect(d).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(parseDigest(d)).toBe(d);
    for (const bad of [
      "sha256:abc",
      `sha256:${"A".repeat(64)}`,
      "md5:0123",
      "nocolon",
      `sha256:${"g".repeat(64)}`,
    ]) {
      expect(() => parseDigest(bad)).toThrow(ToolError);
    }
  });

  it("verifies streams and bytes, naming what failed", async () => {
    const d = sha256("hello world");
    await drain(verifyStream(of("hello ", "world"), { digest: d, size: 11, what: "blob x" }));
    await expect(
      drain(verifyStream(of("hello ", "there"), { digest: d, size: 11, what: "blob x" })),
    ).rejects.toMatchObject({
      code: "CORE_DIGEST_MISMATCH",
      message: expect.stringContaining("blob x"),
    });
    await expect(
      drain(verifyStream(of("hello"), { digest: d, size: 11, what: "blob y" })),
    ).rejects.toMatchObject({ code: "CORE_SIZE_MISMATCH" });
    await expect(
      drain(verifyStream(of("hello world!!"), { digest: d, size: 11, what: "blob z" })),
    ).rejects.toMatchObject({ code: "CORE_SIZE_MISMATCH" });
    expect(() =>
      verifyBytes(new TextEncoder().encode("nope"), { digest: d, what: "m" }),
    ).toThrowError(/m has digest/);
  });
});
