import type { Command } from "commander";
import type { EvidenceExport, ImportResult, StandardStage } from "../../app/index.js";
import { STANDARD_STAGES } from "../../app/names.js";
import { isDigest as isDigestString, parseDigest } from "../../core/digest.js";
import { isToolError, UsageError } from "../../core/errors.js";
import { readInput } from "../../core/input.js";
import { parseJson } from "../../core/json.js";
import { app } from "./app.js";
import { outputFile, timeRange } from "./common.js";
import type { CliDeps } from "./deps.js";

/** Registers the evidence commands. */
export function registerEvidence(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
  // --- evidence ----------------------------------------------------------------------------------
  // --- attestation ------------------------------------------------------------------------------
  const attestation = program
    .command("attestation")
    .description("standard attestations derived from the evidence chain");
  attestation
    .command("export")
    .description(
      "sign the whole evidence document of a verified chain link as a standard in-toto attestation (SPDX/CycloneDX SBOM, in-toto vulns, OpenVEX; SLSA provenance as built)",
    )
    .argument("<image>", "image reference or manifest digest")
    .requiredOption("--stage <stage>", `one of ${STANDARD_STAGES.join(", ")}`)
    .requiredOption("-o, --output <file>", "where to write the Sigstore bundle", outputFile)
    .action(async (ref: string, o: { stage: string; output: string }, cmd: Command) => {
      if (!(STANDARD_STAGES as readonly string[]).includes(o.stage)) {
        throw new UsageError("CLI_USAGE", `no standard attestation for stage "${o.stage}"`, {
          hint: `--stage ${STANDARD_STAGES.join("|")} (policy and deployment links are the attestations)`,
        });
      }
      const a = await app().deriveStandardAttestation(context(cmd), ref, o.stage as StandardStage);
      await app().writeFileAtomic(o.output, new TextDecoder().decode(a.bytes));
      out.result(
        {
          stage: a.stage,
          predicateType: a.predicateType,
          attestation: a.digest,
          derivedFrom: a.derivedFrom,
          output: o.output,
        },
        () => `wrote ${o.output}: ${a.predicateType} (${a.digest}, from link ${a.derivedFrom})`,
      );
    });
  const { evidence, reportImport } = registerEvidenceStore(program, deps);
  registerEvidenceImport(deps, evidence, reportImport);
}

function registerEvidenceStore(
  program: Command,
  deps: CliDeps,
): { evidence: Command; reportImport: (r: ImportResult) => void } {
  const { out, context } = deps;
  const evidence = program.command("evidence").description("query the evidence store");
  /** What an import kept and what it rejected; exit 1 when something was rejected. */
  const reportImport = (r: ImportResult): void => {
    out.result(r, () =>
      [
        `imported ${r.imported} verified evidence artifacts for ${r.image}`,
        ...r.rejected.map((x) => `  rejected ${x.digest}: ${x.reason}`),
      ].join("\n"),
    );
    if (r.rejected.length > 0) {
      deps.fail();
    }
  };
  evidence
    .command("push")
    .description(
      "push an image's signed evidence to its registry as OCI 1.1 referrers (tag fallback too)",
    )
    .argument("<image>", "registry reference: docker://HOST/REPO:TAG or HOST/REPO@DIGEST")
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const r = await app().pushEvidence(context(cmd), ref);
      out.result(
        r,
        () =>
          `pushed ${r.pushed} signed evidence artifacts for ${r.image} (via ${[...new Set(r.via)].join(", ")})`,
      );
    });
  evidence
    .command("pull")
    .description(
      "pull an image's evidence from its registry, verifying each piece before keeping it",
    )
    .argument("<image>", "registry reference: docker://HOST/REPO:TAG or HOST/REPO@DIGEST")
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      reportImport(await app().pullEvidence(context(cmd), ref));
    });
  evidence
    .command("export")
    .description(
      "write an image's current signed evidence to one JSON file (for `evidence import`, an air-gapped transfer, or POST /v1/images/{digest}/evidence)",
    )
    .argument("<image>", "image location, or a manifest digest (sha256:…) with evidence here")
    .requiredOption("-o, --output <file>", "the file to write", outputFile)
    .action(async (ref: string, o: { output: string }, cmd: Command) => {
      const c = context(cmd);
      const subject = await app().resolveSubject(c, ref);
      const e = await app().exportEvidence(c, { name: ref, digest: subject.digest });
      if (e.items.length === 0) {
        throw new UsageError("CLI_USAGE", `no signed evidence of ${subject.digest} in this store`, {
          hint: "build, sbom or scan the image first",
        });
      }
      await app().writeFileAtomic(
        o.output,
        new TextEncoder().encode(`${JSON.stringify(e, null, 2)}\n`),
      );
      out.result(
        { image: e.image, items: e.items.length, output: o.output },
        () => `wrote ${e.items.length} signed evidence items of ${subject.digest} to ${o.output}`,
      );
    });
  return { evidence, reportImport };
}

function registerEvidenceImport(
  deps: CliDeps,
  evidence: Command,
  reportImport: (r: ImportResult) => void,
): void {
  const { out, context } = deps;
  evidence
    .command("import")
    .description(
      "import evidence written by `evidence export`, verifying each piece before keeping it",
    )
    .argument("<files...>", "exported JSON files")
    .action(async (files: string[], _o: unknown, cmd: Command) => {
      for (const file of files) {
        await importOne(file, cmd);
      }
    });
  const importOne = async (file: string, cmd: Command): Promise<void> => {
    const raw = (await readInput(file, "the evidence export")).toString("utf8");
    let e: EvidenceExport;
    try {
      e = parseJson(raw, file) as EvidenceExport;
      if (!isDigestString(e.image?.digest) || !Array.isArray(e.items)) {
        throw new Error("it has no image.digest or no items");
      }
    } catch (err) {
      if (isToolError(err)) {
        throw err; // too deep: hostile input, named
      }
      throw new UsageError(
        "CLI_USAGE",
        `${file} is not an evidence export: ${(err as Error).message}`,
        {
          hint: "write one with cleanimg-init evidence export IMAGE -o FILE",
        },
      );
    }
    const r = await app().importEvidence(
      context(cmd),
      { digest: e.image.digest, name: e.image.name ?? e.image.digest },
      app().itemsOf(e),
      { source: file },
    );
    reportImport(r);
  };
  evidence
    .command("ls")
    .description("list evidence links, optionally for one subject digest, kind or time range")
    .option("--subject <digest>", "subject digest (e.g. an image manifest digest)")
    .option("--kind <kind>", "evidence kind")
    .option("--from <date>", "recorded at or after (ISO 8601)")
    .option("--to <date>", "recorded before (ISO 8601)")
    .action(
      async (o: { subject?: string; kind?: string; from?: string; to?: string }, cmd: Command) => {
        const { from, to } = timeRange(o, false);
        const r = await app().listEvidence(context(cmd), {
          ...(o.subject ? { subject: parseDigest(o.subject) } : {}),
          ...(o.kind ? { kind: o.kind } : {}),
          ...(from ? { since: from } : {}),
          ...(to ? { until: to } : {}),
        });
        out.result(r, () =>
          r.length === 0
            ? "no evidence"
            : r
                .map(
                  (l) =>
                    `${l.createdAt}  ${l.kind.padEnd(16)} ${l.subject}  ${l.evidence}  ${l.size}`,
                )
                .join("\n"),
        );
      },
    );
}
