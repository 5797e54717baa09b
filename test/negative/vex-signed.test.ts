import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  createAppContext,
  importVulnData,
  inspectImage,
  scan,
} from "../../src/app/index.js";
import { generateKeyPair } from "../../src/attest/index.js";
import type { Digest } from "../../src/core/digest.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { retargetedAdvisories } from "../support/retarget.js";
import { tempDir } from "../support/tmp.js";

/**
 * A person's VEX decision is applied only when its signature verifies against the people this
 * site trusts (key trust --person): a decision altered in the store, one signed by a key nobody
 * trusts, and an unsigned one are left out, and the scan names each and says why.
 */
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const VULN = "CVE-2005-2096"; // DSA-740-1 (zlib), re-targeted at Debian 12
const NOT_AFFECTED = [
  "--status",
  "not_affected",
  "--justification",
  "vulnerable_code_not_in_execute_path",
  "--impact",
  "the service never inflates untrusted input",
  "--component",
  "pkg:deb/debian/zlib1g",
];

describe("signed VEX decisions", () => {
  const home = tempDir("cleanimg-vex-signed-");
  const keys = tempDir("cleanimg-vex-keys-");
  let ctx: AppContext;
  const images: Record<string, string> = {};
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"] ?? "", CLEANIMG_HOME: home, CLEANIMG_AUTHOR: "alice" },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const zlibOf = async (ref: string) => {
    const r = await scan(ctx, ref, { created: new Date(0) });
    return {
      statement: r.vex.find((v) => v.vulnerability === "DSA-740-1" || v.aliases.includes(VULN)),
      notApplied: r.issues.filter((i) => i.code === "VEX_DECISION_NOT_APPLIED"),
    };
  };
  const add = (image: string, key: string) => {
    const r = cli([
      "vex",
      "add",
      "--image",
      image,
      "--vuln",
      VULN,
      ...NOT_AFFECTED,
      "--key",
      key,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as {
      image: Digest;
      signer: string;
      evidence: { evidence: Digest };
    };
  };

  beforeAll(async () => {
    ctx = createAppContext({ home, env: {} });
    await importVulnData(ctx, [retargetedAdvisories()]);
    const debs = fetchDebs(["base-files", "zlib1g"]);
    for (const tag of ["signed", "untrusted", "tampered", "legacy"]) {
      const dir = join(tempDir(), tag);
      await buildImageLayout({
        dir,
        tag,
        layers: [
          { kind: "debs", debs },
          { kind: "files", files: [{ name: `app/${tag}`, type: "file", body: tag }] },
        ],
      });
      images[tag] = `oci:${dir}:${tag}`;
    }
    for (const who of ["alice", "mallory"]) {
      const k = generateKeyPair("ecdsa-p256");
      writeFileSync(join(keys, `${who}.key`), k.privatePem);
      writeFileSync(join(keys, `${who}.pub`), k.publicPem);
    }
    const trusted = cli(["key", "trust", "--person", join(keys, "alice.pub")]);
    expect(trusted.code, trusted.stderr).toBe(0);
  }, 300_000);

  it("refuses an unsigned vex add (exit 2)", () => {
    const r = cli([
      "vex",
      "add",
      "--image",
      images["signed"] as string,
      "--vuln",
      VULN,
      ...NOT_AFFECTED,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/signed by the person who makes it: give --key FILE/);
  });

  it("applies a decision signed by a trusted person, naming the signer", async () => {
    const before = await zlibOf(images["signed"] as string);
    expect(before.statement?.status).toBe("affected");
    const r = add(images["signed"] as string, join(keys, "alice.key"));
    expect(r.signer).toMatch(/^[0-9a-f]{64}$/);
    const after = await zlibOf(images["signed"] as string);
    expect(after.notApplied).toEqual([]);
    expect(after.statement).toMatchObject({ status: "not_affected", author: "alice" });
    expect(after.statement?.origin?.document).toContain(r.evidence.evidence);
    expect(after.statement?.origin?.document).toContain(r.signer);
  });

  it("does not apply a decision signed by a key this site does not trust", async () => {
    const r = add(images["untrusted"] as string, join(keys, "mallory.key"));
    const after = await zlibOf(images["untrusted"] as string);
    expect(after.statement?.status).toBe("affected");
    expect(after.notApplied).toHaveLength(1);
    expect(after.notApplied[0]?.message).toMatch(
      new RegExp(
        `VEX decision ${r.evidence.evidence} .* not applied: signed by key ${r.signer}, which is not trusted`,
      ),
    );
  });

  it("does not apply a decision altered in the store, and the scan says so (table and JSON)", async () => {
    const image = images["tampered"] as string;
    // alice only started investigating; someone with access to the store makes it not_affected
    const r = cli([
      "vex",
      "add",
      "--image",
      image,
      "--vuln",
      VULN,
      "--status",
      "under_investigation",
      "--component",
      "pkg:deb/debian/zlib1g",
      "--key",
      join(keys, "alice.key"),
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const recorded = JSON.parse(r.stdout) as {
      evidence: { evidence: Digest; annotations: Record<string, string> };
    };
    const path = join(home, "evidence", "blobs", "sha256", recorded.evidence.evidence.slice(7));
    const bundle = JSON.parse(readFileSync(path, "utf8"));
    const stmt = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8"));
    stmt.predicate.statements[0].status = "not_affected";
    stmt.predicate.statements[0].justification = "vulnerable_code_not_present";
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString("base64");
    const altered = JSON.stringify(bundle);
    // the altered decision stored as such and linked to the image, and the original file rewritten
    const store = ctx.evidence();
    const digest = (await inspectImage(ctx, image, { record: false })).manifest.digest;
    const relinked = await store.putBlob(new TextEncoder().encode(altered), bundle.mediaType);
    await store.link(digest, relinked, "vex-decision", recorded.evidence.annotations);
    writeFileSync(path, altered);

    const after = await zlibOf(image);
    expect(after.statement?.status).toBe("affected");
    expect(after.notApplied.map((i) => i.message)).toEqual([
      expect.stringMatching(
        new RegExp(`VEX decision ${recorded.evidence.evidence} .* not applied: .*altered`),
      ),
      expect.stringMatching(
        new RegExp(`VEX decision ${relinked} .* not applied: its signature does not verify`),
      ),
    ]);
    const table = cli(["scan", image]);
    expect(table.stderr).toMatch(
      new RegExp(
        `issue: VEX_DECISION_NOT_APPLIED: VEX decision ${relinked} \\(recorded as ${VULN} under_investigation by alice\\) not applied: its signature does not verify`,
      ),
    );
    const json = JSON.parse(cli(["scan", image, "--json"]).stdout);
    expect(
      json.issues.filter((i: { code: string }) => i.code === "VEX_DECISION_NOT_APPLIED"),
    ).toHaveLength(2);
  });

  it("does not apply an unsigned decision recorded before decisions were signed", async () => {
    const image = images["legacy"] as string;
    const digest = (await inspectImage(ctx, image, { record: false })).manifest.digest;
    const doc = {
      "@context": "https://openvex.dev/ns/v0.2.0",
      "@id": "urn:cleanimg:vex:legacy",
      author: "alice",
      timestamp: "2024-01-01T00:00:00Z",
      version: 1,
      statements: [
        {
          vulnerability: { name: VULN },
          timestamp: "2024-01-01T00:00:00Z",
          products: [
            {
              "@id": `pkg:oci/legacy@${encodeURIComponent(digest)}`,
              subcomponents: [{ "@id": "pkg:deb/debian/zlib1g" }],
            },
          ],
          status: "not_affected",
          justification: "vulnerable_code_not_present",
        },
      ],
    };
    const store = ctx.evidence();
    const blob = await store.putBlob(
      new TextEncoder().encode(JSON.stringify(doc)),
      "application/vnd.openvex+json",
    );
    await store.link(digest, blob, "vex-decision", {
      vulnerability: VULN,
      status: "not_affected",
      author: "alice",
    });
    const after = await zlibOf(image);
    expect(after.statement?.status).toBe("affected");
    expect(after.notApplied.map((i) => i.message)).toEqual([
      expect.stringMatching(new RegExp(`VEX decision ${blob} .* not applied: it is not signed`)),
    ]);
  });
});
