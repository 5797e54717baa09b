import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join, resolve } from "node:path";
import {
  type AppContext,
  buildImage,
  importVulnData,
  inspectImage,
  scan,
} from "../../src/app/index.js";
import type { Digest } from "../../src/core/digest.js";
import { tempDir } from "./tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");

/**
 * Images built from files (no package downloads) and scanned against real vulnerability data:
 * complete chains the default policy allows. Returns each image's digest by name.
 */
export async function buildAllowedImages(
  ctx: AppContext,
  names: readonly string[],
): Promise<Record<string, Digest>> {
  await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
  const out: Record<string, Digest> = {};
  for (const name of names) {
    const dir = tempDir("cleanimg-served-ctx-");
    mkdirSync(join(dir, "app"));
    writeFileSync(join(dir, "app", "config.txt"), `content of ${name}\n`);
    writeFileSync(
      join(dir, "cleanimg.yaml"),
      `image: ${name}:1.0.0\nfiles:\n  - src: app/\n    dst: /app/\n`,
    );
    await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") });
    await scan(ctx, `${name}:1.0.0`);
    out[name] = (await inspectImage(ctx, `${name}:1.0.0`, { record: false })).manifest.digest;
  }
  return out;
}

export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response JSON, checked field by field
  readonly body: any;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * One HTTP request to a server on 127.0.0.1, from a chosen local address (the loopback network
 * is 127.0.0.0/8, so 127.0.0.2 is another client address).
 */
export function httpCall(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: string; from?: string } = {},
): Promise<Answer> {
  const url = new URL(path, base);
  const payload = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
  return new Promise((done, fail) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method,
        ...(opts.from ? { localAddress: opts.from } : {}),
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload !== undefined
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => {
          const text = Buffer.concat(parts).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // text
          }
          done({ status: res.statusCode ?? 0, body, headers: res.headers });
        });
        res.on("error", fail);
      },
    );
    req.on("error", fail);
    req.end(payload);
  });
}
