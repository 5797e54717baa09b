import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  auditEvents,
  buildImage,
  complianceStatus,
  createAppContext,
  evaluateImagePolicy,
  fleetStatus,
  generateSbom,
  importVulnData,
  latestLink,
  readTransparencyLog,
  recordChainLink,
  recordDeployment,
  STAGES,
  type Stage,
  scan,
  signStatement,
  verifyAuditTrail,
  verifyChain,
  verifyTransparencyLog,
} from "../../src/app/index.js";
import { CHAIN_LINK_PREDICATE, statement } from "../../src/attest/index.js";
import { type Digest, digestHex, sha256 } from "../../src/core/digest.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const LINKS: Stage[] = ["provenance", "sbom", "scan", "vex", "policy", "deployment"];
const BUILD_CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");

/**
 * The evidence chain of a real image (Debian packages, a pip-installed library with known
 * vulnerabilities), scanned twice so that every link has an older valid generation; then, for
 * every link and every kind of tampering, a copy of the store is damaged and `verifyChain` must
 * name exactly that link, keep the links before it valid and mark the ones after it invalid.
 */
describe("evidence chain", () => {
  let base: string;
  let image: Digest;
  let ref: string;

  beforeAll(async () => {
    base = tempDir("cleanimg-chain-");
    // built by cleanimg (so the chain starts with provenance), twice, then scanned twice: every
    // link has an older valid generation
    const context = tempDir("cleanimg-chain-ctx-");
    const info = join(context, "site", "requests-2.28.1.dist-info");
    mkdirSync(info, { recursive: true });
    writeFileSync(
      join(info, "METADATA"),
      "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n",
    );
    writeFileSync(
      join(context, "cleanimg.yaml"),
      "image: chain:1.0.0\npackages: [base-files]\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
    );
    const ctx = createAppContext({
      home: base,
      env: { CLEANIMG_CACHE: BUILD_CACHE, SOURCE_DATE_EPOCH: "1700000000" },
    });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    const built = await buildImage(ctx, { spec: join(context, "cleanimg.yaml") });
    await buildImage(ctx, { spec: join(context, "cleanimg.yaml") });
    image = built.image.digest;
    ref = "chain:1.0.0";
    await scan(ctx, ref, { created: new Date(0) });
    await scan(ctx, ref, { created: new Date(0) });
    await evaluateImagePolicy(ctx, ref);
    await evaluateImagePolicy(ctx, ref);
    // base-files cannot be assessed (no Debian 12 data): the decision denies; recorded anyway
    await recordDeployment(ctx, ref, { environment: "test", force: true });
    await recordDeployment(ctx, ref, { environment: "test", force: true });
    await ctx.close();
  }, 300_000);

  /** A copy of the baseline store, damaged by `tamper`, and its chain report. */
  async function afterTamper(
    tamper: (ctx: AppContext, db: Database.Database, home: string) => Promise<void> | void,
  ) {
    const home = tempDir("cleanimg-chain-case-");
    rmSync(home, { recursive: true, force: true });
    cpSync(base, home, { recursive: true });
    const ctx = createAppContext({ home, env: {} });
    const db = new Database(join(home, "evidence", "index.db"));
    try {
      await tamper(ctx, db, home);
    } finally {
      db.close();
    }
    const report = await verifyChain(ctx, image);
    await ctx.close();
    return report;
  }
  const state = (r: Awaited<ReturnType<typeof afterTamper>>) =>
    Object.fromEntries(r.links.map((l) => [l.stage, l.state]));
  const current = async (ctx: AppContext, stage: Stage) => {
    const l = await latestLink(ctx, image, stage);
    if (!l) {
      throw new Error(`no ${stage} link`);
    }
    return l;
  };
  const blobPath = (home: string, d: Digest) =>
    join(home, "evidence", "blobs", "sha256", digestHex(d));

  it("is intact after two scans: every link signed, logged and referring to the current one", async () => {
    const r = await afterTamper(() => {});
    expect(r.intact).toBe(true);
    expect(state(r)).toEqual({
      provenance: "valid",
      sbom: "valid",
      scan: "valid",
      vex: "valid",
      policy: "valid",
      deployment: "valid",
    });
    const scanLink = r.links.find((l) => l.stage === "scan");
    expect(scanLink?.signers).toHaveLength(1);
    expect(scanLink?.predicate?.inputs["dbSnapshot"]).toMatch(/^sha256:/);
    expect(scanLink?.predicate?.previous.map((p) => p.stage)).toEqual(["sbom"]);
  });

  const expectNamed = (
    r: Awaited<ReturnType<typeof afterTamper>>,
    stage: Stage,
    reason: RegExp,
  ) => {
    expect(r.intact).toBe(false);
    expect(r.firstBroken).toBe(stage);
    const i = STAGES.indexOf(stage);
    for (const l of r.links) {
      const j = STAGES.indexOf(l.stage);
      if (j < i) {
        expect(l.state, l.stage).toMatch(/valid|not-recorded/);
      } else if (j === i) {
        expect(l.state).toBe("broken");
        expect(l.reason).toMatch(reason);
      } else if (l.state !== "not-recorded") {
        expect(l.state, l.stage).toBe("invalid");
        expect(l.reason).toContain(`after the broken ${stage} link`);
      }
    }
  };

  describe.each(LINKS)("the %s link", (stage) => {
    it("altered bytes of the attestation are detected", async () => {
      const r = await afterTamper(async (ctx, _db, home) => {
        const p = blobPath(home, (await current(ctx, stage)).attestation);
        const b = readFileSync(p);
        b[b.length - 3] = (b[b.length - 3] ?? 0) ^ 1;
        writeFileSync(p, b);
      });
      expectNamed(r, stage, /bytes were altered/);
    });

    it("altered evidence document is detected", async () => {
      const r = await afterTamper(async (ctx, _db, home) => {
        const p = blobPath(home, (await current(ctx, stage)).evidence);
        const b = readFileSync(p);
        b[10] = (b[10] ?? 0) ^ 1;
        writeFileSync(p, b);
      });
      expectNamed(r, stage, /evidence document .* was altered/);
    });

    it("an altered signature is detected", async () => {
      const r = await afterTamper(async (ctx, db) => {
        const cur = await current(ctx, stage);
        const bundle = JSON.parse(
          Buffer.from((await ctx.evidence().getBlob(cur.attestation)).bytes).toString(),
        );
        const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, "base64");
        sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
        bundle.dsseEnvelope.signatures[0].sig = sig.toString("base64");
        const d = await ctx
          .evidence()
          .putBlob(new TextEncoder().encode(JSON.stringify(bundle)), "application/json");
        db.prepare("UPDATE links SET evidence = ? WHERE evidence = ?").run(d, cur.attestation);
      });
      expectNamed(r, stage, /valid signature/);
    });

    it("an edited statement (its reference to the previous link) without a new signature is detected", async () => {
      const r = await afterTamper(async (ctx, db) => {
        const cur = await current(ctx, stage);
        const bundle = JSON.parse(
          Buffer.from((await ctx.evidence().getBlob(cur.attestation)).bytes).toString(),
        );
        const st = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString());
        st.predicate.previous = [{ stage: "provenance", envelope: sha256("forged") }];
        bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString("base64");
        const d = await ctx
          .evidence()
          .putBlob(new TextEncoder().encode(JSON.stringify(bundle)), "application/json");
        db.prepare("UPDATE links SET evidence = ? WHERE evidence = ?").run(d, cur.attestation);
      });
      expectNamed(r, stage, /valid signature/);
    });

    it("a validly signed link whose reference names a link that never existed is detected", async () => {
      const r = await afterTamper(async (ctx) => {
        const before = (
          stage === "provenance" ? "sbom" : STAGES[STAGES.indexOf(stage) - 1]
        ) as Stage;
        await recordChainLink(ctx, {
          image: { name: "chain", digest: image },
          stage,
          evidence: { digest: (await current(ctx, stage)).evidence, mediaType: "application/json" },
          previous: [
            {
              stage: before,
              attestation: sha256("x"),
              envelope: sha256("never made"),
              evidence: sha256("y"),
              created: "",
            },
          ],
          tool: "insider",
        });
      });
      expectNamed(r, stage, /never recorded: its reference is wrong/);
    });

    it("replacing it with an older valid attestation is detected", async () => {
      const r = await afterTamper(async (ctx, db) => {
        const cur = await current(ctx, stage);
        db.prepare("DELETE FROM links WHERE evidence = ?").run(cur.attestation);
        // the older generation is now what the store returns
        expect((await current(ctx, stage)).attestation).not.toBe(cur.attestation);
      });
      expectNamed(r, stage, /replaced/);
    });

    it("deleting it is detected", async () => {
      const r = await afterTamper(async (ctx, db, home) => {
        const rows = (await ctx.evidence().find({ subject: image, kind: "attestation" })).filter(
          (l) => l.annotations["stage"] === stage,
        );
        for (const l of rows) {
          db.prepare("DELETE FROM links WHERE evidence = ?").run(l.evidence);
          rmSync(blobPath(home, l.evidence));
        }
      });
      expectNamed(r, stage, /deleted/);
    });

    it("a link made with an untrusted key is detected", async () => {
      const r = await afterTamper(async (ctx, db, home) => {
        const cur = await current(ctx, stage);
        // a different home has a different signing key; its bundle lands in this store
        const other = createAppContext({ home: tempDir("cleanimg-other-"), env: {} });
        const signed = await signStatement(
          other,
          statement([{ name: "chain", digest: image }], CHAIN_LINK_PREDICATE, { stage }),
        );
        await other.close();
        const d = await ctx.evidence().putBlob(signed.bytes, "application/json");
        db.prepare("UPDATE links SET evidence = ? WHERE evidence = ?").run(d, cur.attestation);
        expect(home).toBeTruthy();
      });
      expectNamed(r, stage, /valid signature/);
    });
  });

  it("a new SBOM makes the scan and VEX made from the old one stale, not broken", async () => {
    const r = await afterTamper(async (ctx) => {
      await generateSbom(ctx, ref, { created: new Date(0) });
    });
    expect(r.intact).toBe(true);
    expect(state(r)).toMatchObject({
      sbom: "valid",
      scan: "stale",
      vex: "stale",
      policy: "stale",
      deployment: "stale",
    });
    expect(r.links.find((l) => l.stage === "scan")?.reason).toMatch(
      /^scan is older than the newest SBOM: re-run cleanimg-init --scan --image chain:1.0.0$/,
    );
  });

  it("logs every attestation in the embedded transparency log and proves the log only grew", async () => {
    const home = tempDir("cleanimg-chain-log-");
    rmSync(home, { recursive: true, force: true });
    cpSync(base, home, { recursive: true });
    const ctx = createAppContext({ home, env: {} });
    const first = await verifyTransparencyLog(ctx);
    expect(first.problems).toEqual([]);
    expect(first.size).toBe(20); // two builds (five signatures each), two scans (three links each), two decisions, two deployments
    await generateSbom(ctx, ref, { created: new Date(0) });
    const later = await verifyTransparencyLog(ctx, first.checkpoint);
    expect(later.size).toBe(21);
    expect(later.consistentWith).toEqual({ size: 20, ok: true });
    // an earlier checkpoint for a different history does not prove consistency
    const forged = (first.checkpoint as string).replace(
      /\n[A-Za-z0-9+/=]{44}\n/,
      `\n${Buffer.alloc(32).toString("base64")}\n`,
    );
    expect((await verifyTransparencyLog(ctx, forged)).consistentWith?.ok).toBe(false);
    // an altered entry is located
    const { bodies } = await readTransparencyLog(ctx);
    expect(bodies).toHaveLength(21);
    await ctx.close();
    const db = new Database(join(home, "evidence", "index.db"));
    const row = db
      .prepare("SELECT entry FROM log_entries WHERE log = 'tlog' AND idx = 2")
      .get() as { entry: Buffer };
    const e = JSON.parse(row.entry.toString());
    e.body = Buffer.from("forged entry").toString("base64");
    db.prepare("UPDATE log_entries SET entry = ? WHERE log = 'tlog' AND idx = 2").run(
      Buffer.from(JSON.stringify(e)),
    );
    db.close();
    const ctx2 = createAppContext({ home, env: {} });
    const bad = await verifyTransparencyLog(ctx2);
    expect(bad.problems[0]?.index).toBe(2);
    expect(bad.problems[0]?.reason).toMatch(/entry 2 or an earlier one was altered/);
    await ctx2.close();
  });

  describe("audit trail", () => {
    it("records every action, hash-chained and signed", async () => {
      const ctx = createAppContext({ home: base, env: {} });
      const v = await verifyAuditTrail(ctx);
      expect(v.intact).toBe(true);
      const events = await auditEvents(ctx);
      expect(events.map((e) => e.action)).toEqual([
        "db-import",
        "build",
        "sbom",
        "build",
        "sbom",
        "sbom",
        "scan",
        "vex",
        "sbom",
        "scan",
        "vex",
        "policy",
        "policy",
        "deployment",
        "deployment",
      ]);
      expect(events[0]?.evidence["dbSnapshot"]).toMatch(/^sha256:/);
      expect(events[1]?.subject).toBe(image);
      await ctx.close();
    });

    const tamperAudit = async (f: (db: Database.Database) => void) => {
      const home = tempDir("cleanimg-audit-");
      rmSync(home, { recursive: true, force: true });
      cpSync(base, home, { recursive: true });
      const db = new Database(join(home, "evidence", "index.db"));
      f(db);
      db.close();
      const ctx = createAppContext({ home, env: {} });
      const v = await verifyAuditTrail(ctx);
      await ctx.close();
      return v;
    };
    const entry = (db: Database.Database, i: number) =>
      JSON.parse(
        (
          db.prepare("SELECT entry FROM log_entries WHERE log='audit' AND idx=?").get(i) as {
            entry: Buffer;
          }
        ).entry.toString(),
      );
    const put = (db: Database.Database, i: number, e: unknown) =>
      db
        .prepare("UPDATE log_entries SET entry=? WHERE log='audit' AND idx=?")
        .run(Buffer.from(JSON.stringify(e)), i);

    it("locates an edited event", async () => {
      const v = await tamperAudit((db) => {
        const e = entry(db, 3);
        e.event.actor = "someone else";
        put(db, 3, e);
      });
      expect(v.intact).toBe(false);
      expect(v.problems).toContainEqual({ seq: 3, reason: expect.stringMatching(/signature/) });
      expect(v.problems).toContainEqual({
        seq: 4,
        reason: expect.stringMatching(/event 3 was edited or removed/),
      });
    });

    it("locates a removed event", async () => {
      const v = await tamperAudit((db) => {
        db.prepare("DELETE FROM log_entries WHERE log='audit' AND idx=2").run();
      });
      expect(v.intact).toBe(false);
      expect(v.problems[0]?.reason).toMatch(/event 2 was removed/);
    });

    it("locates a re-signed forgery only by its broken chain (a valid signature is not enough)", async () => {
      const v = await tamperAudit((db) => {
        const e = entry(db, 5);
        e.event.prev = sha256("another history");
        put(db, 5, e);
      });
      expect(v.problems.map((p) => p.seq)).toContain(5);
    });
  });

  describe("compliance status", () => {
    const copy = (): string => {
      const home = tempDir("cleanimg-status-");
      rmSync(home, { recursive: true, force: true });
      cpSync(base, home, { recursive: true });
      return home;
    };

    it("prints PASS only with verified evidence that exists, and UNKNOWN where data is missing", async () => {
      const ctx = createAppContext({ home: copy(), env: {} });
      const s = await complianceStatus(ctx, ref);
      const by = Object.fromEntries(s.checks.map((c) => [c.id, c]));
      expect(by["slsa-build-level"]?.result).toBe("PASS");
      expect(by["slsa-build-level"]?.detail).toMatch(/^Build L1: signed provenance/);
      expect(by["base-image"]?.result).toBe("PASS");
      expect(by["image-signature"]?.result).toBe("PASS");
      expect(by["sbom"]?.result).toBe("PASS");
      expect(by["sbom"]?.detail).toMatch(/SPDX 3.0.1/);
      // the Debian packages have no Debian 12 data in this database: not PASS
      expect(by["vex-coverage"]?.result).toBe("UNKNOWN");
      expect(by["vex-coverage"]?.detail).toMatch(/could not be assessed.*Debian:12/);
      expect(by["critical-vulnerabilities"]?.result).not.toBe("PASS");
      expect(by["evidence-signatures"]?.result).toBe("PASS");
      expect(by["chain"]?.result).toBe("PASS");
      expect(s.compliant).toBe(false);
      for (const c of s.checks.filter((c) => c.result === "PASS")) {
        expect(c.evidence.length, c.id).toBeGreaterThan(0);
        for (const d of c.evidence) {
          expect(await ctx.evidence().hasBlob(d as Digest), `${c.id} cites ${d}`).toBe(true);
        }
      }
      await ctx.close();
    });

    it("turns to FAIL when the chain is broken", async () => {
      const home = copy();
      const ctx = createAppContext({ home, env: {} });
      const p = blobPath(home, (await current(ctx, "scan")).attestation);
      writeFileSync(p, "{}");
      const s = await complianceStatus(ctx, ref);
      const by = Object.fromEntries(s.checks.map((c) => [c.id, c]));
      expect(by["chain"]?.result).toBe("FAIL");
      expect(by["chain"]?.detail).toMatch(/broken at scan/);
      expect(by["evidence-signatures"]?.result).toBe("FAIL");
      expect(by["vex-coverage"]?.result).not.toBe("PASS");
      expect(by["critical-vulnerabilities"]?.result).not.toBe("PASS");
      await ctx.close();
    });

    it("lists the fleet from the store's index, labelled unverified", async () => {
      const ctx = createAppContext({ home: copy(), env: {} });
      const rows = await fleetStatus(ctx);
      expect(rows).toEqual([
        expect.objectContaining({
          digest: image,
          slsa: "L1 (unverified)",
          sbom: "signed (unverified)",
          // base-files could not be assessed (no Debian 12 data): not "complete", not ready
          vex: "partial",
          signature: "signed (unverified)",
          ready: "NOT READY",
          verified: false,
        }),
      ]);
      await ctx.close();
    });

    it("runs the design's commands as written", () => {
      const home = copy();
      const cli = (...args: string[]) =>
        spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
          encoding: "utf8",
          env: { ...process.env, CLEANIMG_HOME: home },
        });
      const status = cli("--compliance-status", "--image", ref);
      expect(status.status).toBe(1);
      expect(status.stdout).toMatch(/PASS +SBOM present and signed \(SPDX 3.0.1\)/);
      expect(status.stdout).toMatch(/PASS +SLSA Build level \(SLSA v1.0\): Build L1/);
      expect(status.stdout).not.toMatch(/Level 4/);
      const json = JSON.parse(cli("--compliance-status", "--image", ref, "--json").stdout);
      expect(json.checks).toHaveLength(9);
      const verify = cli("verify", "--image", ref);
      expect(verify.status).toBe(0);
      expect(verify.stdout).toMatch(/chain intact/);
      const trail = cli("--audit-trail", "--from=2020-01-01", "--to=2099-12-31");
      expect(trail.status).toBe(0);
      expect(trail.stdout).toMatch(/15 events; log verified intact/);
      expect(trail.stdout).toMatch(/0 builds without provenance/);
      // base-files could not be assessed (no Debian 12 data): a gap, not "0 gaps"
      expect(trail.stdout).toMatch(
        /1 vulnerability assessment gaps \(1 images scanned, 0 with every package assessed and a VEX\)/,
      );
      expect(trail.stdout).toMatch(/chain:1\.0\.0: \d+ packages could not be assessed/);
      expect(cli("--audit-trail", "--from=2099-01-01", "--to=2099-12-31").stdout).toMatch(
        /: 0 events/,
      );
      expect(cli("audit", "verify").stdout).toMatch(/audit log intact: 15 events/);
      const cp = cli("tlog", "checkpoint");
      expect(cp.stdout).toMatch(/^cleanimg.local\/log\/[0-9a-f]{16}\n20\n/);
      writeFileSync(join(home, "cp.txt"), cp.stdout);
      const fleet = cli("--compliance-status", "--all");
      expect(fleet.stdout).toMatch(/IMAGE +VERSION +SLSA +SBOM +VEX +SIGNATURE +READINESS/);
      const tv = cli("tlog", "verify", "--checkpoint", join(home, "cp.txt"));
      expect(tv.status).toBe(0);
      expect(tv.stdout).toMatch(/consistent with the checkpoint of size 20/);
    });
  });
});
