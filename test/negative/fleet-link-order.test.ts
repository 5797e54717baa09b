import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  buildImage,
  createAppContext,
  evaluateImagePolicy,
  type FleetRow,
  fleetStatus,
  importVulnData,
  scan,
  verifyChain,
} from "../../src/app/index.js";
import type { Digest } from "../../src/core/digest.js";
import { tempDir } from "../support/tmp.js";

// The fleet table takes each stage's link in effect as the chain verifier does (the link made
// last by its own signed time), not the one the store received last. Here home B scans and
// decides, then older scan and VEX links made on home A arrive (an import after the local policy
// decision, without A's SBOM): the chain is intact and nothing in it is stale, so the fleet
// must not call the image's VEX stale or the image not ready. It did: it paired the newest SBOM
// with the scan that arrived last, made before that SBOM.

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const REF = "fleetorder:1.0.0";

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

/** The stage of an exported chain link, from its statement (undefined for other evidence). */
const stageOf = (item: { bundle: unknown; kind: string }): string | undefined => {
  const env = (item.bundle as { dsseEnvelope?: { payload?: string } }).dsseEnvelope;
  if (item.kind !== "attestation" || !env?.payload) {
    return undefined;
  }
  const st = JSON.parse(Buffer.from(env.payload, "base64").toString("utf8")) as {
    predicate?: { stage?: string };
  };
  return st.predicate?.stage;
};

describe("fleet: links that arrive out of order", { timeout: 600_000 }, () => {
  let b: Awaited<ReturnType<typeof builtHome>>;

  beforeAll(async () => {
    const a = await builtHome("cleanimg-fleet-order-a-");
    b = await builtHome("cleanimg-fleet-order-b-");
    expect(b.image).toBe(a.image);
    mkdirSync(join(b.home, "keys", "trusted"), { recursive: true });
    mkdirSync(join(b.home, "keys", "trusted-logs"), { recursive: true });
    copyFileSync(join(a.home, "keys", "signing.pub"), join(b.home, "keys", "trusted", "a.pub"));
    copyFileSync(join(a.home, "keys", "log.pub"), join(b.home, "keys", "trusted-logs", "a.pub"));
    // A scans first; its scan and VEX links (not its SBOM) are carried to B
    await scan(a.ctx, REF);
    await a.ctx.close();
    const file = join(tempDir("cleanimg-fleet-order-x-"), "evidence.json");
    const ex = cli(a.home, "evidence", "export", REF, "-o", file);
    expect(ex.status, ex.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(file, "utf8")) as {
      items: { bundle: unknown; kind: string }[];
    };
    doc.items = doc.items.filter((i) => ["scan", "vex"].includes(stageOf(i) ?? ""));
    expect(doc.items).toHaveLength(2);
    writeFileSync(file, JSON.stringify(doc));
    // B scans later (a newer SBOM, scan and VEX) and decides; then A's links arrive
    await scan(b.ctx, REF);
    expect((await evaluateImagePolicy(b.ctx, REF)).link).toBeDefined();
    await b.ctx.close();
    const im = cli(b.home, "evidence", "import", file);
    expect(im.status, im.stdout + im.stderr).toBe(0);
    expect(im.stdout).toMatch(/imported 2 verified evidence artifacts/);
  }, 600_000);

  it("the chain is intact and not stale, and the fleet table (index or verified) agrees", async () => {
    const ctx = createAppContext({ home: b.home, env: env() });
    try {
      const chain = await verifyChain(ctx, b.image);
      expect(chain.intact).toBe(true);
      expect(chain.links.filter((l) => l.state === "stale")).toEqual([]);
      const [row] = (await fleetStatus(ctx)) as [FleetRow];
      expect(row.vex).toBe("complete (unverified)");
      expect(row.ready).toBe("unverified");
      const [verified] = (await fleetStatus(ctx, {
        verify: (d) => verifyChain(ctx, d),
      })) as [FleetRow];
      expect(verified.vex).toBe("complete");
      expect(verified.chain).toBe("intact");
      expect(verified.ready).toBe("ready");
    } finally {
      await ctx.close();
    }
    const all = cli(b.home, "status", "--all");
    expect(all.stdout).not.toMatch(/stale|broken/i);
  });
});

// The fleet's index view follows the links' own references, as the verifier does, not their
// signed times. Here home A scans an SBOM made before the one home B made (B built later), but
// signs the scan after it; A's evidence is imported into B. B's SBOM is in effect and A's scan
// was not made from it: the chain is stale at the scan. The index view called the VEX complete
// because the scan's signed time is later than the SBOM's.
describe("fleet: a scan signed later but made from an older SBOM", { timeout: 600_000 }, () => {
  let b: Awaited<ReturnType<typeof builtHome>>;

  beforeAll(async () => {
    const a = await builtHome("cleanimg-fleet-ref-a-");
    b = await builtHome("cleanimg-fleet-ref-b-");
    expect(b.image).toBe(a.image);
    mkdirSync(join(b.home, "keys", "trusted"), { recursive: true });
    mkdirSync(join(b.home, "keys", "trusted-logs"), { recursive: true });
    copyFileSync(join(a.home, "keys", "signing.pub"), join(b.home, "keys", "trusted", "a.pub"));
    copyFileSync(join(a.home, "keys", "log.pub"), join(b.home, "keys", "trusted-logs", "a.pub"));
    await b.ctx.close();
    await scan(a.ctx, REF); // after B's build: later than B's SBOM, made from A's own
    await a.ctx.close();
    const file = join(tempDir("cleanimg-fleet-ref-x-"), "evidence.json");
    const ex = cli(a.home, "evidence", "export", REF, "-o", file);
    expect(ex.status, ex.stderr).toBe(0);
    const im = cli(b.home, "evidence", "import", file);
    expect(im.status, im.stdout + im.stderr).toBe(0);
  }, 600_000);

  it("verify and the index view both say stale, not complete", async () => {
    const ctx = createAppContext({ home: b.home, env: env() });
    try {
      const chain = await verifyChain(ctx, b.image);
      expect(chain.intact).toBe(true);
      expect(chain.links.find((l) => l.stage === "scan")?.state).toBe("stale");
      const [row] = (await fleetStatus(ctx)) as [FleetRow];
      expect(row.vex).toBe("stale");
      expect(row.ready).toBe("NOT READY");
    } finally {
      await ctx.close();
    }
  });
});
