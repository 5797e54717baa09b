import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { readTar, type TarEntry } from "../../src/oci/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";

// Hostile layers with PAX global headers, generated here: a reader that copied the global
// records into every entry spent time proportional to (entries x global records), hours for a
// 572 KB layer. Work per entry must depend on that entry's own bytes only.

const BLOCK = 512;

/** A raw tar header block with the given type flag and size (checksum computed). */
function header(name: string, flag: string, size: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, "utf8");
  b.write("0000644\0", 100);
  b.write("0000000\0", 108);
  b.write("0000000\0", 116);
  b.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  b.write("00000000000\0", 136);
  b.write(flag, 156);
  b.write("ustar\0", 257);
  b.write("00", 263);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) {
    sum += x;
  }
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return b;
}

/** PAX records `"%d key=value\n"` with the length prefix counting itself. */
function paxRecords(keys: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < keys; i++) {
    const body = ` k${i}=v\n`;
    let len = body.length + 1;
    while (String(len).length + body.length !== len) {
      len++;
    }
    parts.push(`${len}${body}`);
  }
  return Buffer.from(parts.join(""));
}

function padded(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((BLOCK - (b.length % BLOCK)) % BLOCK)]);
}

/** One global header of `keys` records, then `entries` empty files, then the end marker. */
function hostileTar(keys: number, entries: number): Buffer {
  const pax = paxRecords(keys);
  const parts = [header("pax_global_header", "g", pax.length), padded(pax)];
  for (let i = 0; i < entries; i++) {
    parts.push(header(`f${i}`, "0", 0));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

async function* once(b: Uint8Array): AsyncIterable<Uint8Array> {
  yield b;
}

describe("hostile layers: PAX global headers", () => {
  it("shares one parsed global header between the entries it covers (no per-entry copy)", async () => {
    const seen: TarEntry[] = [];
    await readTar(once(hostileTar(3000, 2000)), {
      onEntry: (e) => {
        seen.push(e);
        return undefined;
      },
    });
    expect(seen).toHaveLength(2000);
    const first = seen[0]?.paxGlobal;
    expect(first && Object.keys(first)).toHaveLength(3000);
    // the same object for every entry: the global records were not copied per entry
    expect(seen.every((e) => e.paxGlobal === first && e.pax === undefined)).toBe(true);
  });

  it("refuses a PAX header with more records than any real archive carries", async () => {
    await expect(
      readTar(once(hostileTar(77_000, 10)), { onEntry: () => undefined }),
    ).rejects.toMatchObject({ code: "CORE_LIMIT_EXCEEDED" });
  });

  it("refuses more global headers than the limit", async () => {
    const pax = paxRecords(1);
    const parts: Buffer[] = [];
    for (let i = 0; i < 100; i++) {
      parts.push(header("pax_global_header", "g", pax.length), padded(pax));
    }
    parts.push(Buffer.alloc(2 * BLOCK));
    await expect(
      readTar(once(Buffer.concat(parts)), { onEntry: () => undefined }),
    ).rejects.toMatchObject({ code: "CORE_LIMIT_EXCEEDED", message: /global PAX headers/ });
  });

  it("answers `image files` on the 572 KB layer with a 77k-key global header and 60k entries at once, with a clear error", async () => {
    const dir = join(tempDir("cleanimg-hostile-"), "img");
    const tar = hostileTar(77_000, 60_000);
    await buildImageLayout({ dir, layers: [{ kind: "raw", tar }], compression: "gzip" });
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        resolve(import.meta.dirname, "../../src/cli/main.ts"),
        "--home",
        tempDir(),
        "image",
        "files",
        `oci:${dir}`,
      ],
      { encoding: "utf8", timeout: 100_000 },
    );
    expect(r.signal).toBeNull();
    expect(r.stderr).toMatch(/PAX header with more than \d+ records/);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/PAX header with more than \d+ records/);
  });
});

/** One PAX record `"%d key=value\n"`, its length prefix counting itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) {
    len++;
  }
  return Buffer.from(`${len}${body}`);
}

/** A file entry whose PAX header (per entry, or global) sets its mtime. */
function tarWithMtime(mtime: string, flag: "x" | "g"): Buffer {
  const pax = paxRecord("mtime", mtime);
  return Buffer.concat([
    header(flag === "g" ? "pax_global_header" : "PaxHeader/f", flag, pax.length),
    padded(pax),
    header("f", "0", 0),
    Buffer.alloc(2 * BLOCK),
  ]);
}

describe("hostile layers: PAX times (negative: a non-number mtime reached utimes as NaN or Infinity, and export said 'this looks like a bug')", () => {
  for (const flag of ["x", "g"] as const) {
    it(`refuses a PAX mtime that is not a time a Date can hold (${flag === "g" ? "global" : "per entry"})`, async () => {
      for (const bad of [
        "abc",
        "1e400",
        "NaN",
        "1e300",
        "Infinity",
        "",
        "99999999999999999999",
        "0x10",
      ]) {
        await expect(
          readTar(once(tarWithMtime(bad, flag)), { onEntry: () => undefined }),
          bad,
        ).rejects.toMatchObject({ code: "OCI_TAR_INVALID", message: /invalid PAX mtime/ });
      }
    });
    it(`reads a PAX mtime with a fraction or a sign as whole seconds (${flag === "g" ? "global" : "per entry"})`, async () => {
      for (const [v, want] of [
        ["1700000000.75", 1700000000],
        ["-1.5", -2],
        ["0", 0],
      ] as const) {
        const seen: TarEntry[] = [];
        await readTar(once(tarWithMtime(v, flag)), {
          onEntry: (e) => {
            seen.push(e);
            return undefined;
          },
        });
        expect(
          seen.map((e) => e.mtime),
          v,
        ).toEqual([want]);
      }
    });
  }
});
