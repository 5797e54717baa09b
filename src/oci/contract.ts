import { createHash } from "node:crypto";
import { type ContractTestApi, codeOf, thrownBy } from "../core/contract.js";
import { sha256 } from "../core/digest.js";
import { isIndexMediaType, isManifestMediaType } from "./media-types.js";
import type { ImageSource } from "./transport.js";
import type { Descriptor } from "./types.js";

/** What {@link validateImageSource} read: every manifest and blob the root reaches. */
export interface Validated {
  readonly manifests: number;
  readonly blobs: number;
  readonly bytes: number;
}

function fail(what: string): never {
  throw new Error(`ImageSource validation: ${what}`);
}

async function checkBlob(src: ImageSource, d: Descriptor): Promise<number> {
  const h = createHash("sha256");
  let n = 0;
  for await (const c of src.openBlob(d)) {
    h.update(c);
    n += c.length;
  }
  if (`sha256:${h.digest("hex")}` !== d.digest || n !== d.size) {
    fail(`blob ${d.digest} streamed ${n} bytes of another digest without an error`);
  }
  return n;
}

/**
 * Reads everything an image source's root reaches (index, manifests, config, layers) and checks
 * each against its descriptor independently of the source's own checks, as go-containerregistry's
 * `validate` package does. Throws on the first thing that does not hold.
 */
export async function validateImageSource(src: ImageSource): Promise<Validated> {
  const total = { manifests: 0, blobs: 0, bytes: 0 };
  const root = await src.resolve();
  const walk = async (d: Descriptor, bytes: Uint8Array): Promise<void> => {
    if (sha256(bytes) !== d.digest || bytes.length !== d.size) {
      fail(`manifest ${d.digest}: the bytes returned do not match its descriptor`);
    }
    total.manifests++;
    const m = JSON.parse(new TextDecoder().decode(bytes)) as {
      mediaType?: string;
      manifests?: Descriptor[];
      config?: Descriptor;
      layers?: Descriptor[];
    };
    const mt = m.mediaType ?? d.mediaType;
    if (isIndexMediaType(mt) || m.manifests) {
      for (const child of m.manifests ?? []) {
        await walk(child, await src.fetchManifest(child));
      }
      return;
    }
    if (!isManifestMediaType(mt) && !m.config) {
      fail(`${d.digest} is neither an index nor a manifest (${mt})`);
    }
    for (const b of [...(m.config ? [m.config] : []), ...(m.layers ?? [])]) {
      total.bytes += await checkBlob(src, b);
      total.blobs++;
    }
  };
  await walk(root.descriptor, root.bytes);
  return total;
}

/** How an image source's contract run opens the source under test. */
export interface ImageSourceCase {
  readonly name: string;
  /** A source over one image (or index) with at least one layer. */
  open(): Promise<ImageSource>;
  /** The same image with one stored layer's bytes altered behind the source's back. */
  openTampered?(): Promise<ImageSource>;
}

/** The first layer the root reaches. */
async function firstLayer(src: ImageSource): Promise<Descriptor> {
  let { descriptor, bytes } = await src.resolve();
  for (;;) {
    const m = JSON.parse(new TextDecoder().decode(bytes)) as {
      manifests?: Descriptor[];
      layers?: Descriptor[];
    };
    const child = m.manifests?.[0];
    if (!child) {
      return m.layers?.[0] ?? fail(`${descriptor.digest} has no layer`);
    }
    descriptor = child;
    bytes = await src.fetchManifest(child);
  }
}

/**
 * The contract every {@link ImageSource} keeps: everything the root reaches validates; what it
 * returns is verified against the descriptor asked for (a wrong size or an unknown digest
 * throws, never returns other bytes); a stored blob altered behind its back fails while it
 * streams; close releases it.
 * @example describeImageSourceContract({ name: "oci layout", open }, { describe, it, expect })
 */
export function describeImageSourceContract(c: ImageSourceCase, t: ContractTestApi): void {
  const { it, expect } = t;
  const using = async <T>(open: () => Promise<ImageSource>, f: (s: ImageSource) => Promise<T>) => {
    const s = await open();
    try {
      return await f(s);
    } finally {
      await s.close();
    }
  };
  t.describe(`ImageSource contract: ${c.name}`, () => {
    it("gives a root and everything it reaches, each matching its descriptor", () =>
      using(c.open, async (s) => {
        const v = await validateImageSource(s);
        expect(v.manifests >= 1 && v.blobs >= 2).toBe(true);
      }));
    it("refuses a blob asked for with the wrong size", () =>
      using(c.open, async (s) => {
        const l = await firstLayer(s);
        const e = await thrownBy(async () => {
          for await (const _ of s.openBlob({ ...l, size: l.size + 1 })) {
            // drain
          }
        });
        expect(codeOf(e) === "no error").toBe(false);
      }));
    it("refuses a blob or manifest it does not hold", () =>
      using(c.open, async (s) => {
        const l = await firstLayer(s);
        const unknown = { ...l, digest: sha256(`not ${l.digest}`) };
        const e = await thrownBy(async () => {
          for await (const _ of s.openBlob(unknown)) {
            // drain
          }
        });
        expect(codeOf(e) === "no error").toBe(false);
        const m = await thrownBy(() => s.fetchManifest(unknown));
        expect(codeOf(m) === "no error").toBe(false);
      }));
    const tampered = c.openTampered;
    if (tampered) {
      it("fails while streaming a stored blob altered behind its back", () =>
        using(tampered, async (s) => {
          const e = await thrownBy(() => validateImageSource(s));
          expect(codeOf(e) === "no error").toBe(false);
          expect(String((e as Error).message).startsWith("ImageSource validation")).toBe(false);
        }));
    }
  });
}
