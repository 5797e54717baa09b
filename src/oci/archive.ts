import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DEFAULT_LIMITS, readAllLimited } from "../core/limits.js";
import { TarFiles } from "./files.js";
import { LayoutDestination, LayoutSource } from "./layout.js";
import { TarWriter } from "./tar-write.js";
import type { ImageDestination, ImageSource } from "./transport.js";
import type { Descriptor } from "./types.js";

/** OCI archives (a tar of an OCI layout), and the atomic tar writing both archive kinds use. */

/** Opens an oci-archive (a tar of an OCI layout) for reading. */
export async function openOciArchive(path: string, tag?: string): Promise<ImageSource> {
  const files = await TarFiles.open(path, `oci-archive ${path}`);
  return new LayoutSource(files, tag);
}

/** Writes an oci-archive: a layout in a temporary directory, tarred on commit. */
export class OciArchiveDestination implements ImageDestination {
  readonly description: string;
  #tmp: string | undefined;
  #layout: LayoutDestination | undefined;

  constructor(
    readonly path: string,
    private readonly tag?: string,
  ) {
    this.description = `oci-archive ${path}${tag ? ` (${tag})` : ""}`;
  }

  async #inner(): Promise<LayoutDestination> {
    if (!this.#layout) {
      await mkdir(dirname(this.path), { recursive: true });
      this.#tmp = await mkdtemp(join(dirname(this.path), `.${basename(this.path)}.tmp-`));
      this.#layout = new LayoutDestination(this.#tmp, this.tag ? { refName: this.tag } : {});
    }
    return this.#layout;
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return (await this.#inner()).hasBlob(desc);
  }
  async putBlob(desc: Descriptor, data: AsyncIterable<Uint8Array>): Promise<void> {
    await (await this.#inner()).putBlob(desc, data);
  }
  async putManifest(desc: Descriptor, bytes: Uint8Array, root: boolean): Promise<void> {
    await (await this.#inner()).putManifest(desc, bytes, root);
  }

  async commit(): Promise<void> {
    const layout = await this.#inner();
    await layout.commit();
    const dir = this.#tmp as string;
    await writeTarAtomically(this.path, async (w) => {
      await w.add(
        { name: "oci-layout", type: "file" },
        await readFileBytes(join(dir, "oci-layout")),
      );
      await w.add(
        { name: "index.json", type: "file" },
        await readFileBytes(join(dir, "index.json")),
      );
      await w.add({ name: "blobs/", type: "dir" });
      for (const alg of (await readdir(join(dir, "blobs"))).sort()) {
        await w.add({ name: `blobs/${alg}/`, type: "dir" });
        for (const name of (await readdir(join(dir, "blobs", alg))).sort()) {
          const p = join(dir, "blobs", alg, name);
          const size = (await stat(p)).size;
          await w.addStream(
            { name: `blobs/${alg}/${name}`, type: "file" },
            size,
            createReadStream(p),
          );
        }
      }
    });
  }

  async close(): Promise<void> {
    if (this.#tmp) {
      await rm(this.#tmp, { recursive: true, force: true });
    }
  }
}

/**
 * Writes a tar archive to `path` atomically: a temporary file beside it, fsynced, renamed.
 * Side effects: creates or replaces `path`; removes the temporary file on failure.
 */
export async function writeTarAtomically(
  path: string,
  fill: (w: TarWriter) => Promise<void>,
): Promise<void> {
  // a device or pipe (`docker-archive:/dev/stdout`) is written to, never replaced by a file
  const existing = await stat(path).catch(() => undefined);
  if (existing && !existing.isFile() && !existing.isDirectory()) {
    const direct = createWriteStream(path);
    const w = new TarWriter(direct);
    await fill(w);
    await w.finish();
    await endStream(direct);
    return;
  }
  const tmpTar = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  const out = createWriteStream(tmpTar, { flags: "wx" });
  try {
    const w = new TarWriter(out);
    await fill(w);
    await w.finish();
    await endStream(out);
    await syncFile(tmpTar);
    await rename(tmpTar, path);
  } catch (e) {
    out.destroy();
    await rm(tmpTar, { force: true });
    throw e;
  }
}

async function readFileBytes(p: string): Promise<Uint8Array> {
  return readAllLimited(createReadStream(p), DEFAULT_LIMITS.maxJsonBytes, p);
}

export async function endStream(out: NodeJS.WritableStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    out.once("error", reject);
    out.end(() => resolve());
  });
}

async function syncFile(p: string): Promise<void> {
  const fh = await open(p, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// docker-archive (`docker save` format)
