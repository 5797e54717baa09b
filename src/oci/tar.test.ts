import { describe, expect, it } from "vitest";
import { readTar, type TarEntry } from "./tar.js";
import { encodeTarHeader, TAR_END, tarPadding } from "./tar-write.js";

async function* chunks(b: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) {
    yield b.subarray(i, i + size);
  }
}

function archive(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat([...parts, TAR_END]);
}

async function entries(b: Uint8Array, chunkSize = 7): Promise<{ e: TarEntry; body: string }[]> {
  const out: { e: TarEntry; body: string }[] = [];
  await readTar(chunks(b, chunkSize), {
    onEntry: (e) => {
      const item = { e, body: "" };
      out.push(item);
      return {
        write: (c) => {
          item.body += Buffer.from(c).toString();
        },
        close: () => {},
      };
    },
  });
  return out;
}

describe("readTar", () => {
  it("reads ustar entries with bodies across arbitrary chunk boundaries", async () => {
    const body = "hello world\n";
    const b = archive([
      encodeTarHeader({ name: "dir/", type: "dir" }),
      encodeTarHeader({
        name: "dir/file.txt",
        type: "file",
        size: body.length,
        mode: 0o640,
        uid: 7,
      }),
      Buffer.from(body),
      tarPadding(body.length),
      encodeTarHeader({ name: "dir/link", type: "symlink", linkname: "file.txt" }),
    ]);
    for (const size of [1, 7, 512, 100000]) {
      const got = await entries(b, size);
      expect(got.map((x) => [x.e.name, x.e.type, x.body])).toEqual([
        ["dir/", "dir", ""],
        ["dir/file.txt", "file", body],
        ["dir/link", "symlink", ""],
      ]);
      expect(got[1]?.e.mode).toBe(0o640);
      expect(got[1]?.e.uid).toBe(7);
      expect(got[2]?.e.linkname).toBe("file.txt");
    }
  });

  it("applies PAX path and linkpath records for long names", async () => {
    const long = `${"d/".repeat(80)}file`;
    const target = `${"t/".repeat(70)}x`;
    const b = archive([encodeTarHeader({ name: long, type: "symlink", linkname: target })]);
    const got = await entries(b);
    expect(got[0]?.e.name).toBe(long);
    expect(got[0]?.e.linkname).toBe(target);
  });

  it("applies GNU long names (type L)", async () => {
    const long = `${"g".repeat(150)}/name`;
    const data = Buffer.from(`${long}\0`);
    const l = encodeTarHeader({ name: "././@LongLink", type: "file", size: data.length });
    l[156] = "L".charCodeAt(0);
    // fix the checksum after changing the type flag
    l.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) {
      sum += l[i] ?? 0;
    }
    Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `).copy(l, 148);
    const b = archive([
      l,
      data,
      tarPadding(data.length),
      encodeTarHeader({ name: "short", type: "dir" }),
    ]);
    const got = await entries(b);
    expect(got.map((x) => x.e.name)).toEqual([long]);
  });

  it("rejects a header with a bad checksum", async () => {
    const h = encodeTarHeader({ name: "x", type: "file" });
    h[0] = "y".charCodeAt(0);
    await expect(entries(archive([h]))).rejects.toMatchObject({ code: "OCI_TAR_INVALID" });
  });

  it("rejects an archive that ends inside an entry", async () => {
    const b = Buffer.concat([
      encodeTarHeader({ name: "f", type: "file", size: 1000 }),
      Buffer.alloc(100),
    ]);
    await expect(entries(b)).rejects.toMatchObject({ code: "OCI_TAR_TRUNCATED" });
  });

  it("caps PAX headers", async () => {
    const pax = encodeTarHeader({ name: "x", type: "file", size: 5000 });
    pax[156] = "x".charCodeAt(0);
    pax.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) {
      sum += pax[i] ?? 0;
    }
    Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `).copy(pax, 148);
    await expect(
      readTar(chunks(archive([pax, Buffer.alloc(5120)]), 512), {
        maxMetaBytes: 1024,
        onEntry: () => undefined,
      }),
    ).rejects.toMatchObject({ code: "CORE_LIMIT_EXCEEDED" });
  });

  it("reads GNU base-256 sizes", async () => {
    const h = encodeTarHeader({ name: "big", type: "file", size: 0 });
    h.fill(0, 124, 136);
    h[124] = 0x80;
    h[135] = 3; // size 3, base-256
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) {
      sum += h[i] ?? 0;
    }
    Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `).copy(h, 148);
    const got = await entries(archive([h, Buffer.from("abc"), tarPadding(3)]));
    expect(got[0]?.body).toBe("abc");
  });
});
