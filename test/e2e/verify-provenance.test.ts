import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyProvenanceFile } from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";

/**
 * verify-provenance on slsa-verifier's own fixtures (GitHub artifact attestations for Bazel
 * Central Registry modules: Sigstore bundle v0.3 with SLSA v1 provenance), with the verdicts
 * its regression tests record (../shared/corpus/attestations/MANIFEST.md).
 */
const ATT = resolve(import.meta.dirname, "../../../shared/corpus/attestations");
const BCR = join(ATT, "slsa-verifier", "bcr");
const ROOT = join(ATT, "sigstore-trust", "trusted_root.public-good.json");
const SOURCE = "github.com/aspect-build/rules_lint";
const BUILDER = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml";

describe("verify-provenance (slsa-verifier fixtures)", () => {
  it("passes MODULE.bazel with its source and builder", async () => {
    const r = await verifyProvenanceFile(
      join(BCR, "MODULE.bazel"),
      join(BCR, "MODULE.bazel.intoto.jsonl"),
      {
        sourceUri: SOURCE,
        builderId: BUILDER,
        trustedRoot: ROOT,
      },
    );
    expect(r).toEqual({
      artifact: "sha256:06ce330900a7d6403bc8d88e5dfad6aeeb8ae40179f66bb89e69c8bf6f6b1a0b",
      builder: BUILDER,
      source: "https://github.com/aspect-build/rules_lint",
      predicateType: "https://slsa.dev/provenance/v1",
    });
  });

  it("fails without a trusted builder (slsa-verifier: ErrorUntrustedReusableWorkflow)", async () => {
    await expect(
      verifyProvenanceFile(join(BCR, "MODULE.bazel"), join(BCR, "MODULE.bazel.intoto.jsonl"), {
        sourceUri: SOURCE,
        trustedRoot: ROOT,
      }),
    ).rejects.toThrow(/untrusted builder/);
  });

  it("fails an attestation signed by another workflow", async () => {
    await expect(
      verifyProvenanceFile(
        join(BCR, "MODULE-wrong-signer.bazel"),
        join(BCR, "MODULE-wrong-signer.bazel.intoto.jsonl"),
        {
          sourceUri: SOURCE,
          builderId: BUILDER,
          trustedRoot: ROOT,
        },
      ),
    ).rejects.toThrow(/not the expected builder/);
  });

  it("fails another source, and an altered artifact", async () => {
    await expect(
      verifyProvenanceFile(join(BCR, "MODULE.bazel"), join(BCR, "MODULE.bazel.intoto.jsonl"), {
        sourceUri: "github.com/someone/else",
        builderId: BUILDER,
        trustedRoot: ROOT,
      }),
    ).rejects.toThrow(
      /names source https:\/\/github.com\/aspect-build\/rules_lint, not github.com\/someone\/else/,
    );
    const altered = join(tempDir(), "MODULE.bazel");
    writeFileSync(altered, 'module(name = "rules_lint")\n');
    await expect(
      verifyProvenanceFile(altered, join(BCR, "MODULE.bazel.intoto.jsonl"), {
        sourceUri: SOURCE,
        builderId: BUILDER,
        trustedRoot: ROOT,
      }),
    ).rejects.toThrow(/no provenance .* verifies/);
  });
});
