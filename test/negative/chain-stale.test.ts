import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AdmissionController,
  type AppContext,
  buildImage,
  type ChainReport,
  complianceStatus,
  createAppContext,
  evaluateImagePolicy,
  importVulnData,
  latestLink,
  type RecordedLink,
  recordChainLink,
  scan,
  verifyChain,
} from "../../src/app/index.js";
import type { Digest } from "../../src/core/digest.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const REF = "stale:1.0.0";

/**
 * Two normal workflows that leave a healthy chain must never read as tampering: evidence made on
 * another home imported after a local policy decision (its links arrive after the decision that
 * was made from the local ones), and a scan interrupted between its scan and VEX links followed by
 * a new SBOM. Which link of a stage is in effect follows the links' own signed times and
 * references, not the order the store received them; a link made from an older upstream link
 * than the newest is STALE, saying what to re-run, and the admission does not call it broken.
 */

const env = (): Record<string, string> => ({
  CLEANIMG_CACHE: CACHE,
  SOURCE_DATE_EPOCH: "1700000000",
});

const cli = (home: string, ...args: string[]): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, CLEANIMG_HOME: home, ...env() },
  });

/** A home that has built the image (deterministic: the same digest on every home). */
async function builtHome(
  prefix: string,
): Promise<{ home: string; ctx: AppContext; image: Digest }> {
  const home = tempDir(prefix);
  const dir = tempDir(`${prefix}ctx-`);
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app", "config.txt"), "static content\n");
  writeFileSync(
    join(dir, "cleanimg.yaml"),
    `image: ${REF}\nfiles:\n  - src: app/\n    dst: /app/\n`,
  );
  const ctx = createAppContext({ home, env: env() });
  await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
  const image = (await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") })).image.digest;
  return { home, ctx, image };
}

const states = (r: ChainReport): Record<string, string> =>
  Object.fromEntries(r.links.map((l) => [l.stage, l.state]));

const noTampering = (r: ChainReport): void => {
  for (const l of r.links) {
    expect(l.state, `${l.stage}: ${l.reason}`).not.toMatch(/broken|invalid/);
    expect(l.reason ?? "", l.stage).not.toMatch(/replaced|altered|never recorded|behind/);
  }
  expect(r.intact).toBe(true);
};

describe("healthy chains are not reported as tampered with", () => {
  let a: Awaited<ReturnType<typeof builtHome>>;
  let b: Awaited<ReturnType<typeof builtHome>>;

  beforeAll(async () => {
    a = await builtHome("cleanimg-stale-a-");
    b = await builtHome("cleanimg-stale-b-");
    expect(b.image).toBe(a.image);
    // home B trusts home A's signing key and log
    mkdirSync(join(b.home, "keys", "trusted"), { recursive: true });
    mkdirSync(join(b.home, "keys", "trusted-logs"), { recursive: true });
    copyFileSync(join(a.home, "keys", "signing.pub"), join(b.home, "keys", "trusted", "a.pub"));
    copyFileSync(join(a.home, "keys", "log.pub"), join(b.home, "keys", "trusted-logs", "a.pub"));
  }, 300_000);

  it("evidence exported on home A and imported on home B after B's own policy decision", async () => {
    // A: the image scanned there, its evidence exported
    await scan(a.ctx, REF);
    await a.ctx.close();
    const file = join(tempDir("cleanimg-stale-export-"), "evidence.json");
    const ex = cli(a.home, "evidence", "export", REF, "-o", file);
    expect(ex.status, ex.stderr).toBe(0);
    // B: scanned and decided here, then A's evidence arrives
    await scan(b.ctx, REF);
    const decided = await evaluateImagePolicy(b.ctx, REF);
    expect(decided.link).toBeDefined();
    const before = await verifyChain(b.ctx, b.image);
    noTampering(before);
    await b.ctx.close();
    const im = cli(b.home, "evidence", "import", file);
    expect(im.status, im.stdout + im.stderr).toBe(0);
    expect(im.stdout).toMatch(/imported [1-9]\d* verified evidence artifacts/);

    const ctx = createAppContext({ home: b.home, env: env() });
    const r = await verifyChain(ctx, b.image);
    noTampering(r);
    // B's decision was made from the newest links of every stage: it is still in effect
    expect(states(r)).toMatchObject({
      provenance: "valid",
      sbom: "valid",
      scan: "valid",
      vex: "valid",
      policy: "valid",
    });
    expect(r.links.find((l) => l.stage === "policy")?.envelope).toBe(decided.link?.envelope);
    const v = cli(b.home, "verify", "--image", REF);
    expect(v.stdout).not.toMatch(/BROKEN/);
    expect(v.stdout).toMatch(/chain intact/);
    const verdict = await new AdmissionController(ctx).verdict(REF, b.image);
    expect(verdict.reason).not.toMatch(/broken/i);
    await ctx.close();
  });

  it("a decision made before a re-scan, exported and imported into a fresh home: STALE there too, not BROKEN", async () => {
    // D: scanned, decided, scanned again (the decision is now stale: it judged the older scan)
    const d = await builtHome("cleanimg-stale-d-");
    await scan(d.ctx, REF);
    await evaluateImagePolicy(d.ctx, REF);
    await scan(d.ctx, REF);
    const here = await verifyChain(d.ctx, d.image);
    noTampering(here);
    expect(states(here)["policy"]).toBe("stale");
    await d.ctx.close();
    const file = join(tempDir("cleanimg-stale-export-d-"), "evidence.json");
    const ex = cli(d.home, "evidence", "export", REF, "-o", file);
    expect(ex.status, ex.stderr).toBe(0);
    // E: a fresh home trusting D's keys
    const e = tempDir("cleanimg-stale-e-");
    mkdirSync(join(e, "keys", "trusted"), { recursive: true });
    mkdirSync(join(e, "keys", "trusted-logs"), { recursive: true });
    copyFileSync(join(d.home, "keys", "signing.pub"), join(e, "keys", "trusted", "d.pub"));
    copyFileSync(join(d.home, "keys", "log.pub"), join(e, "keys", "trusted-logs", "d.pub"));
    const im = cli(e, "evidence", "import", file);
    expect(im.status, im.stdout + im.stderr).toBe(0);
    const ctx = createAppContext({ home: e, env: env() });
    const there = await verifyChain(ctx, d.image);
    noTampering(there);
    expect(states(there)).toEqual(states(here));
    await ctx.close();
    const v = cli(e, "verify", "--image", d.image);
    expect(v.stdout).not.toMatch(/BROKEN/);
    expect(v.status, v.stdout).toBe(0);
  });

  it("a scan interrupted between its scan and VEX links, then a new SBOM: STALE with what to re-run", async () => {
    const home = tempDir("cleanimg-stale-c-");
    const { ctx, image } = await builtHome("cleanimg-stale-c-");
    await scan(ctx, REF);
    // the interrupted scan: its scan link is recorded (the lower-level step), its VEX never is
    const sbom = (await latestLink(ctx, image, "sbom")) as RecordedLink;
    const scanned = (await latestLink(ctx, image, "scan")) as RecordedLink;
    await recordChainLink(ctx, {
      image: { name: REF, digest: image },
      stage: "scan",
      evidence: { digest: scanned.evidence, mediaType: "application/json" },
      previous: [sbom],
      inputs: {},
      tool: "interrupted scan",
    });
    const interrupted = await verifyChain(ctx, image);
    noTampering(interrupted);
    expect(interrupted.links.find((l) => l.stage === "vex")?.state).toBe("stale");
    // then a new SBOM
    const homeOf = (ctx as { home: string }).home;
    await ctx.close();
    const s = cli(homeOf, "sbom", REF, "-o", join(home, "sbom.json"));
    expect(s.status, s.stderr).toBe(0);

    const after = createAppContext({ home: homeOf, env: env() });
    const r = await verifyChain(after, image);
    noTampering(r);
    expect(states(r)).toMatchObject({ sbom: "valid", scan: "stale", vex: "stale" });
    const reason = (stage: string) => r.links.find((l) => l.stage === stage)?.reason;
    expect(reason("scan")).toBe(
      `scan is older than the newest SBOM: re-run cleanimg-init --scan --image ${REF}`,
    );
    expect(reason("vex")).toMatch(/re-run cleanimg-init --scan --image/);
    const v = cli(homeOf, "verify", "--image", REF);
    expect(v.stdout).not.toMatch(/BROKEN/);
    expect(v.stdout).toMatch(/scan +STALE +scan is older than the newest SBOM: re-run/);
    // the status: not ready, with the reason
    const status = await complianceStatus(after, REF);
    const chain = status.checks.find((c) => c.id === "chain");
    expect(chain?.result).not.toBe("PASS");
    expect(chain?.detail).toContain("scan is older than the newest SBOM");
    expect(status.compliant).toBe(false);
    // the admission denies it as not ready, never as broken
    const verdict = await new AdmissionController(after).verdict(REF, image);
    expect(verdict.allowed).toBe(false);
    expect(verdict.reason).not.toMatch(/broken/i);
    expect(verdict.reason).toContain("scan is older than the newest SBOM: re-run");
    await after.close();
  });
});
