import type { Command } from "commander";
import type { ScanResult } from "../../app/index.js";
import { TOOL } from "../../app/names.js";
import { UsageError } from "../../core/errors.js";
import { scanDocument, scanTable } from "../render/scan.js";
import { type AppModule, app } from "./app.js";
import { inputFiles, outputFile, readVexFiles, vexFormatOf, writeVexDocument } from "./common.js";
import type { CliDeps } from "./deps.js";

/** The options of `scan`, as commander parses them. */
interface ScanCliOptions {
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
}

/** Registers the scan commands. */
export function registerScan(program: Command, deps: CliDeps): void {
  const { platformOption } = deps;
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
      outputFile,
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
    .option("--output-vex <file>", "write one VEX statement per finding to a file", outputFile)
    .option(
      "--vex-format <format>",
      "openvex (0.2.0) | csaf (2.0 VEX profile) | cyclonedx (1.6) | cyclonedx-1.7",
      "openvex",
    )
    .option(
      "--vex <file>",
      "apply statements from a VEX document (OpenVEX, CSAF, CycloneDX); repeatable",
      inputFiles,
      [] as string[],
    )
    .option("--no-evidence", "do not record the SBOM and scan in the evidence store")
    .action((positional: string | undefined, o: ScanCliOptions, cmd: Command) =>
      runScan(deps, positional, o, cmd),
    );
}

/**
 * What is refused before any work: no image, an unknown format, VEX for what is not an image.
 * @throws UsageError CLI_USAGE
 */
function scanArguments(positional: string | undefined, o: ScanCliOptions) {
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
  const failOn = o.failOn ? app().parseSeverity(o.failOn) : undefined;
  if (!["table", "json", "sarif", "cyclonedx"].includes(o.format)) {
    throw new UsageError("CLI_USAGE", `unknown scan format "${o.format}"`, {
      hint: "table, json, sarif or cyclonedx",
    });
  }
  return { ref, vexFormat, failOn };
}

/** The scan in a machine format (sarif, cyclonedx, json); undefined for the table. */
function renderedScan(format: string, r: ScanResult, ref: string, doc: unknown) {
  return format === "sarif"
    ? app().renderSarif(r.findings, TOOL, ref)
    : format === "cyclonedx"
      ? app().renderCycloneDxVulnerabilities(r.sbom, r.findings)
      : format === "json"
        ? `${JSON.stringify(doc, null, 2)}\n`
        : undefined;
}

/** Exits 1 (after the output) when a finding at or above --fail-on is not resolved by VEX. */
function failOnFindings(
  deps: CliDeps,
  r: ScanResult,
  failOn: ReturnType<AppModule["parseSeverity"]> | undefined,
) {
  if (!failOn) {
    return;
  }
  const over = app().findingsAtOrAbove(r.findings, failOn, r.vex);
  if (over.length > 0) {
    deps.out.warn(
      failOn === "KEV"
        ? `${over.length} known exploited findings (CISA KEV) not resolved by VEX`
        : `${over.length} findings at or above ${failOn.toLowerCase()} not resolved by VEX (unrated findings count as well)`,
    );
    deps.fail();
  }
}

/** `scan`: catalog, match, apply VEX, write what was asked for, and print the result. */
async function runScan(
  deps: CliDeps,
  positional: string | undefined,
  o: ScanCliOptions,
  cmd: Command,
): Promise<void> {
  const { out } = deps;
  const { ref, vexFormat, failOn } = scanArguments(positional, o);
  const vexDocuments = await readVexFiles(o.vex);
  const maxDbAgeMs = o.maxDbAge ? app().parseMaxDbAge(o.maxDbAge) : undefined;
  const r = await app().scan(deps.context(cmd), ref, {
    ...deps.platformOf(o),
    record: o.evidence,
    vexDocuments,
    ...(maxDbAgeMs !== undefined ? { maxDbAgeMs } : {}),
    ...(o.failOnStale ? { failOnStale: true } : {}),
  });
  if (r.freshness.stale) {
    out.warn(`${app().freshnessText(r.freshness)}: the findings may miss recent advisories`);
  }
  if (r.distroSupport?.state === "end of life") {
    out.warn(r.distroSupport.detail);
  }
  const doc = scanDocument(ref, r);
  const vexNote = o.outputVex ? (await writeVexDocument(o.outputVex, vexFormat, r)).note : "";
  const rendered = renderedScan(o.format, r, ref, doc);
  out.issues(r.issues);
  if (o.output) {
    await app().writeFileAtomic(o.output, rendered ?? `${JSON.stringify(doc, null, 2)}\n`);
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
    return scanTable(r, vexNote);
  });
  failOnFindings(deps, r, failOn);
}
