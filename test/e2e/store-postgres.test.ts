import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  createAppContext,
  verifyAuditTrail,
  verifyChain,
  verifyTransparencyLog,
} from "../../src/app/index.js";
import { describeEvidenceStoreContract, PostgresEvidenceStore } from "../../src/store/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { runCliAsync } from "../support/cli.js";
import { fetchDebs } from "../support/debs.js";
import { freshDatabase } from "../support/postgres.js";
import { tempDir } from "../support/tmp.js";

// The same contract as the embedded stores, on a real PostgreSQL server.
describeEvidenceStoreContract(
  "postgres",
  {
    create: async (now) => new PostgresEvidenceStore(await freshDatabase(), { now }),
    corrupt: async (s, d) => (s as PostgresEvidenceStore).corruptForTest(d),
  },
  { describe, it, expect },
);

describe("PostgreSQL store under many writers", () => {
  let url: string;
  let layouts: string[];
  beforeAll(async () => {
    url = await freshDatabase();
    const debs = fetchDebs(["base-files"]);
    layouts = [];
    for (let i = 0; i < 3; i++) {
      const dir = join(tempDir(), `img${i}`);
      await buildImageLayout({
        dir,
        tag: "x",
        layers: [
          { kind: "debs", debs },
          { kind: "files", files: [{ name: `file${i}`, type: "file", body: `image ${i}` }] },
        ],
      });
      layouts.push(dir);
    }
  }, 120_000);

  const cli = (home: string, args: string[]) => runCliAsync(home, args, url);

  it("keeps every chain, the audit trail and the transparency log intact with concurrent CLI writers", async () => {
    const home = tempDir("cleanimg-pg-home-");
    // one process first makes the keys (a store's signing identity is per home directory)
    expect((await cli(home, ["sbom", `oci:${layouts[0]}:x`, "-o", "/dev/null"])).code).toBe(0);
    const runs = await Promise.all(
      [0, 1, 2, 0, 1, 2].map((i) => cli(home, ["sbom", `oci:${layouts[i]}:x`, "-o", "/dev/null"])),
    );
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
    }
    const ctx = createAppContext({ home, env: { CLEANIMG_STORE: url } });
    const audit = await verifyAuditTrail(ctx);
    expect(audit.problems).toEqual([]);
    expect(audit.events).toBe(7);
    const log = await verifyTransparencyLog(ctx);
    expect(log.problems).toEqual([]);
    expect(log.size).toBe(7);
    const images = new Set(
      (await ctx.evidence().find({ kind: "attestation" })).map((l) => l.subject),
    );
    expect(images.size).toBe(3);
    for (const image of images) {
      const chain = await verifyChain(ctx, image);
      expect(chain.intact, JSON.stringify(chain.links)).toBe(true);
      expect(chain.links.find((l) => l.stage === "sbom")?.state).toBe("valid");
    }
    // no duplicate links: each (subject, evidence, kind) once
    const all = await ctx.evidence().find({});
    expect(new Set(all.map((l) => `${l.subject} ${l.evidence} ${l.kind}`)).size).toBe(all.length);
    await ctx.close();
  }, 180_000);
});
