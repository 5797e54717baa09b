import {
  type AppContext,
  type RecordedLink,
  recordChainLink,
  type Stage,
} from "../../src/app/index.js";
import { type Digest, sha256 } from "../../src/core/digest.js";

export const imageOf = (i: number) => ({
  name: `registry.example/team${i % 40}/app${i}:1.${i % 9}.${i % 13}`,
  digest: sha256(`bench image ${i}`),
});

/** Records the full six-link chains of n generated images through the real code path. */
export async function generateChains(ctx: AppContext, N: number): Promise<void> {
  const store = ctx.evidence();
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const image = imageOf(i);
    const doc = async (o: unknown, mt = "application/json") => store.putBlob(enc(o), mt);
    const link = (stage: Stage, evidence: Digest, previous: RecordedLink[], inputs = {}) =>
      recordChainLink(ctx, {
        image,
        stage,
        evidence: { digest: evidence, mediaType: "application/json" },
        previous,
        inputs,
        tool: "bench",
      });
    const prov = await link("provenance", await doc({ slsa: image.digest }), [], {
      slsaBuildLevel: "1",
    });
    const sbom = await link(
      "sbom",
      await doc({ spdxVersion: "3.0.1", image: image.digest }),
      [prov],
      { format: "spdx-3" },
    );
    const scan = await link("scan", await doc({ image: image.digest, findings: [] }), [sbom], {
      dbSnapshot: sha256("db"),
    });
    const vex = await link("vex", await doc({ scan: scan.envelope, statements: [] }), [scan]);
    const pol = await link("policy", await doc({ decision: "allow" }), [prov, sbom, scan, vex], {
      decision: "allow",
    });
    await link("deployment", await doc({ environment: "prod" }), [pol], { environment: "prod" });
    if ((i + 1) % 1000 === 0) {
      process.stderr.write(
        `  generated ${i + 1}/${N} (${((performance.now() - t0) / (i + 1)).toFixed(1)} ms/image)\n`,
      );
    }
  }
}

/** Records one link about `image` over an empty JSON document (for signing-path tests). */
export async function recordBareLink(
  ctx: AppContext,
  image: { name: string; digest: Digest },
  stage: Stage = "sbom",
): Promise<RecordedLink> {
  const digest = await ctx.evidence().putBlob(new TextEncoder().encode("{}"), "application/json");
  return recordChainLink(ctx, {
    image,
    stage,
    evidence: { digest, mediaType: "application/json" },
    previous: [],
    inputs: {},
    tool: "test",
  });
}
