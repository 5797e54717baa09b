import { execFileSync } from "node:child_process";
import { createReadStream, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeFileAtomic } from "./layout.js";

describe("writeFileAtomic", () => {
  it("replaces a regular file whole", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cleanimg-atomic-"));
    const f = join(dir, "out.json");
    writeFileSync(f, "old");
    await writeFileAtomic(f, "new");
    expect(readFileSync(f, "utf8")).toBe("new");
  });

  it("writes to a device or a named pipe instead of replacing it (-o /dev/null, -o /dev/stdout)", async () => {
    await writeFileAtomic("/dev/null", "discarded");
    expect(statSync("/dev/null").isCharacterDevice()).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), "cleanimg-atomic-"));
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const chunks: Buffer[] = [];
    const read = new Promise<string>((resolve) => {
      createReadStream(fifo)
        .on("data", (c) => chunks.push(Buffer.from(c)))
        .on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
    await writeFileAtomic(fifo, "through the pipe");
    expect(await read).toBe("through the pipe");
    expect(statSync(fifo).isFIFO()).toBe(true);
  });
});
