import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  type BuildResult,
  buildImage,
  createAppContext,
  generateSbom,
  importVulnData,
  scan,
} from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";

/**
 * Every built image says which distribution it is: /etc/os-release from base-files when the spec
 * installs it, else generated from the archive's signed Release (real bookworm archive, cached in
 * .cache/build-cache). The SBOM names the distribution and the provenance says where the file
 * came from.
 */
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const CORPUS = "/work/shared/corpus/vulndb";

function context(packages: readonly string[], image: string): string {
  const dir = tempDir("cleanimg-osrel-ctx-");
  writeFileSync(
    join(dir, "cleanimg.yaml"),
    `image: ${image}\npackages:\n${packages.map((p) => `  - ${p}`).join("\n")}\n`,
  );
  return dir;
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

/** The image's root filesystem, unpacked with umoci (an independent reader). */
function unpack(ctx: AppContext, ref: string): string {
  const bundle = join(tempDir("cleanimg-osrel-umoci-"), "b");
  execFileSync(
    "umoci",
    ["unpack", "--rootless", "--image", `${join(ctx.home, "images")}:${ref}`, bundle],
    { stdio: "pipe" },
  );
  return join(bundle, "rootfs");
}

describe("built images identify their distribution", () => {
  let ctx: AppContext;
  let generated: BuildResult;
  let genDir: string;
  let fromPackage: BuildResult;

  beforeAll(async () => {
    mkdirSync(CACHE, { recursive: true });
    ctx = createAppContext({
      home: tempDir("cleanimg-osrel-home-"),
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
    });
    genDir = context(["curl", "ca-certificates"], "myapp:1.0.0");
    generated = await buildImage(ctx, { spec: join(genDir, "cleanimg.yaml") });
    fromPackage = await buildImage(ctx, {
      spec: join(
        context(["base-files", "curl", "ca-certificates"], "withbf:1.0.0"),
        "cleanimg.yaml",
      ),
    });
  }, 600_000);
  afterAll(async () => {
    await ctx.close();
  });

  it("generates /etc/os-release from the signed Release and says so in the provenance", async () => {
    const rootfs = unpack(ctx, "docker.io/library/myapp:1.0.0");
    const file = readFileSync(join(rootfs, "etc/os-release"));
    const prov = await provenanceOf(ctx, generated);
    const rec = prov.buildDefinition.internalParameters.osRelease;
    expect(rec.from).toBe("generated");
    expect(rec.path).toBe("/etc/os-release");
    expect(rec.sha256).toBe(createHash("sha256").update(file).digest("hex"));
    // the fields it was generated from are the signed Release's, as the InRelease says
    const idx = join(CACHE, "index");
    const inRelease = execFileSync("ls", [idx], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((d) => {
        try {
          return readFileSync(join(idx, d, "InRelease"), "utf8");
        } catch {
          return "";
        }
      })
      .find((t) => t.includes(`Codename: ${rec.release.codename}`)) as string;
    expect(inRelease).toContain(`Version: ${rec.release.version}\n`);
    expect(inRelease).toContain(`Origin: ${rec.release.origin}\n`);
    const s = await generateSbom(ctx, "myapp:1.0.0", { record: false });
    expect(s.sbom.distro).toMatchObject({
      id: "debian",
      versionId: rec.release.version.split(".")[0],
      versionCodename: rec.release.codename,
    });
  });

  it("generates what Debian's own base-files ships, and uses base-files when the spec lists it", async () => {
    const own = readFileSync(
      join(unpack(ctx, "docker.io/library/withbf:1.0.0"), "usr/lib/os-release"),
    );
    const made = readFileSync(join(unpack(ctx, "docker.io/library/myapp:1.0.0"), "etc/os-release"));
    expect(made.toString()).toBe(own.toString());
    const prov = await provenanceOf(ctx, fromPackage);
    const lock = prov.buildDefinition.resolvedDependencies.find((d: { uri?: string }) =>
      d.uri?.startsWith("pkg:deb/debian/base-files@"),
    );
    expect(lock).toBeDefined();
    expect(prov.buildDefinition.internalParameters.osRelease).toEqual({
      from: "package",
      path: "/usr/lib/os-release",
      package: `base-files ${decodeURIComponent(/@([^?]+)/.exec(lock.uri)?.[1] ?? "")}`,
    });
    const s = await generateSbom(ctx, "withbf:1.0.0", { record: false });
    const g = await generateSbom(ctx, "myapp:1.0.0", { record: false });
    expect(s.sbom.distro).toEqual(g.sbom.distro);
  });

  it("reads the Release fields from the pinned InRelease when an older lock lacks them", async () => {
    const prov = await provenanceOf(ctx, generated);
    // the first build's lock, as a lock written before the Release fields were recorded
    const dir = context(["curl", "ca-certificates"], "myapp:1.0.0");
    const lock = JSON.parse(readFileSync(join(genDir, "cleanimg.lock"), "utf8"));
    for (const k of ["origin", "label", "releaseSuite", "codename"]) {
      expect(lock.archive[k]).toBeTypeOf("string");
      delete lock.archive[k];
    }
    writeFileSync(join(dir, "cleanimg.lock"), `${JSON.stringify(lock, null, 2)}\n`);
    const other = createAppContext({
      home: tempDir("cleanimg-osrel-home-"),
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
    });
    try {
      const again = await buildImage(other, { spec: join(dir, "cleanimg.yaml"), offline: true });
      expect(again.lockWritten).toBe(false);
      expect(again.image.digest).toBe(generated.image.digest);
      const rec = (await provenanceOf(other, again)).buildDefinition.internalParameters.osRelease;
      expect(rec).toEqual(prov.buildDefinition.internalParameters.osRelease);
    } finally {
      await other.close();
    }
  }, 300_000);

  it("scans every Debian package of the built image against its release's data", async () => {
    await importVulnData(ctx, [join(CORPUS, "debian-dsa-osv.jsonl.gz")]);
    const r = await scan(ctx, "myapp:1.0.0");
    const debs = r.sbom.packages.filter((p) => p.type === "deb").length;
    expect(debs).toBeGreaterThan(30);
    // the corpus has no bookworm data: the packages are not assessed for that reason, named,
    // and never for want of a distribution
    expect(r.issues.map((i) => i.code)).not.toContain("VULN_DISTRO_UNKNOWN");
    expect(r.unassessed).toEqual([{ ecosystem: "Debian:12", packages: debs }]);
  });
});
