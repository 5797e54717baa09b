import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  type BuildResult,
  buildImage,
  complianceStatus,
  createAppContext,
  generateSbom,
  verifyChain,
} from "../../src/app/index.js";
import { isToolError } from "../../src/core/errors.js";
import { spdx3Validator } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

/**
 * `cleanimg-init build` against the real Debian archive (bookworm main, InRelease verified with
 * gpgv and debian-archive-keyring), with the index and .debs cached in .cache/build-cache.
 */
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const TSX = pathToFileURL(
  resolve(import.meta.dirname, "../../node_modules/tsx/dist/loader.mjs"),
).href;

const SPEC = (extra = "", packages = ["hello"], entrypoint = '["/usr/bin/hello"]') => `version: 1
image: hello:1.0.0
packages:
${packages.map((p) => `  - ${p}`).join("\n")}
files:
  - src: app/
    dst: /app/
    owner: "65532:65532"
entrypoint: ${entrypoint}
user: "65532"
env:
  LANG: C.UTF-8
ports: ["8080"]
${extra}`;

function context(spec = SPEC(), text = "hello from the build context\n"): string {
  const dir = tempDir("cleanimg-build-ctx-");
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app", "hello.txt"), text);
  writeFileSync(join(dir, "cleanimg.yaml"), spec);
  return dir;
}

function ctxFor(
  home = tempDir("cleanimg-build-home-"),
  env: Record<string, string> = {},
): AppContext {
  return createAppContext({
    home,
    env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000", ...env },
  });
}

async function provenanceOf(ctx: AppContext, r: BuildResult) {
  const link = [
    ...(await ctx.evidence().find({ subject: r.image.digest, kind: "provenance" })),
  ].pop();
  const bundle = JSON.parse(
    Buffer.from((await ctx.evidence().getBlob(link?.evidence as never)).bytes).toString(),
  );
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString()).predicate;
}

