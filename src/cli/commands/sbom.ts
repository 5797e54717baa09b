import type { Command } from "commander";
import { app } from "./app.js";
import { isoDate, outputFile } from "./common.js";
import type { CliDeps } from "./deps.js";

/** Registers the sbom commands. */
export function registerSbom(program: Command, deps: CliDeps): void {
  const { out, context, platformOption, env, platformOf } = deps;
  // --- sbom ------------------------------------------------------------------------------------
  program
    .command("sbom")
    .description(
      "catalog an image or directory (dir:PATH) and write its SBOM (recorded as evidence for images)",
    )
    .argument("<image>", "image location, or dir:PATH")
    .option(
      "--format <format>",
      "spdx-3 | spdx-2.3 | cyclonedx-1.7 | cyclonedx-1.6 | cyclonedx-1.5 (Syft's cyclonedx-json@1.7 and spdx-json also)",
      "spdx-3",
    )
    .option("-o, --output <file>", "write the SBOM to a file instead of stdout", outputFile)
    .addOption(platformOption)
    .option("--created <date>", "creation time (default SOURCE_DATE_EPOCH, else now)")
    .option("--no-evidence", "do not record the SBOM in the evidence store")
    .action(
      async (
        ref: string,
        o: {
          format: string;
          output?: string;
          platform?: string;
          created?: string;
          evidence: boolean;
        },
        cmd: Command,
      ) => {
        const epoch = env["SOURCE_DATE_EPOCH"];
        const created = o.created
          ? new Date(isoDate(o.created, "--created"))
          : epoch && /^\d+$/.test(epoch)
            ? new Date(Number(epoch) * 1000)
            : undefined;
        const r = await app().generateSbom(context(cmd), ref, {
          format: app().parseSbomFormat(o.format),
          ...platformOf(o),
          ...(created ? { created } : {}),
          record: o.evidence,
        });
        out.issues(r.sbom.issues);
        if (o.output) {
          await app().writeFileAtomic(o.output, r.document);
          out.result(
            {
              output: o.output,
              format: r.format,
              packages: r.sbom.packages.length,
              quality: r.quality,
              ...(r.evidence ? { evidence: r.evidence } : {}),
            },
            () =>
              `wrote ${r.format} SBOM with ${r.sbom.packages.length} packages to ${o.output}${r.quality.length ? ` (${r.quality.length} NTIA minimum-element gaps: see --json)` : ""}`,
          );
        } else if (out.json) {
          process.stdout.write(r.document);
        } else {
          process.stdout.write(r.document);
          if (r.quality.length) {
            out.info(
              `${r.quality.length} NTIA minimum-element gaps (e.g. ${r.quality[0]?.message})`,
            );
          }
        }
      },
    );
}
