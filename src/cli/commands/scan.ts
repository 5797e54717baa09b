import type { Command } from "commander";
import {
  findingsAtOrAbove,
  freshnessText,
  parseDuration,
  parseSeverity,
  renderCycloneDxVulnerabilities,
  renderSarif,
  renderVex,
  scan,
  TOOL,
  VEX_AUTHOR,
  writeFileAtomic,
} from "../../app/index.js";
import { UsageError } from "../../core/errors.js";
import { noFindingsNote, readVexFiles, vexFormatOf, wroteVexNote } from "./common.js";
import type { CliDeps } from "./deps.js";

/** Registers the scan commands. */
export function registerScan(program: Command, deps: CliDeps): void {
  const { out, context, platformOption, platformOf } = deps;
  // --- scan ------------------------------------------------------------------------------------
  program
    .command("scan")
    .description(
      "catalog an image (or sbom:FILE) and match it against the offline vulnerability database",
    )
    .argument("[image]", "image location, dir:PATH or sbom:FILE")
    .option("--image <ref>", "image to scan (the design's form: --scan --image REF)")
    .addOption(platformOption)
    .option(
      "-o, --output <file>",
      "write the result to a file (in --format; table is written as json)",
    )
    .option(
      "--format <format>",
      "table | json | sarif | cyclonedx (CycloneDX 1.6 with vulnerabilities)",
      "table",
    )
    .option(
      "--fail-on <severity>",
      "exit 1 when a finding at or above this severity is not resolved (low, medium, high, critical), or kev: one CISA's KEV catalog lists",
    )
    .option(
      "--max-db-age <duration>",
      "warn when the vulnerability data is older than this (5d, 36h; default: maxDbAge in config.json, else 5d)",
    )
    .option("--fail-on-stale", "refuse to scan on data older than --max-db-age (exit 3)")
    .option("--output-vex <file>", "write one VEX statement per finding to a file")
    .option(
      "--vex-format <format>",
      "openvex (0.2.0) | csaf (2.0 VEX profile) | cyclonedx (1.6)",
      "openvex",
    )
    .option(
      "--vex <file>",
      "apply statements from a VEX document (OpenVEX, CSAF, CycloneDX); repeatable",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--no-evidence", "do not record the SBOM and scan in the evidence store")
    .action(
      async (
        positional: string | undefined,
        o: {
          vex: string[];
          image?: string;
          platform?: string;
          output?: string;
          failOn?: string;
          format: string;
          outputVex?: string;
          vexFormat: string;
          evidence: boolean;
          maxDbAge?: string;
          failOnStale?: boolean;
        },
        cmd: Command,
      ) => {
        const ref = o.image ?? positional;
        if (!ref) {
          throw new UsageError("CLI_USAGE", "scan needs an image", {
            hint: "cleanimg-init scan myapp:1.0.0 (or --scan --image myapp:1.0.0)",
          });
        }
        const vexFormat = vexFormatOf(o.vexFormat);
        if (o.outputVex && /^(sbom|dir):/.test(ref)) {
          // Refused before any work: VEX statements name the image as the product.
          throw new UsageError(
            "CLI_USAGE",
            "--output-vex needs an image: VEX statements identify the product by image digest",
            {
              hint: "scan the image itself (oci:, docker://, docker-archive:, a local tag)",
            },
          );
        }
        const failOn = o.failOn ? parseSeverity(o.failOn) : undefined;
        if (!["table", "json", "sarif", "cyclonedx"].includes(o.format)) {
          throw new UsageError("CLI_USAGE", `unknown scan format "${o.format}"`, {
            hint: "table, json, sarif or cyclonedx",
          });
        }
        const vexDocuments = await readVexFiles(o.vex);
        const maxDbAgeMs = o.maxDbAge ? parseDuration(o.maxDbAge) : undefined;
        const r = await scan(context(cmd), ref, {
          ...platformOf(o),
          record: o.evidence,
          vexDocuments,
          ...(maxDbAgeMs !== undefined ? { maxDbAgeMs } : {}),
          ...(o.failOnStale ? { failOnStale: true } : {}),
        });
        if (r.freshness.stale) {
          out.warn(`${freshnessText(r.freshness)}: the findings may miss recent advisories`);
        }
        if (r.distroSupport?.state === "end of life") {
          out.warn(r.distroSupport.detail);
        }
        const doc = {
          image: ref,
          dbSnapshot: r.snapshot,
          packages: r.sbom.packages.length,
          packagesMatched: r.packagesMatched,
          unassessed: r.unassessed,
          dataFreshness: r.freshness,
          ...(r.distroSupport ? { distroSupport: r.distroSupport } : {}),
          findings: r.findings,
          vex: r.vex,
          issues: r.issues,
          ...(r.evidence ? { evidence: r.evidence } : {}),
          ...(r.vexEvidence ? { vexEvidence: r.vexEvidence } : {}),
        };
        let vexNote = "";
        if (o.outputVex) {
          if (r.vex.length === 0 && vexFormat === "openvex") {
            vexNote = noFindingsNote(o.outputVex);
          } else {
            await writeFileAtomic(
              o.outputVex,
              renderVex(vexFormat, r.vex, {
                author: VEX_AUTHOR,
                timestamp: r.sbom.created,
                tool: TOOL,
              }),
            );
            vexNote = wroteVexNote(r.vex, vexFormat, o.outputVex);
          }
        }
        const rendered =
          o.format === "sarif"
            ? renderSarif(r.findings, TOOL, ref)
            : o.format === "cyclonedx"
              ? renderCycloneDxVulnerabilities(r.sbom, r.findings)
              : o.format === "json"
                ? `${JSON.stringify(doc, null, 2)}\n`
                : undefined;
        out.issues(r.issues);
        if (o.output) {
          await writeFileAtomic(o.output, rendered ?? `${JSON.stringify(doc, null, 2)}\n`);
        } else if (rendered && !out.json) {
          process.stdout.write(rendered);
        }
        out.result(doc, () => {
          if (rendered || o.output) {
            return [
              o.output
                ? `wrote ${o.format === "table" ? "json" : o.format} scan result to ${o.output}`
                : "",
              vexNote,
            ]
              .filter(Boolean)
              .join("\n");
          }
          const gaps = r.unassessed.length
            ? `; not assessed, no data: ${r.unassessed.map((u) => `${u.packages} ${u.ecosystem}`).join(", ")}`
            : "";
          if (r.findings.length === 0) {
            return [
              `no known vulnerabilities in the ${r.packagesMatched} packages assessed${gaps} (database snapshot ${r.snapshot})`,
              vexNote,
            ]
              .filter(Boolean)
              .join("\n");
          }
          const vexOf = new Map(
            r.vex.map((v) => [`${v.vulnerability}\n${v.subcomponent.purl}`, v]),
          );
          // the KEV column only when the catalog lists one of the findings
          const kev = r.findings.some((f) => f.knownExploited);
          const rows = r.findings.map((f) => [
            vexOf.get(`${f.id}\n${f.package.purl}`)?.status ?? "-",
            f.rating?.severity ?? "UNKNOWN",
            f.package.name,
            f.package.version,
            f.fixedIn ?? (f.distroStatus ? `(${f.distroStatus})` : "-"),
            f.id,
            ...(kev ? [f.knownExploited ? `due ${f.knownExploited.dueDate}` : "-"] : []),
            (f.summary ?? f.aliases.join(" ")).slice(0, 60),
          ]);
          const header = [
            "VEX",
            "SEVERITY",
            "PACKAGE",
            "INSTALLED",
            "FIXED IN",
            "ID",
            ...(kev ? ["KNOWN EXPLOITED"] : []),
            "TITLE",
          ];
          const widths = header.map((h, i) =>
            Math.min(40, Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length))),
          );
          const line = (cells: string[]) =>
            cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
          return [
            line(header),
            ...rows.map(line),
            "",
            `${r.findings.length} findings in the ${r.packagesMatched} packages assessed${gaps} (database snapshot ${r.snapshot})`,
            ...(vexNote ? [vexNote] : []),
          ].join("\n");
        });
        if (failOn) {
          const over = findingsAtOrAbove(r.findings, failOn, r.vex);
          if (over.length > 0) {
            out.warn(
              failOn === "KEV"
                ? `${over.length} known exploited findings (CISA KEV) not resolved by VEX`
                : `${over.length} findings at or above ${failOn.toLowerCase()} not resolved by VEX (unrated findings count as well)`,
            );
            deps.fail();
          }
        }
      },
    );
}