/** The inputs of a provenance, flattened to name -> digest, for comparing two builds. */
function inputsOf(p: {
  buildDefinition: {
    externalParameters: { spec: { digest: { sha256: string } } };
    internalParameters: { sourceDateEpoch: number };
    resolvedDependencies: { uri?: string; name?: string; digest: Record<string, string> }[];
  };
}): Map<string, string> {
  const m = new Map<string, string>();
  m.set("spec", p.buildDefinition.externalParameters.spec.digest.sha256);
  m.set("sourceDateEpoch", String(p.buildDefinition.internalParameters.sourceDateEpoch));
  for (const d of p.buildDefinition.resolvedDependencies) {
    if (d.name === "cleanimg.lock") {
      continue; // the lock follows the packages; compare the packages themselves
    }
    m.set((d.uri ?? d.name ?? "").replace(/@[^?]*/, ""), JSON.stringify(d.digest));
  }
  return m;
}
const changed = (a: Map<string, string>, b: Map<string, string>): string[] =>
  [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();

const expectError = async (p: Promise<unknown>, code: string, message: RegExp): Promise<void> => {
  try {
    await p;
  } catch (e) {
    expect(isToolError(e) && e.code, (e as Error).message).toBe(code);
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error("the build did not fail");
};

describe("build", () => {
  let dir: string;
  let ctx: AppContext;
  let first: BuildResult;

  beforeAll(async () => {
    mkdirSync(CACHE, { recursive: true });
    dir = context();
    ctx = ctxFor();
    first = await buildImage(ctx, {
      spec: join(dir, "cleanimg.yaml"),
      now: () => new Date("2026-01-01T00:00:00Z"),
    });
  }, 300_000);
  afterAll(async () => {
    await ctx.close();
  });

  it("resolves from the signed index into a lock file and rebuilds to the same digest", () => {
    expect(first.lockWritten).toBe(true);
    expect(first.reproducible.digests[0]).toBe(first.reproducible.digests[1]);
    const lock = JSON.parse(readFileSync(join(dir, "cleanimg.lock"), "utf8"));
    expect(lock.packages.map((p: { name: string }) => p.name)).toEqual([
      "gcc-12-base",
      "hello",
      "libc6",
      "libgcc-s1",
    ]);
    for (const p of lock.packages) {
      expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(p.size).toBeGreaterThan(0);
    }
    expect(lock.archive.inRelease).toMatch(/^sha256:/);
  });

  it("gives the same digest on another day, in another store, from the lock file", async () => {
    const other = ctxFor();
    const again = await buildImage(other, {
      spec: join(dir, "cleanimg.yaml"),
      now: () => new Date("2027-06-15T12:00:00Z"),
    });
    expect(again.lockWritten).toBe(false);
    expect(again.image.digest).toBe(first.image.digest);
    await other.close();
  }, 120_000);

  it("builds offline from the lock file and the cache, with no network at all", async () => {
    const other = ctxFor();
    const realFetch = globalThis.fetch;
    globalThis.fetch = (() => {
      throw new Error("network used");
    }) as typeof fetch;
    try {
      const again = await buildImage(other, { spec: join(dir, "cleanimg.yaml"), offline: true });
      expect(again.image.digest).toBe(first.image.digest);
    } finally {
      globalThis.fetch = realFetch;
      await other.close();
    }
  }, 120_000);

  it("makes an image skopeo inspects, umoci unpacks and whose program runs", () => {
    const layout = join(ctx.home, "images");
    const info = JSON.parse(
      execFileSync("skopeo", ["inspect", `oci:${layout}:docker.io/library/hello:1.0.0`], {
        encoding: "utf8",
      }),
    );
    expect(info.Digest).toBe(first.image.digest);
    expect(info.Created).toBe("2023-11-14T22:13:20Z");
    const bundle = join(tempDir("cleanimg-umoci-"), "b");
    execFileSync(
      "umoci",
      ["unpack", "--rootless", "--image", `${layout}:docker.io/library/hello:1.0.0`, bundle],
      {
        stdio: "pipe",
      },
    );
    const rootfs = join(bundle, "rootfs");
    expect(readFileSync(join(rootfs, "app", "hello.txt"), "utf8")).toBe(
      "hello from the build context\n",
    );
    expect(readdirSync(join(rootfs, "var/lib/dpkg/status.d")).sort()).toContain("hello.md5sums");
    const out = execFileSync("unshare", ["--map-root-user", "chroot", rootfs, "/usr/bin/hello"], {
      encoding: "utf8",
    });
    expect(out).toBe("Hello, world!\n");
  });

  it("records signed provenance, SBOM and image signature in an intact chain", async () => {
    const chain = await verifyChain(ctx, first.image.digest);
    expect(chain.intact).toBe(true);
    expect(Object.fromEntries(chain.links.map((l) => [l.stage, l.state]))).toMatchObject({
      provenance: "valid",
      sbom: "valid",
    });
    const s = await complianceStatus(ctx, "hello:1.0.0");
    const by = Object.fromEntries(s.checks.map((c) => [c.id, c]));
    expect(by["slsa-build-level"]?.result).toBe("PASS");
    expect(by["slsa-build-level"]?.detail).toMatch(/^Build L1: signed provenance/);
    expect(by["sbom"]?.result).toBe("PASS");
    expect(by["image-signature"]?.result).toBe("PASS");
    expect(by["base-image"]?.result).toBe("PASS");
    const prov = await provenanceOf(ctx, first);
    expect(prov.buildDefinition.buildType).toBe("https://cleanimg.dev/build/debian-image/v1");
    expect(prov.buildDefinition.resolvedDependencies.map((d: { uri?: string }) => d.uri)).toContain(
      "pkg:deb/debian/hello@2.10-3?arch=amd64",
    );
  });

  it("writes the build into its SPDX 3.0.1 SBOM (Build profile), the same build as the provenance", async () => {
    const chain = await verifyChain(ctx, first.image.digest);
    const sbomLink = chain.links.find((l) => l.stage === "sbom");
    const doc = JSON.parse(
      Buffer.from((await ctx.evidence().getBlob(sbomLink?.evidence as never)).bytes).toString(),
    );
    expect(spdx3Validator()(doc)).toEqual([]);
    const graph = doc["@graph"] as Record<string, unknown>[];
    const build = graph.find((e) => e["type"] === "build_Build") as Record<string, unknown>;
    const prov = await provenanceOf(ctx, first);
    expect(build["build_buildType"]).toBe(prov.buildDefinition.buildType);
    expect(build["build_buildId"]).toBe(prov.runDetails.metadata.invocationId);
    expect(build["build_configSourceDigest"]).toEqual([
      {
        type: "Hash",
        algorithm: "sha256",
        hashValue: prov.buildDefinition.externalParameters.spec.digest.sha256,
      },
    ]);
    const out = graph.find((e) => e["relationshipType"] === "hasOutput") as Record<string, unknown>;
    expect(out["from"]).toBe(build["spdxId"]);
    const root = graph.find((e) => e["type"] === "software_Sbom") as { rootElement: string[] };
    expect(out["to"]).toEqual(root.rootElement);
    const document = graph.find((e) => e["type"] === "SpdxDocument") as {
      profileConformance: string[];
    };
    expect(document.profileConformance).toContain("build");
    // an SBOM made later by analysis of the same image names no build
    const analysed = await generateSbom(ctx, "hello:1.0.0", { record: false });
    expect(analysed.document).not.toContain("build_Build");
  });

  it("lists exactly the locked packages in the SBOM of the built image", async () => {
    const s = await generateSbom(ctx, "hello:1.0.0", { record: false });
    const lock = JSON.parse(readFileSync(join(dir, "cleanimg.lock"), "utf8"));
    expect(
      s.sbom.packages
        .filter((p) => p.type === "deb")
        .map((p) => `${p.name} ${p.version}`)
        .sort(),
    ).toEqual(
      lock.packages.map((p: { name: string; version: string }) => `${p.name} ${p.version}`).sort(),
    );
  });

  describe("changing one input changes the digest, and the provenance names that input", () => {
    const cases: [string, () => { dir: string; env?: Record<string, string> }, string[]][] = [
      [
        "a package",
        () => ({ dir: context(SPEC("", ["hello", "tzdata"])) }),
        ["pkg:deb/debian/debconf?arch=all", "pkg:deb/debian/tzdata?arch=all", "spec"],
      ],
      [
        "a file of the build context",
        () => ({ dir: context(SPEC(), "changed\n") }),
        ["context:/app/hello.txt"],
      ],
      [
        "the entrypoint",
        () => ({ dir: context(SPEC("", ["hello"], '["/usr/bin/hello", "-g", "hi"]')) }),
        ["spec"],
      ],
      [
        "SOURCE_DATE_EPOCH",
        () => ({ dir: context(), env: { SOURCE_DATE_EPOCH: "1700000001" } }),
        ["sourceDateEpoch"],
      ],
    ];
    it.each(cases)(
      "%s",
      async (_what, make, expected) => {
        const c = make();
        cpSync(join(dir, "cleanimg.lock"), join(c.dir, "cleanimg.lock"));
        const other = ctxFor(undefined, c.env ?? {});
        const r = await buildImage(other, { spec: join(c.dir, "cleanimg.yaml") });
        expect(r.image.digest).not.toBe(first.image.digest);
        expect(
          changed(inputsOf(await provenanceOf(ctx, first)), inputsOf(await provenanceOf(other, r))),
        ).toEqual(expected);
        await other.close();
      },
      120_000,
    );
  });

  it("builds on a base image pinned by digest: its layers first, its packages not installed again", async () => {
    const c = tempDir("cleanimg-build-base-");
    writeFileSync(
      join(c, "cleanimg.yaml"),
      `image: hello-tz:1.0.0\nbase: hello:1.0.0@${first.image.digest}\npackages: [tzdata, libc6]\nenv: [TZ=UTC]\n`,
    );
    const r = await buildImage(ctx, { spec: join(c, "cleanimg.yaml") });
    const lock = JSON.parse(readFileSync(join(c, "cleanimg.lock"), "utf8"));
    // libc6 is in the base: only tzdata and what it needs beyond the base
    expect(lock.packages.map((p: { name: string }) => p.name)).toEqual(["debconf", "tzdata"]);
    const layout = join(ctx.home, "images");
    const info = JSON.parse(
      execFileSync(
        "skopeo",
        ["inspect", "--config", `oci:${layout}:docker.io/library/hello-tz:1.0.0`],
        { encoding: "utf8" },
      ),
    );
    expect(info.rootfs.diff_ids).toHaveLength(3); // base packages, base files, new packages
    expect(info.config.Entrypoint).toEqual(["/usr/bin/hello"]); // inherited
    expect(info.config.Env).toEqual(["LANG=C.UTF-8", "TZ=UTC"]);
    const raw = JSON.parse(
      execFileSync(
        "skopeo",
        ["inspect", "--raw", `oci:${layout}:docker.io/library/hello-tz:1.0.0`],
        { encoding: "utf8" },
      ),
    );
    expect(raw.annotations["org.opencontainers.image.base.digest"]).toBe(first.image.digest);
    const bundle = join(tempDir("cleanimg-umoci-"), "b");
    execFileSync(
      "umoci",
      ["unpack", "--rootless", "--image", `${layout}:docker.io/library/hello-tz:1.0.0`, bundle],
      { stdio: "pipe" },
    );
    expect(
      execFileSync(
        "unshare",
        ["--map-root-user", "chroot", join(bundle, "rootfs"), "/usr/bin/hello"],
        { encoding: "utf8" },
      ),
    ).toBe("Hello, world!\n");
    expect(existsSync(join(bundle, "rootfs", "usr/share/zoneinfo/UTC"))).toBe(true);
    const prov = await provenanceOf(ctx, r);
    expect(prov.buildDefinition.resolvedDependencies).toContainEqual({
      uri: `oci://hello:1.0.0@${first.image.digest}`,
      digest: { sha256: first.image.digest.slice(7) },
    });
    // the base-image check: unknown with no approved list, then pass or fail against the list
    const check = async () =>
      (await complianceStatus(ctx, "hello-tz:1.0.0")).checks.find((k) => k.id === "base-image");
    expect((await check())?.result).toBe("UNKNOWN");
    writeFileSync(
      join(ctx.home, "config.json"),
      JSON.stringify({ approvedBaseImages: [first.image.digest] }),
    );
    expect((await check())?.result).toBe("PASS");
    writeFileSync(
      join(ctx.home, "config.json"),
      JSON.stringify({ approvedBaseImages: [`sha256:${"0".repeat(64)}`] }),
    );
    expect((await check())?.result).toBe("FAIL");
    rmSync(join(ctx.home, "config.json"));
  }, 120_000);

  it("refuses a base whose pinned digest is not what the reference resolves to", async () => {
    const c = tempDir("cleanimg-build-base-");
    writeFileSync(
      join(c, "cleanimg.yaml"),
      `image: x:1\nbase: hello:1.0.0@sha256:${"1".repeat(64)}\npackages: [tzdata]\n`,
    );
    await expect(buildImage(ctx, { spec: join(c, "cleanimg.yaml") })).rejects.toThrow();
  });

  it("stops on a .deb in the cache that is not the one the lock pins, and tags nothing", async () => {
    const cache = tempDir("cleanimg-build-cache-");
    cpSync(join(CACHE, "debs"), join(cache, "debs"), { recursive: true });
    const lock = JSON.parse(readFileSync(join(dir, "cleanimg.lock"), "utf8"));
    const hello = lock.packages.find((p: { name: string }) => p.name === "hello");
    const p = join(cache, "debs", `${hello.sha256}.deb`);
    const b = readFileSync(p);
    b[b.length - 100] = (b[b.length - 100] ?? 0) ^ 1;
    writeFileSync(p, b);
    const other = ctxFor(undefined, { CLEANIMG_CACHE: cache });
    await expectError(
      buildImage(other, { spec: join(dir, "cleanimg.yaml"), offline: true }),
      "CORE_DIGEST_MISMATCH",
      /is not hello 2.10-3 as the lock file pins it/,
    );
    expect(await other.local.list()).toEqual([]);
    await other.close();
  });

  describe("an archive that lies", () => {
    let server: Server;
    let uri: string;
    const served = new Map<string, Buffer>();
    beforeAll(async () => {
      server = createServer((req, res) => {
        const body = served.get(req.url ?? "");
        if (body) {
          res.writeHead(200).end(body);
        } else {
          res.writeHead(404).end();
        }
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
    });
    afterAll(() => {
      server.close();
    });
    const realInRelease = (): Buffer => {
      const idx = join(CACHE, "index");
      // the cache may hold other suites' indexes too (bullseye): these tests serve bookworm's
      for (const d of readdirSync(idx)) {
        const f = join(idx, d, "InRelease");
        if (existsSync(f) && readFileSync(f, "utf8").includes("\nCodename: bookworm\n")) {
          return readFileSync(f);
        }
      }
      throw new Error("no cached InRelease");
    };

    it("stops when the InRelease signature does not verify", async () => {
      const text = realInRelease().toString("utf8").replace("Suite: oldstable", "Suite: 0ldstable");
      served.clear();
      served.set("/debian/dists/bookworm/InRelease", Buffer.from(text));
      const c = context(`${SPEC()}archive:\n  uri: ${uri}\n`);
      const other = createAppContext({
        home: tempDir("cleanimg-build-home-"),
        env: { CLEANIMG_CACHE: tempDir("cleanimg-c-") },
      });
      await expectError(
        buildImage(other, { spec: join(c, "cleanimg.yaml") }),
        "ATTEST_SIGNATURE_INVALID",
        /signature does not verify/,
      );
      expect(existsSync(join(c, "cleanimg.lock"))).toBe(false);
      await other.close();
    });

    it("stops when a Packages index is not the one the signed Release lists", async () => {
      const inRelease = realInRelease();
      const hash = /([0-9a-f]{64})\s+\d+\s+main\/binary-amd64\/Packages\.gz/.exec(
        inRelease.toString(),
      )?.[1];
      served.clear();
      served.set("/debian/dists/bookworm/InRelease", inRelease);
      served.set(
        `/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/${hash}`,
        Buffer.from("not the index"),
      );
      const c = context(`${SPEC()}archive:\n  uri: ${uri}\n`);
      const other = createAppContext({
        home: tempDir("cleanimg-build-home-"),
        env: { CLEANIMG_CACHE: tempDir("cleanimg-c-") },
      });
      await expectError(
        buildImage(other, { spec: join(c, "cleanimg.yaml") }),
        "CORE_DIGEST_MISMATCH",
        /not the file the signed Release lists/,
      );
      await other.close();
    });
  });

  it("runs the design's command as written: cleanimg-init --build --image myapp:1.0.0", () => {
    const c = context();
    cpSync(join(dir, "cleanimg.lock"), join(c, "cleanimg.lock"));
    const home = tempDir("cleanimg-build-cli-");
    const r = spawnSync(
      process.execPath,
      ["--import", TSX, MAIN, "--build", "--image", "myapp:1.0.0"],
      {
        cwd: c,
        encoding: "utf8",
        env: {
          ...process.env,
          CLEANIMG_HOME: home,
          CLEANIMG_CACHE: CACHE,
          SOURCE_DATE_EPOCH: "1700000000",
        },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^built docker.io\/library\/myapp:1.0.0 sha256:[0-9a-f]{64} \(4 Debian packages/,
    );
    expect(r.stdout).toMatch(/reproducible: rebuilt in a fresh root and matched/);
    expect(r.stdout).toMatch(/SLSA Build L1 \(SLSA v1.0 Build track\)/);
    expect(r.stdout).not.toMatch(/Level 4|L4/);
    expect(r.stdout).toMatch(/SLSA provenance v1 \(signed\): sha256:/);
    rmSync(home, { recursive: true, force: true });
  }, 120_000);
});
