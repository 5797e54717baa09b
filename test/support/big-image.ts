import { createHash } from "node:crypto";
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createGzip } from "node:zlib";
import { TarWriter } from "../../src/oci/index.js";
import { writeBlob } from "./build-image.js";

/**
 * Streams a large synthetic image to an OCI layout without holding it in memory: `layers`
 * gzip layers of `filesPerLayer` files of `fileSize` bytes (compressible content). Used to
 * check memory bounds, where the content does not matter but the size does.
 */
export async function buildLargeImage(
  dir: string,
  opts: { layers: number; filesPerLayer: number; fileSize: number },
): Promise<string> {
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  const diffIds: string[] = [];
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  const body = Buffer.alloc(opts.fileSize, 0x61);
  for (let l = 0; l < opts.layers; l++) {
    const tmp = join(dir, `layer-${l}.tmp`);
    const file = createWriteStream(tmp);
    const gz = createGzip({ level: 1 });
    const compressed = createHash("sha256");
    let compressedSize = 0;
    gz.on("data", (c: Buffer) => {
      compressed.update(c);
      compressedSize += c.length;
    });
    gz.pipe(file);
    const uncompressed = createHash("sha256");
    const sink = new Writable({
      write(chunk, _enc, cb) {
        uncompressed.update(chunk);
        if (gz.write(chunk)) {
          cb();
        } else {
          gz.once("drain", () => cb());
        }
      },
    });
    const w = new TarWriter(sink);
    await w.add({ name: `layer${l}/`, type: "dir" });
    for (let f = 0; f < opts.filesPerLayer; f++) {
      body.writeUInt32BE(f, 0);
      await w.add({ name: `layer${l}/file-${f}.bin`, type: "file" }, body);
    }
    await w.finish();
    await new Promise<void>((r) => sink.end(() => r()));
    await new Promise<void>((r) => {
      file.once("finish", () => r());
      gz.end();
    });
    const digest = `sha256:${compressed.digest("hex")}`;
    renameSync(tmp, join(dir, "blobs/sha256", digest.slice(7)));
    diffIds.push(`sha256:${uncompressed.digest("hex")}`);
    layers.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest,
      size: compressedSize,
    });
  }

  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: diffIds },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: writeBlob(dir, config),
        size: config.length,
      },
      layers,
    }),
  );
  const md = writeBlob(dir, manifest);
  writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: md,
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "big" },
        },
      ],
    }),
  );
  return md;
}
