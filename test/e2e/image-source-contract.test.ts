import { createHash } from "node:crypto";
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  copyImage,
  LocalImageStore,
  type OpenContext,
  openDestination,
  openSource,
  parseImageLocation,
} from "../../src/oci/index.js";
import { describeImageSourceContract } from "../../src/testing.js";
import { buildImageLayout } from "../support/build-image.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { tempDir } from "../support/tmp.js";

/**
 * Every kind of ImageSource keeps the ImageSource contract on the same image: an OCI layout,
 * the OCI and Docker archives and the local store written from it, and the CNCF registry on
 * 127.0.0.1. The tampered copies alter one layer's stored bytes (same size) behind the source.
 */
const ctxOf = (home: string): OpenContext => ({ local: new LocalImageStore(home), insecure: true });

/** Flips one byte in the middle of the file under `dir` whose content is the blob `digest`. */
function tamper(dir: string, digest: string): void {
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop() as string;
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) {
        stack.push(p);
        continue;
      }
      const b = readFileSync(p);
      if (`sha256:${createHash("sha256").update(b).digest("hex")}` === digest) {
        b[b.length >> 1] = (b[b.length >> 1] as number) ^ 0x01;
        writeFileSync(p, b);
        return;
      }
    }
  }
  throw new Error(`no file holds ${digest} under ${dir}`);
}

let layout = "";
let layer = "";
const work = tempDir("cleanimg-source-contract-");
let registry: TestRegistry;

beforeAll(async () => {
  layout = join(work, "layout");
  const built = await buildImageLayout({
    dir: layout,
    tag: "1.0",
    layers: [
      { kind: "files", files: [{ name: "etc/app.conf", type: "file", body: "a = 1\n" }] },
      {
        kind: "files",
        files: [{ name: "app/data.txt", type: "file", body: "data\n".repeat(1000) }],
      },
    ],
  });
  layer = built.layerDigests[0] as string;
  registry = await startRegistry("none");
});
afterAll(async () => {
  await registry?.stop();
});

/** The image copied to `to` (a location string), and a function opening `from` over it. */
async function copyTo(to: string, home: string): Promise<void> {
  const ctx = ctxOf(home);
  const src = await openSource(parseImageLocation(`oci:${layout}:1.0`), ctx);
  try {
    await copyImage(src, openDestination(parseImageLocation(to), ctx));
  } finally {
    await src.close();
  }
}

const open = (loc: string, home: string) => () => openSource(parseImageLocation(loc), ctxOf(home));

describe("ImageSource implementations", () => {
  it("the fixture has a layer to tamper with", () => {
    expect(layer).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describeImageSourceContract(
  {
    name: "OCI layout",
    open: () => open(`oci:${layout}:1.0`, work)(),
    openTampered: async () => {
      const t = join(work, "layout-tampered");
      cpSync(layout, t, { recursive: true });
      tamper(t, layer);
      return open(`oci:${t}:1.0`, work)();
    },
  },
  { describe, it, expect },
);

for (const kind of ["oci-archive", "docker-archive"] as const) {
  const file = (): string => join(work, `${kind}.tar`);
  let written = false;
  const ensure = async (): Promise<void> => {
    if (!written) {
      await copyTo(`${kind}:${file()}${kind === "docker-archive" ? ":app:1.0" : ":1.0"}`, work);
      written = true;
    }
  };
  describeImageSourceContract(
    {
      name: kind,
      open: async () => {
        await ensure();
        return open(`${kind}:${file()}`, work)();
      },
    },
    { describe, it, expect },
  );
}

describeImageSourceContract(
  {
    name: "local store",
    open: async () => {
      const home = join(work, "home");
      await copyTo("local:app:1.0", home);
      return open("local:app:1.0", home)();
    },
    openTampered: async () => {
      const home = join(work, "home-tampered");
      await copyTo("local:app:1.0", home);
      tamper(home, layer);
      return open("local:app:1.0", home)();
    },
  },
  { describe, it, expect },
);

describeImageSourceContract(
  {
    name: "registry (CNCF distribution on 127.0.0.1)",
    open: async () => {
      await copyTo(`docker://${registry.host}/contract/app:1.0`, work);
      return open(`docker://${registry.host}/contract/app:1.0`, work)();
    },
  },
  { describe, it, expect },
);
