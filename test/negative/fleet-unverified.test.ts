import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMAGE_SIGNATURE_KIND } from "../../src/app/build.js";
import {
  type AppContext,
  buildImage,
  createAppContext,
  createToken,
  importVulnData,
  inspectImage,
  scan,
  verifyChain,
} from "../../src/app/index.js";
import { type Digest, digestHex } from "../../src/core/digest.js";
import { type RunningServer, startServer } from "../../src/server/index.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

interface Row {
  image: string;
  digest: string;
  signature: string;
  ready: string;
  chain: string;
  sbom: string;
  verified: boolean;
  unverified: string[];
  evidence: string[];
  signatureDetail?: string;
}

/**
 * The fleet table and GET /v1/images over a store where one image's signature was forged (a
 * bundle whose DSSE signature does not verify, linked as the image's signature) and another
 * image's chain was broken (its SBOM document altered): neither may be shown signed or ready,
 * from the index or verified; `--verify` names the bad signature.
 */
describe("fleet: only verified signatures and chains are signed or ready", () => {
  let home: string;
  let ctx: AppContext;
  let srv: RunningServer;
  let token: string;
  const digests: Record<string, Digest> = {};

  const spec = (name: string): string => {
    const dir = tempDir("cleanimg-neg-fleet-ctx-");
    mkdirSync(join(dir, "app"));
    writeFileSync(join(dir, "app", "config.txt"), `content of ${name}\n`);
    writeFileSync(
      join(dir, "cleanimg.yaml"),
      `image: ${name}\nfiles:\n  - src: app/\n    dst: /app/\n`,
    );
    return join(dir, "cleanimg.yaml");
  };
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
      encoding: "utf8",
      env: { ...process.env, CLEANIMG_HOME: home },
    });
  const rowOf = (rows: Row[], d: Digest | undefined): Row =>
    rows.find((r) => r.digest === d) as Row;
  const cell = (stdout: string, image: string): string[] =>
    stdout
      .split("\n")
      .find((l) => l.startsWith(`${image} `))
      ?.split(/\s{2,}/) ?? [];

  beforeAll(async () => {
    home = tempDir("cleanimg-neg-fleet-");
    ctx = createAppContext({
      home,
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
    });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    for (const name of ["good", "forged", "broken"]) {
      await buildImage(ctx, { spec: spec(`${name}:1.0.0`) });
      await scan(ctx, `${name}:1.0.0`);
      digests[name] = (await inspectImage(ctx, `${name}:1.0.0`, { record: false })).manifest.digest;
    }
    // break a chain before the server verifies (and caches) it: alter the SBOM document's bytes
    const sbom = (await verifyChain(ctx, digests["broken"] as Digest)).links.find(
      (l) => l.stage === "sbom",
    );
    const p = join(home, "evidence", "blobs", "sha256", digestHex(sbom?.evidence as Digest));
    const b = readFileSync(p);
    b[5] = (b[5] ?? 0) ^ 1;
    writeFileSync(p, b);
    srv = await startServer(ctx, { listen: "127.0.0.1:0" });
    token = (await createToken(ctx, { name: "neg-reader", role: "reader" })).token;
  }, 400_000);
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  const images = async (query = ""): Promise<{ verified: boolean; images: Row[] }> => {
    const r = await fetch(`${srv.url}/v1/images${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(r.status).toBe(200);
    return (await r.json()) as { verified: boolean; images: Row[] };
  };

  it("shows complete, verified evidence as signed and ready, with the evidence it rests on", async () => {
    const body = await images();
    expect(body.verified).toBe(true);
    for (const name of ["good", "forged"]) {
      const row = rowOf(body.images, digests[name]);
      expect(row, name).toMatchObject({ signature: "signed", ready: "ready", verified: true });
      // the signature and the four links (provenance, SBOM, scan, VEX)
      expect(row.evidence, name).toHaveLength(5);
    }
  });

  it("after tampering in the store, neither the index nor verification shows them signed or ready", async () => {
    // the chain broken in beforeAll was never ready
    const before = rowOf((await images()).images, digests["broken"]);
    expect(before).toMatchObject({ chain: "broken at sbom", ready: "NOT READY" });
    const store = ctx.evidence();
    // forge the image signature: the same bundle with its DSSE signature altered, linked anew
    const [sig] = await store.find({
      subject: digests["forged"] as Digest,
      kind: IMAGE_SIGNATURE_KIND,
    });
    const bundle = JSON.parse(
      new TextDecoder().decode((await store.getBlob(sig?.evidence as Digest)).bytes),
    );
    const s = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, "base64");
    s[s.length - 1] = (s[s.length - 1] ?? 0) ^ 1;
    bundle.dsseEnvelope.signatures[0].sig = s.toString("base64");
    const forged = await store.putBlob(
      new TextEncoder().encode(JSON.stringify(bundle)),
      "application/vnd.dev.sigstore.bundle.v0.3+json",
    );
    await store.link(digests["forged"] as Digest, forged, IMAGE_SIGNATURE_KIND);

    // GET /v1/images, verified (the default)
    const verified = await images();
    const f = rowOf(verified.images, digests["forged"]);
    expect
      .soft(f)
      .toMatchObject({ signature: "invalid signature", ready: "NOT READY", verified: true });
    expect.soft(f.evidence).not.toContain(forged);
    const br = rowOf(verified.images, digests["broken"]);
    expect.soft(br).toMatchObject({ chain: "broken at sbom", ready: "NOT READY" });
    expect.soft(br.sbom).not.toBe("signed");
    expect.soft(rowOf(verified.images, digests["good"])).toMatchObject({ ready: "ready" });

    // GET /v1/images?verify=false: index data, labelled as such, never signed or ready
    const index = await images("?verify=false");
    expect.soft(index.verified).toBe(false);
    for (const name of ["good", "forged", "broken"]) {
      const row = rowOf(index.images, digests[name]);
      expect.soft(row, name).toMatchObject({
        signature: "signed (unverified)",
        ready: "unverified",
        chain: "not verified",
        verified: false,
        evidence: [],
      });
      expect.soft(String(row.unverified), name).toMatch(/image signature/);
    }

    // the fleet table, from the index: labelled, nothing ready
    const table = cli("--compliance-status", "--all");
    expect
      .soft(table.stdout, table.stderr)
      .toMatch(/IMAGE +VERSION +SLSA +SBOM +VEX +SIGNATURE +READINESS/);
    for (const name of ["forged", "broken"]) {
      const c = cell(table.stdout, `docker.io/library/${name}`);
      expect.soft(c.slice(5, 7), name).toEqual(["signed (unverified)", "unverified"]);
    }
    expect.soft(table.stdout).toMatch(/NOT verified/);
    expect.soft(table.status).toBe(1);

    // --verify verifies the image signatures too: the forged one is caught
    const v = cli("--compliance-status", "--all", "--verify");
    expect
      .soft(cell(v.stdout, "docker.io/library/forged").slice(5, 8))
      .toEqual(["invalid signature", "NOT READY", "intact"]);
    expect
      .soft(cell(v.stdout, "docker.io/library/broken").slice(6, 8))
      .toEqual(["NOT READY", "broken at sbom"]);
    expect
      .soft(cell(v.stdout, "docker.io/library/good").slice(5, 8))
      .toEqual(["signed", "ready", "intact"]);
    expect.soft(v.status).toBe(1);
    const rows = JSON.parse(
      cli("--compliance-status", "--all", "--verify", "--json").stdout,
    ) as Row[];
    expect.soft(rowOf(rows, digests["forged"]).signatureDetail).toMatch(/signature/i);
  }, 300_000);

  it("says whether the posture's counts come from an intact audit trail", async () => {
    const posture = () =>
      fetch(`${srv.url}/v1/posture?days=2`, { headers: { authorization: `Bearer ${token}` } });
    const ok = await posture();
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-cleanimg-verified")).toBe("true");
    expect(ok.headers.get("x-cleanimg-audit-trail")).toMatch(/^intact; \d+ events; head sha256:/);
    // edit the newest audit event in the store directly
    const db = new Database(join(home, "evidence", "index.db"));
    const row = db
      .prepare("SELECT idx, entry FROM log_entries WHERE log='audit' ORDER BY idx DESC LIMIT 1")
      .get() as { idx: number; entry: Buffer };
    const e = JSON.parse(row.entry.toString());
    e.event.actor = "someone-else";
    db.prepare("UPDATE log_entries SET entry = ? WHERE log='audit' AND idx=?").run(
      Buffer.from(JSON.stringify(e)),
      row.idx,
    );
    db.close();
    const bad = await posture();
    expect(bad.status).toBe(200);
    expect(bad.headers.get("x-cleanimg-verified")).toBe("false");
    expect(bad.headers.get("x-cleanimg-audit-trail")).toMatch(
      /^BROKEN; \d+ problems, first at event \d+/,
    );
  });
});
