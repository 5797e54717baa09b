import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type AppContext,
  buildImage,
  createAppContext,
  importVulnData,
  scan,
} from "../../src/app/index.js";
import type { Digest } from "../../src/core/digest.js";
import { tempDir } from "./tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");

/**
 * A home holding one small image built from a context directory and scanned (PyPI OSV data):
 * a healthy chain, allowed by the default policy. Its blobs' file times are let settle.
 */
export async function scannedHome(ref: string): Promise<{ ctx: AppContext; image: Digest }> {
  const home = tempDir("cleanimg-scanned-");
  const dir = tempDir("cleanimg-scanned-ctx-");
  writeFileSync(join(dir, "config.txt"), "static content\n");
  writeFileSync(
    join(dir, "cleanimg.yaml"),
    `image: ${ref}\nfiles:\n  - src: config.txt\n    dst: /app/config.txt\n`,
  );
  const ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
  await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
  const image = (await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") })).image.digest;
  await scan(ctx, ref);
  // a blob version taken in the clock tick of its write is not settled (it is re-hashed)
  await new Promise((r) => setTimeout(r, 1100));
  return { ctx, image };
}
