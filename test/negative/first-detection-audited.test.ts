import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { gatherEvidence } from "../../src/app/evidence-bundle.js";
import { type AppContext, createAppContext, importVulnData, scan } from "../../src/app/index.js";
import { BUNDLE_MEDIA_TYPE, CHAIN_LINK_PREDICATE, statement } from "../../src/attest/index.js";
import {
  ATTESTATION_KIND,
  type ChainLinkPredicate,
  latestLink,
  linkAnnotations,
  type RecordedLink,
  signStatement,
} from "../../src/chain/index.js";
import { type Digest, sha256 } from "../../src/core/digest.js";
import { tempDir } from "../support/tmp.js";
import { offlineBuild, REQUESTS_2_28_1 } from "./offline-build.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const BACKDATED = "2020-01-01T00:00:00.000Z";

/**
 * Wrong claim corrected: a finding's first detection (which starts FedRAMP's remediation clock
 * and dates the POA&M) was read from any scan link signed by a trusted key, without the checks
 * the chain makes of its links. A link signed with the store's key but never recorded in the
 * audit log, backdated, made every finding it lists look detected years earlier. First
 * detections now come only from scan links that verify as the chain's do and that the audit log
 * recorded.
 */
describe("first detections come from audited, verified scan links only", () => {
  let ctx: AppContext;
  let image: Digest;
  let real: RecordedLink;

  beforeAll(async () => {
    ctx = createAppContext({
      home: tempDir("cleanimg-neg-first-"),
      env: { SOURCE_DATE_EPOCH: "1700000000" },
    });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    const built = await offlineBuild(
      ctx,
      "image: req:1.0.0\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
      REQUESTS_2_28_1,
    );
    image = built.image.digest;
    await scan(ctx, "req:1.0.0");
    real = (await latestLink(ctx, image, "scan")) as RecordedLink;
  }, 300_000);

  it("the real scan dates its findings", async () => {
    const b = await gatherEvidence(ctx, "req:1.0.0", { remediation: true });
    const dates = [...(b.remediation?.firstDetected.values() ?? [])];
    expect(dates.length).toBeGreaterThan(0);
    expect(new Set(dates)).toEqual(new Set([real.created]));
  });

  it("a backdated scan link signed with the store's key but never audited dates nothing", async () => {
    // the same scan document, in a link signed by the trusted key and logged, but put in the
    // index directly: no audit event records it
    const predicate: ChainLinkPredicate = {
      stage: "scan",
      created: BACKDATED,
      tool: "cleanimg",
      evidence: { digest: real.evidence, mediaType: "application/json" },
      previous: [],
      inputs: {},
    };
    const signed = await signStatement(
      ctx,
      statement([{ name: "req:1.0.0", digest: image }], CHAIN_LINK_PREDICATE, predicate),
    );
    const envelope = sha256(new TextEncoder().encode(JSON.stringify(signed.bundle.dsseEnvelope)));
    const attestation = await ctx.evidence().putBlob(signed.bytes, BUNDLE_MEDIA_TYPE);
    await ctx.evidence().link(
      image,
      attestation,
      ATTESTATION_KIND,
      linkAnnotations({
        stage: "scan",
        envelope,
        evidence: real.evidence,
        created: BACKDATED,
        image: "req:1.0.0",
        inputs: {},
        previous: [],
      }),
    );
    const b = await gatherEvidence(ctx, "req:1.0.0", { remediation: true });
    const dates = [...(b.remediation?.firstDetected.values() ?? [])];
    expect(dates.length).toBeGreaterThan(0);
    expect(dates).not.toContain(BACKDATED);
    expect(new Set(dates)).toEqual(new Set([real.created]));
  });
});
