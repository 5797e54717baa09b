// Negative test: storedZip wrote archives that did not read back as written: a name with a
// leading BOM (zipEntries' decoder drops it) or a lone surrogate came back changed, a name over
// 65,535 bytes wrapped its 16-bit length, and 65,535 members read as a Zip64 marker. It now
// refuses them (undefined), and the Java reducer then keeps the archive whole.
import { describe, expect, it } from "vitest";
import { storedZip, zipEntries, zipRead } from "./zip.js";

const data = new TextEncoder().encode("hello");

function roundTrips(members: { name: string; data: Uint8Array }[]): boolean {
  const z = storedZip(members);
  if (!z) {
    return false;
  }
  const es = zipEntries(z);
  return (
    typeof es !== "string" &&
    es.length === members.length &&
    es.every(
      (e, i) =>
        e.name === members[i]?.name &&
        Buffer.compare(zipRead(z, e, 1 << 20) ?? new Uint8Array(), members[i]?.data ?? data) === 0,
    )
  );
}

describe("storedZip, negative: names and counts the format cannot carry", () => {
  it.each([
    ["a leading BOM", "\uFEFFlib.jar"],
    ["a lone surrogate", "a\uD800.jar"],
    ["a name over 65,535 bytes", "a".repeat(65_536)],
  ])("refuses %s rather than write a name that reads back otherwise", (_what, name) => {
    expect(storedZip([{ name, data }])).toBeUndefined();
  });

  it("refuses 65,535 members (the count that marks Zip64)", () => {
    const many = Array.from({ length: 65_535 }, (_, i) => ({ name: `m${i}`, data }));
    expect(storedZip(many)).toBeUndefined();
    expect(roundTrips(many.slice(1))).toBe(true);
  });

  it("writes what reads back exactly otherwise", () => {
    expect(
      roundTrips([
        { name: "META-INF/MANIFEST.MF", data },
        { name: "lib/é.jar", data },
        { name: "lib/é.jar", data: new Uint8Array() },
      ]),
    ).toBe(true);
  });
});
