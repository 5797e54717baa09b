import type { Command } from "commander";
import { REPORT_FORMATS, REPORT_FRAMEWORKS, TOOL } from "../../app/names.js";
import { UsageError } from "../../core/errors.js";
import { app } from "./app.js";
import { outputFile } from "./common.js";
import type { CliDeps } from "./deps.js";

/** Registers the report commands. */
export function registerReport(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
  // --- compliance reports ------------------------------------------------------------------------
  program
    .command("report")
    .description(
      "compliance report of an image for a framework (--compliance fedramp --image REF --output FILE)",
    )
    .argument(
      "<framework>",
      `framework: ${REPORT_FRAMEWORKS.join(", ")} (fedramp = fedramp-high), or an imported catalog`,
    )
    .option("--image <ref>", "image to report on")
    .option(
      "-o, --output <file>",
      "write the report to a file (default: standard output)",
      outputFile,
    )
    .option("--format <format>", REPORT_FORMATS.join(" | "), "json")
    .action(
      async (
        framework: string,
        o: { image?: string; output?: string; format: string },
        cmd: Command,
      ) => {
        if (!o.image) {
          throw new UsageError("CLI_USAGE", "which image? give --image REF");
        }
        const renderers = app().REPORT_RENDERERS;
        const render = Object.hasOwn(renderers, o.format)
          ? renderers[o.format as keyof typeof renderers]
          : undefined;
        if (!render) {
          throw new UsageError("CLI_USAGE", `unknown report format "${o.format}"`, {
            hint: `${REPORT_FORMATS.slice(0, -1).join(", ")} or ${REPORT_FORMATS.at(-1)}`,
          });
        }
        const { report } = await app().complianceReport(context(cmd), o.image, framework);
        const text = render(report, `${TOOL.name} ${TOOL.version}`);
        if (o.output) {
          await app().writeFileAtomic(o.output, text);
          out.info(`${report.summary.text}\nwrote ${o.format} to ${o.output}`);
        } else {
          process.stdout.write(text);
        }
      },
    );

  const catalogCmd = program.command("catalog").description("control catalogs for reports");
  catalogCmd
    .command("import")
    .description("import an OSCAL catalog or profile (JSON) to report against it by name")
    .argument("<file>", "OSCAL catalog or profile, JSON")
    .option("--name <name>", "the name reports use (default: from the file name)")
    .action(async (file: string, o: { name?: string }, cmd: Command) => {
      const c = await app().importCatalog(context(cmd), file, o.name);
      out.result(
        { id: c.id, name: c.name, controls: c.controls.length, path: c.path },
        () =>
          `imported ${c.controls.length} controls of "${c.name}" as ${c.id}: cleanimg-init report ${c.id} --image REF`,
      );
    });

  const deployCmd = program
    .command("deploy")
    .description("deployment records (the chain's last link)");
  deployCmd
    .command("record")
    .description("record a deployment of an image that a current policy decision allows")
    .argument("[image]", "image location")
    .option("--image <ref>", "image deployed")
    .requiredOption("--environment <name>", "where it was deployed (cluster, namespace, stage)")
    .option(
      "--force",
      "record it even without an allowing decision (reported as deployed without approval)",
    )
    .action(
      async (
        arg: string | undefined,
        o: { image?: string; environment: string; force?: boolean },
        cmd: Command,
      ) => {
        const ref = o.image ?? arg;
        if (!ref) {
          throw new UsageError("CLI_USAGE", "which image? give IMAGE or --image REF");
        }
        const r = await app().recordDeployment(context(cmd), ref, {
          environment: o.environment,
          ...(o.force ? { force: true } : {}),
        });
        out.result(
          r,
          () =>
            `recorded the deployment of ${ref} to ${o.environment}: ${r.approved ? "approved" : "WITHOUT APPROVAL"} (${r.reason}); link ${r.link.attestation}`,
        );
      },
    );
}
