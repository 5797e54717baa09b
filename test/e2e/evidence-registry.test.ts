import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  buildImage,
  complianceStatus,
  copyImageBetween,
  createAppContext,
  evaluateImagePolicy,
  importVulnData,
  pullEvidence,
  pushEvidence,
  scan,
  verifyChain,
} from "../../src/app/index.js";
import { parseImageRef, RegistryClient, referrersTag } from "../../src/oci/index.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

/**
 * Evidence distributed through the CNCF distribution registry (Debian docker-registry, 2.8: no
 * referrers API, so the tag-schema fallback carries it): pushed from the store that made it,
 * pulled into an empty store that trusts its keys, and verified there.
 */
describe("evidence in an OCI registry", () => {
  let registry: TestRegistry;
  let a: AppContext;
  let ref: string;
  let digest: string;

  beforeAll(async () => {
    registry = await startRegistry("none");
    a = createAppContext({
      home: tempDir("cleanimg-dist-a-"),
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
      insecure: true,
    });
    await importVulnData(a, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    const dir = tempDir("cleanimg-dist-ctx-");
    mkdirSync(join(dir, "app"));
    writeFileSync(join(dir, "app", "config.txt"), "static\n");
    writeFileSync(
      join(dir, "cleanimg.yaml"),
      "image: dist:1.0.0\nfiles:\n  - src: app/\n    dst: /app/\n",
    );
    const built = await buildImage(a, { spec: join(dir, "cleanimg.yaml") });
    digest = built.image.digest;
    await scan(a, "dist:1.0.0");
    await evaluateImagePolicy(a, "dist:1.0.0");
    ref = `docker://${registry.host}/team/dist:1.0.0`;
    await copyImageBetween(a, "local:dist:1.0.0", ref);
  }, 300_000);
  afterAll(async () => {
    await a?.close();
    await registry?.stop();
  });

  /** An empty store that trusts A's signing key and transparency log. */
  const trustingStore = (trust = true): AppContext => {
    const home = tempDir("cleanimg-dist-b-");
    if (trust) {
      mkdirSync(join(home, "keys", "trusted"), { recursive: true });
      mkdirSync(join(home, "keys", "trusted-logs"), { recursive: true });
      copyFileSync(
        join(a.home, "keys", "signing.pub"),
        join(home, "keys", "trusted", "builder.pub"),
      );
      copyFileSync(
        join(a.home, "keys", "log.pub"),
        join(home, "keys", "trusted-logs", "builder.pub"),
      );
    }
    return createAppContext({ home, env: {}, insecure: true });
  };

  it("pushes every signed piece as a referrer of the image, through the tag-schema fallback", async () => {
    const r = await pushEvidence(a, ref);
    expect(r.image).toBe(digest);
    // provenance, sbom, scan, vex, policy links; image signature, provenance, reproducibility
    expect(r.pushed).toBe(8);
    expect(new Set(r.via)).toEqual(new Set(["tag"]));
    const client = new RegistryClient(parseImageRef(`${registry.host}/team/dist`), {
      insecure: true,
    });
    expect(await client.listTags()).toContain(referrersTag(digest as never));
    const refs = await client.referrers(
      digest as never,
      "application/vnd.dev.sigstore.bundle.v0.3+json",
    );
    expect(refs.index.manifests).toHaveLength(8);
    // pushing again adds nothing
    await pushEvidence(a, ref);
    expect((await client.referrers(digest as never)).index.manifests).toHaveLength(8);
  });

  it("pulls it into an empty store that trusts the builder, where the chain verifies and the status is answered", async () => {
    const b = trustingStore();
    const r = await pullEvidence(b, ref);
    expect(r.rejected).toEqual([]);
    expect(r.imported).toBe(8);
    const chain = await verifyChain(b, digest as never);
    expect(chain.intact).toBe(true);
    expect(Object.fromEntries(chain.links.map((l) => [l.stage, l.state]))).toMatchObject({
      provenance: "valid",
      sbom: "valid",
      scan: "valid",
      vex: "valid",
      policy: "valid",
    });
    const status = await complianceStatus(b, ref);
    const by = Object.fromEntries(status.checks.map((c) => [c.id, c.result]));
    expect(by).toMatchObject({
      "slsa-build-level": "PASS",
      sbom: "PASS",
      "image-signature": "PASS",
      chain: "PASS",
    });
    // a second pull imports nothing new
    expect((await pullEvidence(b, ref)).imported).toBe(0);
    await b.close();
  });

  it("keeps nothing a store does not trust", async () => {
    const b = trustingStore(false);
    const r = await pullEvidence(b, ref);
    expect(r.imported).toBe(0);
    expect(r.rejected).toHaveLength(8);
    expect(r.rejected[0]?.reason).toMatch(/valid signature|does not trust/);
    expect(
      (await verifyChain(b, digest as never)).links.every((l) => l.state === "not-recorded"),
    ).toBe(true);
    await b.close();
  });

  it("verify and --compliance-status discover the evidence in the registry when the store has none", () => {
    const b = trustingStore();
    const home = b.home;
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", MAIN, "--insecure", ...args], {
        encoding: "utf8",
        env: { ...process.env, CLEANIMG_HOME: home },
      });
    const byDigest = `${registry.host}/team/dist@${digest}`;
    const v = cli("verify", "--image", byDigest);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/pulled 8 verified evidence artifacts from the registry/);
    expect(v.stdout).toMatch(/chain intact/);
    const s = cli("--compliance-status", "--image", ref, "--json");
    const checks = Object.fromEntries(
      (JSON.parse(s.stdout).checks as { id: string; result: string }[]).map((c) => [
        c.id,
        c.result,
      ]),
    );
    expect(checks).toMatchObject({ sbom: "PASS", "image-signature": "PASS", chain: "PASS" });
  });
});
