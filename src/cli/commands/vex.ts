import type { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { readInput } from "../../core/input.js";
import { app } from "./app.js";
import { outputFile, readVexFiles, vexFormatOf, writeVexDocument } from "./common.js";
import type { CliDeps } from "./deps.js";

/** Registers the vex commands. */
export function registerVex(program: Command, deps: CliDeps): void {
  const { out, context, platformOption, env, platformOf } = deps;
  const vexCmd = program.command("vex").description("VEX statements");
  vexCmd
    .command("generate")
    .description("scan an image and write one VEX statement per finding (scan --output-vex)")
    .argument("[image]", "image location")
    .option("--image <ref>", "image to analyse")
    .addOption(platformOption)
    .requiredOption("-o, --output <file>", "the VEX document", outputFile)
    .option("--vex-format <format>", "openvex | csaf | cyclonedx (1.6) | cyclonedx-1.7", "openvex")
    .option(
      "--vex <file>",
      "apply statements from a VEX document first; repeatable",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .action(
      async (
        positional: string | undefined,
        o: { image?: string; platform?: string; output: string; vexFormat: string; vex: string[] },
        cmd: Command,
      ) => {
        // the same path as scan --output-vex, with the scan table left out
        const ref = o.image ?? positional;
        if (!ref) {
          throw new UsageError("CLI_USAGE", "vex generate needs an image", {
            hint: "cleanimg-init vex generate myapp:1.0.0 -o report.vex",
          });
        }
        const format = vexFormatOf(o.vexFormat);
        const r = await app().scan(context(cmd), ref, {
          ...platformOf(o),
          vexDocuments: await readVexFiles(o.vex),
        });
        out.issues(r.issues);
        const w = await writeVexDocument(o.output, format, r);
        if (!w.written) {
          out.result({ statements: 0 }, () => w.note);
          return;
        }
        out.result(
          {
            statements: r.vex.length,
            output: o.output,
            ...(r.vexEvidence ? { evidence: r.vexEvidence } : {}),
          },
          () => w.note,
        );
      },
    );
  vexCmd
    .command("add")
    .description(
      "record a person's VEX decision about an image in the evidence store; every later scan applies it",
    )
    .requiredOption("--image <ref>", "the image the decision is about")
    .requiredOption("--vuln <id>", "vulnerability id or alias (CVE-…, DSA-…, GO-…)")
    .requiredOption("--status <status>", "not_affected | affected | fixed | under_investigation")
    .option("--justification <j>", "for not_affected: one of the five OpenVEX justifications")
    .option("--impact <text>", "why (impact statement)")
    .option("--action <text>", "for affected: what users should do")
    .option("--component <purl>", "the component inside the image (default: the image as a whole)")
    .option("--author <name>", "who decides (default: $CLEANIMG_AUTHOR)")
    .option(
      "--key <file>",
      "the deciding person's private key (passphrase from $CLEANIMG_PASSWORD); without it, keyless signing when configured",
    )
    .action(
      async (
        o: {
          image: string;
          vuln: string;
          status: string;
          justification?: string;
          impact?: string;
          action?: string;
          component?: string;
          author?: string;
          key?: string;
        },
        cmd: Command,
      ) => {
        const keyPem = o.key ? (await readInput(o.key, "the key")).toString("utf8") : undefined;
        const password = env["CLEANIMG_PASSWORD"];
        const r = await app().addVexDecision(
          context(cmd),
          o.image,
          {
            vulnerability: o.vuln,
            status: o.status,
            ...(o.justification ? { justification: o.justification } : {}),
            ...(o.impact ? { impact: o.impact } : {}),
            ...(o.action ? { action: o.action } : {}),
            ...(o.component ? { component: o.component } : {}),
            author: o.author ?? env["CLEANIMG_AUTHOR"] ?? "",
          },
          keyPem === undefined
            ? {}
            : { key: { pem: keyPem, ...(password !== undefined ? { password } : {}) } },
        );
        out.result(
          { image: r.image, signer: r.signer, evidence: r.link },
          () =>
            `recorded ${o.status} for ${o.vuln} on ${r.image} by ${o.author ?? env["CLEANIMG_AUTHOR"]}, signed by ${r.signer}, as evidence ${r.link.evidence}`,
        );
      },
    );
}
