import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { signedBaseImage } from "../../src/app/base-image.js";
import {
  type AppContext,
  type BuildResult,
  type ComplianceCheck,
  complianceStatus,
  copyImageBetween,
  createAppContext,
  importVulnData,
  type LinkReport,
  policyInput,
  scan,
  verifyChain,
} from "../../src/app/index.js";
import type { Digest } from "../../src/core/digest.js";
import { buildImageLayout, writeBlob } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";
import { offlineBuild, REQUESTS_2_28_1 } from "./offline-build.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const BASE_DIGEST = "org.opencontainers.image.base.digest";
const FILES = "files:\n  - src: app/\n    dst: /app/\n";

/**
 * The compliance status never prints a claim its evidence does not support: the base image only
 * from signed records (an unsigned manifest annotation is UNKNOWN), and FedRAMP ready from SI-2
 * conditions the evidence shows, reachable both ways.
 */
describe("compliance status claims", () => {
  let home: string;
  let ctx: AppContext;
  let plain: BuildResult;
  let req: BuildResult;
  let onbase: BuildResult;

  const check = async (ref: string, id: ComplianceCheck["id"], c = ctx, now?: Date) =>
    (await complianceStatus(c, ref, now ? { now: () => now } : {})).checks.find(
      (k) => k.id === id,
    ) as ComplianceCheck;
  const approve = (...digests: string[]): void =>
    writeFileSync(join(home, "config.json"), JSON.stringify({ approvedBaseImages: digests }));
  const expectEvidenceStored = async (c: ComplianceCheck): Promise<void> => {
    expect(c.evidence.length, c.id).toBeGreaterThan(0);
    for (const d of c.evidence) {
      expect(await ctx.evidence().hasBlob(d as Digest), `${c.id} cites ${d}`).toBe(true);
    }
  };

  beforeAll(async () => {
    home = tempDir("cleanimg-negative-status-");
    ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    // nothing installed: every package (none) assessed, no findings
    plain = await offlineBuild(ctx, `image: plain:1.0.0\n${FILES}`);
    await scan(ctx, "plain:1.0.0");
    // a Python package with advisories: findings, each with a VEX status, none resolved
    req = await offlineBuild(
      ctx,
      "image: req:1.0.0\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
      REQUESTS_2_28_1,
    );
    await scan(ctx, "req:1.0.0");
    // built on plain:1.0.0: the build signs a base-image attestation naming it
    onbase = await offlineBuild(
      ctx,
      `image: onbase:1.0.0\nbase: plain:1.0.0@${plain.image.digest}\n${FILES}`,
    );
    // built on plain:1.0.0, with a manifest annotation that names another base
    await offlineBuild(
      ctx,
      `image: relabelled:1.0.0\nbase: plain:1.0.0@${plain.image.digest}\nannotations:\n  ${BASE_DIGEST}: "${req.image.digest}"\n${FILES}`,
    );
    // not built here: only its manifest's (unsigned) annotation names a base
    const dir = tempDir("cleanimg-negative-layout-");
    const built = await buildImageLayout({
      dir,
      tag: "1",
      layers: [
        {
          kind: "files",
          files: [{ name: "./hello.txt", type: "file", mode: 0o644, body: "hi\n" }],
        },
      ],
    });
    const manifest = JSON.parse(built.manifestBytes.toString());
    manifest.annotations = { [BASE_DIGEST]: plain.image.digest };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = writeBlob(dir, bytes);
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    index.manifests[0] = { ...index.manifests[0], digest, size: bytes.length };
    writeFileSync(join(dir, "index.json"), JSON.stringify(index));
    await copyImageBetween(ctx, `oci:${dir}:1`, "local:annotated:1.0.0");
  }, 300_000);

  describe("base image approved", () => {
    it("is UNKNOWN when only the manifest's unsigned annotation names an approved base", async () => {
      approve(plain.image.digest);
      const c = await check("annotated:1.0.0", "base-image");
      expect(c.result).toBe("UNKNOWN");
      expect(c.detail).toMatch(/unsigned annotation/);
      expect(c.detail).toContain(plain.image.digest);
      expect(c.evidence).toEqual([]);
      // the policy input does not call it approved either
      const { input } = await policyInput(ctx, "annotated:1.0.0");
      expect((input["image"] as Record<string, unknown>)["base"]).toMatchObject({
        approved: null,
        signed: false,
      });
    });

    it("goes by the signed base-image attestation, not by an annotation naming an approved base", async () => {
      approve(req.image.digest);
      const c = await check("relabelled:1.0.0", "base-image");
      expect(c.result).toBe("FAIL");
      expect(c.detail).toContain(plain.image.digest);
      expect(c.detail).toMatch(/signed base-image attestation, is not on the approved list/);
      await expectEvidenceStored(c);
    });

    it("passes with the signed base-image attestation's digest when it is approved", async () => {
      approve(plain.image.digest);
      const c = await check("onbase:1.0.0", "base-image");
      expect(c.result).toBe("PASS");
      expect(c.detail).toMatch(/named by the signed base-image attestation/);
      await expectEvidenceStored(c);
      rmSync(join(home, "config.json"));
      expect((await check("onbase:1.0.0", "base-image")).result).toBe("UNKNOWN");
    });

    // failed before: a provenance link that is not valid was cited as evidence when broken, and
    // when stale it was not compared with the base-image attestation, so a stale provenance
    // naming another base still let the attestation's base pass
    it("cites no broken provenance link, and checks a stale one against the attestation", async () => {
      const chain = await verifyChain(ctx, onbase.image.digest);
      const prov = chain.links.find((l) => l.stage === "provenance") as LinkReport;
      expect(prov.state).toBe("valid");
      const broken = await signedBaseImage(ctx, onbase.image.digest, {
        ...prov,
        state: "broken",
        reason: "the attestation's bytes were altered",
      });
      expect(broken).toMatchObject({ kind: "image", digest: plain.image.digest });
      expect("evidence" in broken ? broken.evidence : []).not.toContain(prov.attestation);
      const inputs = prov.predicate?.inputs ?? {};
      const stale = await signedBaseImage(ctx, onbase.image.digest, {
        ...prov,
        state: "stale",
        reason: "provenance is older than the newest source: re-run cleanimg-init --build",
        ...(prov.predicate
          ? {
              predicate: {
                ...prov.predicate,
                inputs: { ...inputs, base: `req:1.0.0@${req.image.digest}` },
              },
            }
          : {}),
      });
      expect(stale.kind).toBe("invalid");
      expect("reason" in stale ? stale.reason : "").toMatch(
        /the base-image attestation names plain:1.0.0@.*, the signed provenance req:1.0.0@/,
      );
    });
  });

  describe("FedRAMP ready (SI-2)", () => {
    it("passes for an image whose verified evidence meets every SI-2 condition", async () => {
      const c = await check("plain:1.0.0", "fedramp-ready");
      expect(c.result, c.detail).toBe("PASS");
      for (const cond of [
        "signed scan",
        "current snapshot",
        "every package assessed",
        "every finding has a VEX status",
        "remediation deadlines",
      ]) {
        expect(c.detail).toContain(`PASS ${cond}`);
      }
      await expectEvidenceStored(c);
    });

    it("fails for an image with unresolved findings past FedRAMP's remediation deadline", async () => {
      const later = await check(
        "req:1.0.0",
        "fedramp-ready",
        ctx,
        new Date(Date.now() + 200 * 86_400_000),
      );
      expect(later.result).toBe("FAIL");
      expect(later.detail).toMatch(/FAIL remediation deadlines: \d+ unresolved past the deadline/);
      // the same findings, still within their deadline today
      const now = await check("req:1.0.0", "fedramp-ready");
      expect(now.detail).toMatch(/PASS remediation deadlines: \d+ unresolved, none past/);
    });

    it("fails when the scan is not on the database's current snapshot", async () => {
      const copy = tempDir("cleanimg-negative-status-copy-");
      rmSync(copy, { recursive: true, force: true });
      cpSync(home, copy, { recursive: true });
      const other = createAppContext({ home: copy, env: {} });
      await importVulnData(other, [join(VULNDB, "alpine-secdb.jsonl.gz")]);
      const c = await check("plain:1.0.0", "fedramp-ready", other);
      expect(c.result).toBe("FAIL");
      expect(c.detail).toMatch(
        /FAIL current snapshot: scanned on sha256:\w+; the database now holds/,
      );
      await other.close();
    });
  });
});
