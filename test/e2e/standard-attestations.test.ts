import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  addVexDecision,
  auditEvents,
  buildImage,
  createAppContext,
  deriveStandardAttestation,
  exportEvidence,
  importEvidence,
  importVulnData,
  itemsOf,
  OPENVEX_PREDICATE,
  STANDARD_ATTESTATION_KIND,
  scan,
  trustedKeys,
  trustedLogs,
  trustPersonKey,
  VULNS_PREDICATE,
  verifyChain,
} from "../../src/app/index.js";
import { generateKeyPair, verifyEvidenceBundle } from "../../src/attest/index.js";
import type { Digest } from "../../src/core/digest.js";
import { runCliAsync } from "../support/cli.js";
import { openVexValidator, spdx3Validator } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const BUILD_CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");

/**
 * cosign- and in-toto-shaped attestations derived from a real chain (built from Debian packages,
 * a pip-installed library with known vulnerabilities, a VEX decision): each carries the whole
 * evidence document of a verified link, is signed and logged, and the chain stays intact.
 */
describe("standard attestations from the evidence chain", () => {
  let home: string;
  let ctx: AppContext;
  let image: string;
  const ref = "attest:1.0.0";

  beforeAll(async () => {
    home = tempDir("cleanimg-std-");
    const context = tempDir("cleanimg-std-ctx-");
    const info = join(context, "site", "requests-2.28.1.dist-info");
    mkdirSync(info, { recursive: true });
    writeFileSync(
      join(info, "METADATA"),
      "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n",
    );
    writeFileSync(
      join(context, "cleanimg.yaml"),
      `image: ${ref}\npackages: [base-files]\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n`,
    );
    ctx = createAppContext({
      home,
      env: {
        CLEANIMG_CACHE: BUILD_CACHE,
        SOURCE_DATE_EPOCH: "1700000000",
        CLEANIMG_AUTHOR: "sec@example.com",
      },
    });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    image = (await buildImage(ctx, { spec: join(context, "cleanimg.yaml") })).image.digest;
    const first = await scan(ctx, ref, { created: new Date(0) });
    const finding = first.findings.find((f) => f.package.name === "requests");
    expect(finding).toBeDefined();
    // the decision is signed by the person who made it, whom this site trusts
    const person = generateKeyPair("ecdsa-p256");
    writeFileSync(join(context, "sec.pub"), person.publicPem);
    await trustPersonKey(ctx, join(context, "sec.pub"));
    await addVexDecision(
      ctx,
      ref,
      {
        vulnerability: finding?.id as string,
        status: "affected",
        action: "update requests to 2.31.0",
        author: "sec@example.com",
        component: finding?.package.purl as string,
      },
      { key: { pem: person.privatePem } },
    );
    await scan(ctx, ref, { created: new Date(0) });
  }, 300_000);

  const verified = async (bytes: Uint8Array) =>
    verifyEvidenceBundle(bytes, await trustedKeys(ctx), await trustedLogs(ctx));

  it("SBOM: the whole SPDX 3.0.1 document as the predicate, valid against the official schema", async () => {
    const a = await deriveStandardAttestation(ctx, ref, "sbom");
    const v = await verified(a.bytes);
    expect(v.statement.predicateType).toBe(a.predicateType);
    expect(v.statement.subject[0]?.digest["sha256"]).toBe(image.slice(7));
    const chain = await verifyChain(ctx, image as Digest);
    const link = chain.links.find((l) => l.stage === "sbom");
    expect(a.derivedFrom).toBe(link?.envelope);
    const stored = JSON.parse(
      new TextDecoder().decode(
        (await ctx.evidence().getBlob(link?.predicate?.evidence.digest as Digest)).bytes,
      ),
    );
    expect(v.statement.predicate).toEqual(stored);
    expect(spdx3Validator()(v.statement.predicate)).toEqual([]);
  });

  it("scan: the in-toto vulnerability predicate with the database snapshot and every finding", async () => {
    const a = await deriveStandardAttestation(ctx, ref, "scan");
    const v = await verified(a.bytes);
    expect(v.statement.predicateType).toBe(VULNS_PREDICATE);
    const p = v.statement.predicate as {
      scanner: {
        db: { version: string };
        result: { id: string; severity: { method: string; score: string }[] }[];
      };
    };
    expect(p.scanner.db.version).toMatch(/^sha256:/);
    expect(p.scanner.result.length).toBeGreaterThan(0);
    const findings = (await scan(ctx, ref, { created: new Date(0), record: false })).findings;
    expect(new Set(p.scanner.result.map((r) => r.id))).toEqual(new Set(findings.map((f) => f.id)));
    const requests = p.scanner.result.find((r) => r.id === "PYSEC-2023-74") as unknown as {
      annotations: { installed: string; fixedIn?: string }[];
    };
    // the fixed version of the PyPI range, not the commit of the record's GIT range
    expect(requests.annotations[0]).toMatchObject({ installed: "2.28.1", fixedIn: "2.31.0" });
  });

  it("VEX: an OpenVEX document valid against its schema, with the decision made", async () => {
    const a = await deriveStandardAttestation(ctx, ref, "vex");
    const v = await verified(a.bytes);
    expect(v.statement.predicateType).toBe(OPENVEX_PREDICATE);
    expect(openVexValidator()(v.statement.predicate)).toEqual([]);
    const statements = (
      v.statement.predicate as { statements: { status: string; action_statement?: string }[] }
    ).statements;
    expect(statements.some((s) => s.status === "affected")).toBe(true);
    // the person's signed decision, applied
    expect(statements.some((s) => s.action_statement === "update requests to 2.31.0")).toBe(true);
  });

  it("provenance: the SLSA provenance the build signed, as it is", async () => {
    const a = await deriveStandardAttestation(ctx, ref, "provenance");
    const v = await verified(a.bytes);
    expect(v.statement.predicateType).toBe("https://slsa.dev/provenance/v1");
  });

  it("is logged and audited, leaves the chain intact, and runs from the command line", async () => {
    const before = (await auditEvents(ctx)).length;
    const a = await deriveStandardAttestation(ctx, ref, "sbom");
    const events = await auditEvents(ctx);
    expect(events.length).toBe(before + 1);
    expect(events.at(-1)).toMatchObject({
      action: "attest",
      evidence: { attestation: a.digest, derivedFrom: a.derivedFrom },
    });
    expect((await verifyChain(ctx, image as Digest)).intact).toBe(true);
    await ctx.close();
    const out = join(tempDir(), "sbom.intoto.sigstore.json");
    const r = await runCliAsync(home, [
      "attestation",
      "export",
      image,
      "--stage",
      "vex",
      "-o",
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8")).mediaType).toBe(
      "application/vnd.dev.sigstore.bundle.v0.3+json",
    );
    const bad = await runCliAsync(home, [
      "attestation",
      "export",
      image,
      "--stage",
      "policy",
      "-o",
      out,
    ]);
    expect(bad.code).toBe(2);
    ctx = createAppContext({ home, env: {} });
  });

  it("travels with the image's evidence: exported, then imported by a store that trusts the signer", async () => {
    await deriveStandardAttestation(ctx, ref, "vex");
    const exported = await exportEvidence(ctx, { name: ref, digest: image as Digest });
    const standard = exported.items.filter((i) => i.kind === STANDARD_ATTESTATION_KIND);
    expect(standard.length).toBeGreaterThanOrEqual(3); // sbom, scan, vex
    const home2 = tempDir("cleanimg-std-b-");
    mkdirSync(join(home2, "keys", "trusted"), { recursive: true });
    mkdirSync(join(home2, "keys", "trusted-logs"), { recursive: true });
    copyFileSync(join(home, "keys", "signing.pub"), join(home2, "keys", "trusted", "a.pub"));
    copyFileSync(join(home, "keys", "log.pub"), join(home2, "keys", "trusted-logs", "a.pub"));
    const other = createAppContext({ home: home2, env: {} });
    const r = await importEvidence(
      other,
      { name: ref, digest: image as Digest },
      itemsOf(exported),
      {
        source: "test",
      },
    );
    expect(r.rejected).toEqual([]);
    const kept = await other
      .evidence()
      .find({ subject: image as Digest, kind: STANDARD_ATTESTATION_KIND });
    expect(new Set(kept.map((l) => l.annotations["stage"]))).toEqual(
      new Set(["sbom", "scan", "vex"]),
    );
    expect((await verifyChain(other, image as Digest)).intact).toBe(true);
    await other.close();
  });

  it("refuses a link that does not verify", async () => {
    const other = createAppContext({ home: tempDir(), env: {} });
    await expect(deriveStandardAttestation(other, image, "sbom")).rejects.toThrow(
      /sbom link .* is not-recorded/,
    );
    await other.close();
  });
});
