#!/usr/bin/env node
import { open, readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import {
  type AppContext,
  addVexDecision,
  auditSummary,
  buildImage,
  ChainCache,
  compareBatchLine,
  compareVersionStrings,
  complianceReport,
  complianceStatus,
  copyImageBetween,
  createAppContext,
  createLayoutFile,
  createToken,
  deriveStandardAttestation,
  discoverEvidence,
  type EvidenceExport,
  evaluateImagePolicy,
  evaluatePolicy,
  exportEvidence,
  exportImage,
  exportVulnDb,
  fileRecord,
  findingsAtOrAbove,
  fleetStatus,
  freshnessText,
  generateSbom,
  type ImportResult,
  importCatalog,
  importEvidence,
  importVulnData,
  inspectImage,
  intotoRecordStart,
  intotoRecordStop,
  intotoRun,
  intotoSign,
  intotoVerify,
  itemsOf,
  keySigner,
  listEvidence,
  listImageFiles,
  listLocalImages,
  listTokens,
  loadInTotoPublicKeys,
  loadInTotoSigner,
  loadPolicy,
  loadPrivateKey,
  loadPublicKey,
  type PolicyDecision,
  parseDuration,
  parseKeyType,
  parsePlatform,
  parseSbomFormat,
  parseSeverity,
  policyInput,
  pullEvidence,
  pushEvidence,
  REPORT_FRAMEWORKS,
  recordAuditEvent,
  recordDeployment,
  recordInTotoVerification,
  removeLocalImage,
  renderCycloneDxVulnerabilities,
  renderOscalAssessmentResults,
  renderOscalPoam,
  renderReportHtml,
  renderReportMarkdown,
  renderSarif,
  renderVex,
  resolveSubject,
  revokeToken,
  STANDARD_STAGES,
  type StandardStage,
  scan,
  signBundleFile,
  TOOL,
  tagLocalImage,
  trustPersonKey,
  VEX_AUTHOR,
  VEX_FORMATS,
  type VexFormat,
  type VexStatement,
  VULNDB_BUNDLE_TYPE,
  verifyAuditTrail,
  verifyBundleFile,
  verifyChain,
  verifyProvenanceFile,
  verifyTransparencyLog,
  vulnDbStatus,
  writeFileAtomic,
  writeKeyPair,
} from "../app/index.js";
import { requireIsoDate } from "../core/dates.js";
import { isDigest as isDigestString, parseDigest } from "../core/digest.js";
import { isToolError, ToolError, UsageError } from "../core/errors.js";
import { startServer } from "../server/index.js";
import { rewriteDesignForm } from "./design-forms.js";
import { ExitCode, exitCodeFor } from "./exit-codes.js";
import { createOutput, formatTable, type Output } from "./output.js";

interface GlobalOptions {
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
  home?: string;
  insecure?: boolean;
  store?: string;
}

const VERSION = TOOL.version;

const EXIT_HELP = `
Exit codes:
  0  success
  1  the answer is negative (policy failed, verification failed)
  2  usage error (bad option, argument or reference)
  3  operational error (I/O, network, corrupt or hostile input, limits)
  4  not available in this version

Image locations:
  NAME[:TAG][@DIGEST]        local image store first, then the registry
  docker://REF, registry:REF a registry (--insecure: plain HTTP, loopback only)
  oci:DIR[:TAG]              an OCI image layout directory
  oci-archive:FILE[:TAG]     a tar of an OCI image layout
  docker-archive:FILE[:REF]  a "docker save" tarball
  local:REF                  the local image store only

Environment: CLEANIMG_HOME (default ~/.cleanimg), DOCKER_CONFIG, NO_COLOR.`;

/** Runs the command line; returns the exit code. Only this module touches process. */
export async function run(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const programName =
    basename(argv[1] ?? "cleanimg-init").replace(/\.js$/, "") === "cleanimg"
      ? "cleanimg"
      : "cleanimg-init";
  const args = rewriteDesignForm(argv.slice(2));
  const pre = {
    json: args.includes("--json"),
    quiet: args.includes("--quiet") || args.includes("-q"),
    debug: args.includes("--debug"),
  };
  const out = createOutput({
    ...pre,
    env,
    stdout: process.stdout,
    stderr: process.stderr,
    program: programName,
  });
  let exitCode: number = ExitCode.Ok;
  let ctx: AppContext | undefined;
  const context = (cmd: Command): AppContext => {
    const g = cmd.optsWithGlobals() as GlobalOptions;
    ctx ??= createAppContext({
      env,
      ...(g.home ? { home: g.home } : {}),
      ...(g.insecure ? { insecure: true } : {}),
      ...(g.store ? { store: g.store } : {}),
      progress: (m) => out.progress(m),
    });
    return ctx;
  };

  const program = new Command(programName)
    .description(
      "Build and scan container images; every step leaves signed, linked compliance evidence.",
    )
    .version(VERSION, "-V, --version")
    .option("--json", "machine-readable output on stdout")
    .option("-q, --quiet", "no messages on stderr except errors")
    .option("--debug", "show stack traces for errors")
    .option("--home <dir>", "cleanimg home (default $CLEANIMG_HOME or ~/.cleanimg)")
    .option("--insecure", "allow plain HTTP to loopback registries")
    .option(
      "--store <url>",
      "evidence store: postgres://… (default $CLEANIMG_STORE, else the embedded SQLite store)",
    )
    .addHelpText("after", EXIT_HELP)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      outputError: (s) =>
        out.error(s.replace(/^error: /, "").trim(), `see ${programName} --help`, "CLI_USAGE"),
    });

  const platformOption = new Option(
    "--platform <os/arch[/variant]>",
    "platform to select in a multi-platform image",
  );
  const platformOf = (o: { platform?: string }) =>
    o.platform ? { platform: parsePlatform(o.platform) } : {};

  // --- image -----------------------------------------------------------------------------------
  const image = program
    .command("image")
    .description("read, copy and manage images in any location");
  image
    .command("inspect")
    .description(
      "show an image's manifest, configuration and layers (verified), and record them as evidence",
    )
    .argument("<image>", "image location")
    .addOption(platformOption)
    .option("--no-evidence", "do not record the manifest and config in the evidence store")
    .action(async (ref: string, o: { platform?: string; evidence: boolean }, cmd: Command) => {
      const r = await inspectImage(context(cmd), ref, { ...platformOf(o), record: o.evidence });
      out.result(r, () =>
        [
          `Image:     ${r.reference}`,
          `Source:    ${r.source}`,
          ...(r.index ? [`Index:     ${r.index.digest}`] : []),
          `Manifest:  ${r.manifest.digest} (${r.manifest.mediaType})`,
          ...(r.platform ? [`Platform:  ${r.platform}`] : []),
          `Config:    ${r.config.digest}`,
          ...(r.config.created ? [`Created:   ${r.config.created}`] : []),
          `Layers:    ${r.layers.length}`,
          ...r.layers.map(
            (l, i) =>
              `  ${i}  ${l.descriptor.digest}  ${String(l.descriptor.size).padStart(11)}  diff ${l.diffId}`,
          ),
          ...(r.evidence.length
            ? [`Evidence:  ${r.evidence.length} records linked to ${r.manifest.digest}`]
            : []),
        ].join("\n"),
      );
    });

  image
    .command("files")
    .description("list the merged filesystem: path, type, mode, size and layer of origin")
    .argument("<image>", "image location")
    .addOption(platformOption)
    .option("--no-evidence", "do not record the file inventory in the evidence store")
    .option("--max-layer-bytes <n>", "largest decompressed layer accepted", wholeNumber)
    .option("--max-entries <n>", "most filesystem entries accepted", wholeNumber)
    .action(
      async (
        ref: string,
        o: { platform?: string; evidence: boolean; maxLayerBytes?: number; maxEntries?: number },
        cmd: Command,
      ) => {
        const r = await listImageFiles(context(cmd), ref, {
          ...platformOf(o),
          record: o.evidence,
          limits: {
            ...(o.maxLayerBytes ? { maxLayerBytes: o.maxLayerBytes } : {}),
            ...(o.maxEntries ? { maxEntries: o.maxEntries } : {}),
          },
        });
        out.issues(r.issues);
        out.result(
          {
            manifest: r.manifest,
            layers: r.layers,
            files: r.files.map(fileRecord),
            issues: r.issues,
            ...(r.evidence ? { evidence: r.evidence } : {}),
          },
          () =>
            r.files
              .map(
                (f) =>
                  `${typeChar(f.type)}${modeString(f.mode)} ${f.uid}/${f.gid} ${String(f.size).padStart(10)} L${f.layer < 0 ? "-" : f.layer} ${f.path}${f.linkname !== undefined ? ` -> ${f.linkname}` : ""}`,
              )
              .join("\n"),
        );
      },
    );

  image
    .command("export")
    .description("write an image's merged filesystem into a new or empty directory")
    .argument("<image>", "image location")
    .argument("<dir>", "target directory (must be new or empty)")
    .addOption(platformOption)
    .option(
      "--max-bytes <n>",
      "most bytes of file content to write (default: 40 times the compressed layers, at least 256 MiB, within the free space)",
    )
    .action(
      async (
        ref: string,
        dir: string,
        o: { platform?: string; maxBytes?: string },
        cmd: Command,
      ) => {
        const maxBytes = o.maxBytes === undefined ? undefined : Number(o.maxBytes);
        if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
          throw new UsageError(
            "CLI_USAGE",
            `--max-bytes ${o.maxBytes} is not a whole number of bytes`,
          );
        }
        const r = await exportImage(context(cmd), ref, dir, {
          ...platformOf(o),
          ...(maxBytes !== undefined ? { maxBytes } : {}),
        });
        out.issues(r.issues);
        out.result(
          r,
          () =>
            `exported ${r.files} files, ${r.directories} directories, ${r.symlinks} symlinks, ${r.hardlinks} hard links (${r.bytes} bytes) to ${dir}${r.issues.length ? `; ${r.issues.length} issues` : ""}`,
        );
      },
    );

  image
    .command("copy")
    .description("copy an image between any two locations, keeping its digests")
    .argument("<source>", "image location to read")
    .argument("<destination>", "image location to write")
    .addOption(platformOption)
    .action(async (from: string, to: string, o: { platform?: string }, cmd: Command) => {
      const r = await copyImageBetween(context(cmd), from, to, platformOf(o));
      out.result(
        r,
        () =>
          `copied ${r.digest} to ${r.destination} (${r.blobsCopied} blobs copied, ${r.blobsSkipped} already there)`,
      );
    });

  image
    .command("ls")
    .description("list the images of the local image store")
    .action(async (_o: unknown, cmd: Command) => {
      const r = await listLocalImages(context(cmd));
      out.result(
        r.map((i) => ({
          name: i.name,
          digest: i.descriptor.digest,
          mediaType: i.descriptor.mediaType,
          size: i.descriptor.size,
        })),
        () =>
          r.length === 0
            ? "no images in the local store"
            : r.map((i) => `${i.name}  ${i.descriptor.digest}`).join("\n"),
      );
    });

  image
    .command("tag")
    .description("give an image of the local store another name")
    .argument("<image>", "existing name")
    .argument("<name>", "new name")
    .action(async (from: string, to: string, _o: unknown, cmd: Command) => {
      const r = await tagLocalImage(context(cmd), from, to);
      out.result(
        { name: r.name, digest: r.descriptor.digest },
        () => `tagged ${r.descriptor.digest} as ${r.name}`,
      );
    });

  image
    .command("rm")
    .description("remove a name from the local store (unreferenced blobs are deleted)")
    .argument("<image>", "name to remove")
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const r = await removeLocalImage(context(cmd), ref);
      out.result(r, () => `removed ${r.removed} (${r.blobsDeleted} blobs deleted)`);
    });

  // --- sbom ------------------------------------------------------------------------------------
  program
    .command("sbom")
    .description(
      "catalog an image or directory (dir:PATH) and write its SBOM (recorded as evidence for images)",
    )
    .argument("<image>", "image location, or dir:PATH")
    .option("--format <format>", "spdx-3 | spdx-2.3 | cyclonedx-1.6 | cyclonedx-1.5", "spdx-3")
    .option("-o, --output <file>", "write the SBOM to a file instead of stdout")
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
        const r = await generateSbom(context(cmd), ref, {
          format: parseSbomFormat(o.format),
          ...platformOf(o),
          ...(created ? { created } : {}),
          record: o.evidence,
        });
        out.issues(r.sbom.issues);
        if (o.output) {
          await writeFileAtomic(o.output, r.document);
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
            exitCode = ExitCode.Failed;
          }
        }
      },
    );

  // --- db ------------------------------------------------------------------------------------
  const db = program.command("db").description("the offline vulnerability database");
  db.command("import")
    .description(
      "import OSV JSON (directory, zip, JSON lines; gzip or not), Debian advisory lists, the Debian security tracker JSON, Alpine secdb",
    )
    .argument("<path...>", "files or directories, or a signed export (db export)")
    .option("--key <file...>", "public key(s) that may have signed a database export")
    .action(async (paths: string[], o: { key?: string[] }, cmd: Command) => {
      if (!o.key?.length) {
        // a signed export is verified with its exporter's key or not imported at all
        for (const p of paths) {
          if (await isSignedDbExport(p)) {
            throw new UsageError(
              "CLI_USAGE",
              `--key is required for verification: ${p} is a signed database export`,
            );
          }
        }
      }
      const keys = await Promise.all(
        (o.key ?? []).map(async (k) => loadPublicKey(await readFile(k, "utf8"))),
      );
      const r = await importVulnData(context(cmd), paths, { keys });
      out.issues(r.issues);
      out.result(r, () =>
        [
          ...r.bundles.map(
            (b) =>
              `verified export ${b.path} (signed by ${b.signedBy.join(", ")}; snapshot ${b.snapshot})`,
          ),
          ...r.sources.map(
            (s) =>
              `${s.source.padEnd(16)} ${String(s.records).padStart(7)} records: ${s.added} added, ${s.changed} changed, ${s.unchanged} unchanged`,
          ),
          `snapshot ${r.snapshot}`,
        ].join("\n"),
      );
    });
  /** True when a file begins as a `db export` envelope (its payload type in the first bytes). */
  const isSignedDbExport = async (path: string): Promise<boolean> => {
    const fh = await open(path, "r").catch(() => undefined);
    if (!fh) {
      return false;
    }
    try {
      const head = Buffer.alloc(512);
      const { bytesRead } = await fh.read(head, 0, 512, 0).catch(() => ({ bytesRead: 0 }));
      return head
        .subarray(0, bytesRead)
        .toString("utf8")
        .includes(`"payloadType":"${VULNDB_BUNDLE_TYPE}"`);
    } finally {
      await fh.close();
    }
  };
  const vexCmd = program.command("vex").description("VEX statements");
  vexCmd
    .command("generate")
    .description("scan an image and write one VEX statement per finding (scan --output-vex)")
    .argument("[image]", "image location")
    .option("--image <ref>", "image to analyse")
    .addOption(platformOption)
    .requiredOption("-o, --output <file>", "the VEX document")
    .option("--vex-format <format>", "openvex | csaf | cyclonedx", "openvex")
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
        const r = await scan(context(cmd), ref, {
          ...platformOf(o),
          vexDocuments: await readVexFiles(o.vex),
        });
        out.issues(r.issues);
        if (r.vex.length === 0 && format === "openvex") {
          out.result({ statements: 0 }, () => noFindingsNote(o.output));
          return;
        }
        await writeFileAtomic(
          o.output,
          renderVex(format, r.vex, { author: VEX_AUTHOR, timestamp: r.sbom.created, tool: TOOL }),
        );
        out.result(
          {
            statements: r.vex.length,
            output: o.output,
            ...(r.vexEvidence ? { evidence: r.vexEvidence } : {}),
          },
          () => wroteVexNote(r.vex, format, o.output),
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
        const keyPem = o.key
          ? await readFile(o.key, "utf8").catch((e: NodeJS.ErrnoException) => {
              throw new UsageError("CLI_USAGE", `cannot read ${o.key}: ${e.code ?? e.message}`);
            })
          : undefined;
        const password = env["CLEANIMG_PASSWORD"];
        const r = await addVexDecision(
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

  db.command("export")
    .description(
      "write the whole database as one signed file for an air-gapped machine (db import --key)",
    )
    .requiredOption("--key <file>", "private key to sign with (passphrase from $CLEANIMG_PASSWORD)")
    .requiredOption("-o, --output <file>", "the export file")
    .action(async (o: { key: string; output: string }, cmd: Command) => {
      const signer = keySigner(
        loadPrivateKey(await readFile(o.key, "utf8"), env["CLEANIMG_PASSWORD"]),
      );
      const r = await exportVulnDb(context(cmd), o.output, signer);
      out.result(
        r,
        () =>
          `wrote ${r.records} records (snapshot ${r.snapshot}) to ${r.output}, signed by ${r.keyid}`,
      );
    });
  db.command("status")
    .description("sources, record counts, dates and the current snapshot digest")
    .action(async (_o: unknown, cmd: Command) => {
      const r = vulnDbStatus(context(cmd));
      out.result(r, () =>
        r.records === 0
          ? "the vulnerability database is empty: import data with cleanimg-init db import PATH"
          : [
              ...r.sources.map(
                (s) =>
                  `${s.source.padEnd(16)} ${String(s.records).padStart(7)} records  newest ${s.newestModified ?? "-"} (${s.dataAgeDays === undefined ? "age unknown" : `${s.dataAgeDays} days old`})  imported ${s.importedAt ?? "-"} (${s.importedAgeDays ?? "-"} days ago)`,
              ),
              `${r.records} records, snapshot ${r.snapshot}`,
            ].join("\n"),
      );
    });

  // --- key, bundle -----------------------------------------------------------------------------
  const key = program.command("key").description("signing keys");
  key
    .command("generate")
    .description("write PREFIX.key (encrypted with $CLEANIMG_PASSWORD) and PREFIX.pub")
    .option("--type <type>", "ecdsa-p256 | ed25519", "ecdsa-p256")
    .option("--output-key-prefix <prefix>", "file name prefix", "cleanimg")
    .option("--unencrypted", "write the private key without a passphrase")
    .action(
      async (o: { type: string; outputKeyPrefix: string; unencrypted?: boolean }, cmd: Command) => {
        const passphrase = env["CLEANIMG_PASSWORD"];
        if (!passphrase && !o.unencrypted) {
          throw new UsageError("CLI_USAGE", "no passphrase for the private key", {
            hint: "set CLEANIMG_PASSWORD, or pass --unencrypted to write it in the clear",
          });
        }
        const r = await writeKeyPair(
          o.outputKeyPrefix,
          parseKeyType(o.type),
          o.unencrypted ? undefined : passphrase,
        );
        await recordAuditEvent(context(cmd), {
          action: "key-generate",
          evidence: {},
          details: { keyid: r.keyid, type: o.type, publicKey: r.publicKey },
        });
        out.result(r, () => `wrote ${r.privateKey} and ${r.publicKey} (key id ${r.keyid})`);
      },
    );
  key
    .command("trust")
    .description(
      "trust a person's public key: their signed VEX decisions (vex add --key) are applied",
    )
    .requiredOption("--person <file>", "the person's public key (PREFIX.pub of key generate)")
    .action(async (o: { person: string }, cmd: Command) => {
      const r = await trustPersonKey(context(cmd), o.person);
      out.result(
        r,
        () => `trusted ${r.keyid} for VEX decisions (${r.path}); remove the file to revoke it`,
      );
    });
  const bundleCmd = program.command("bundle").description("Sigstore bundles");
  bundleCmd
    .command("verify")
    .description(
      "verify a Sigstore bundle offline against a trusted root, signed by the identity or key given (exit 1 when it does not verify)",
    )
    .argument("<bundle>", "bundle file (.sigstore.json)")
    .requiredOption("--trusted-root <file>", "Sigstore trusted_root.json")
    .option("--artifact <file>", "the signed file, or the attestation's subject")
    .option("--certificate-identity <san>", "the signer identity accepted (keyless; or --key)")
    .option("--certificate-oidc-issuer <url>", "the identity issuer accepted (keyless; or --key)")
    .option("--key <file>", "PEM public key (bundles signed with a key; or the two above)")
    .action(
      async (
        file: string,
        o: {
          trustedRoot: string;
          artifact?: string;
          certificateIdentity?: string;
          certificateOidcIssuer?: string;
          key?: string;
        },
      ) => {
        const r = await verifyBundleFile(file, {
          trustedRoot: o.trustedRoot,
          ...(o.artifact ? { artifact: o.artifact } : {}),
          ...(o.certificateIdentity ? { identity: o.certificateIdentity } : {}),
          ...(o.certificateOidcIssuer ? { issuer: o.certificateOidcIssuer } : {}),
          ...(o.key ? { key: o.key } : {}),
        });
        const { dsse: _dsse, ...shown } = r;
        out.result(
          shown,
          () =>
            `verified: ${r.keyKind === "public-key" ? "signed with the given key" : `signed by ${r.identity?.subjectAlternativeName ?? "?"} (issuer ${r.identity?.issuer ?? "?"})`}`,
        );
      },
    );

  program
    .command("verify-provenance")
    .description(
      "verify SLSA provenance of an artifact, in the manner of slsa-verifier (exit 1 when it does not verify)",
    )
    .argument("<artifact>", "the artifact the provenance is about")
    .requiredOption("--provenance-path <file>", "Sigstore bundle(s), one JSON per line")
    .requiredOption(
      "--source-uri <uri>",
      "the source repository expected, e.g. github.com/org/repo",
    )
    .option(
      "--builder-id <id>",
      "the builder trusted to have built it (its workflow identity); required",
    )
    .requiredOption("--trusted-root <file>", "Sigstore trusted_root.json")
    .action(
      async (
        artifact: string,
        o: { provenancePath: string; sourceUri: string; builderId?: string; trustedRoot: string },
      ) => {
        if (!o.builderId) {
          // no builder is trusted by default: the signer's identity is the builder asked for
          throw new UsageError(
            "CLI_USAGE",
            "--builder-id is required for verification: no builder is trusted by default",
          );
        }
        const r = await verifyProvenanceFile(artifact, o.provenancePath, {
          sourceUri: o.sourceUri,
          ...(o.builderId ? { builderId: o.builderId } : {}),
          trustedRoot: o.trustedRoot,
        });
        out.result(
          r,
          () => `PASSED: ${artifact} (${r.artifact}) was built by ${r.builder} from ${r.source}`,
        );
      },
    );

  // the client command-line protocol of sigstore-conformance
  const sigstoreCmd = program
    .command("sigstore")
    .description("Sigstore client commands in the sigstore-conformance protocol");
  sigstoreCmd
    .command("verify-bundle")
    .description(
      "verify-bundle --bundle FILE (--certificate-identity ID --certificate-oidc-issuer URL | --key FILE) [--trusted-root FILE] ARTIFACT",
    )
    .argument("<artifact>", "the signed file (a sha256:DIGEST is not supported: give the file)")
    .requiredOption("--bundle <file>", "the Sigstore bundle")
    .option("--certificate-identity <san>", "the signer identity accepted (keyless; or --key)")
    .option("--certificate-oidc-issuer <url>", "the identity issuer accepted (keyless; or --key)")
    .option("--key <file>", "PEM public key of a key-signed bundle (or the two above)")
    .option(
      "--trusted-root <file>",
      "trusted_root.json (default: $CLEANIMG_HOME/sigstore/trusted_root.json)",
    )
    .option("--staging", "use the staging instance's trusted root (needs --trusted-root offline)")
    .action(
      async (
        artifact: string,
        o: {
          bundle: string;
          certificateIdentity?: string;
          certificateOidcIssuer?: string;
          key?: string;
          trustedRoot?: string;
          staging?: boolean;
        },
        cmd: Command,
      ) => {
        if (/^sha256:[0-9a-f]{64}$/.test(artifact)) {
          throw new UsageError(
            "CLI_USAGE",
            "verifying by digest alone is not supported: give the artifact file",
          );
        }
        const root = o.trustedRoot ?? `${context(cmd).home}/sigstore/trusted_root.json`;
        const r = await verifyBundleFile(o.bundle, {
          trustedRoot: root,
          artifact,
          ...(o.certificateIdentity ? { identity: o.certificateIdentity } : {}),
          ...(o.certificateOidcIssuer ? { issuer: o.certificateOidcIssuer } : {}),
          ...(o.key ? { key: o.key } : {}),
        });
        out.result({ verified: true, keyKind: r.keyKind }, () => "Operation succeeded!");
      },
    );
  sigstoreCmd
    .command("sign-bundle")
    .description(
      "sign-bundle --identity-token TOKEN --bundle FILE [--signing-config FILE | --staging | --fulcio-url URL --rekor-url URL] ARTIFACT (keyless), or --key FILE instead of a token",
    )
    .argument("<artifact>", "the file to sign")
    .requiredOption("--bundle <file>", "where to write the Sigstore v0.3 bundle")
    .option("--identity-token <jwt>", "OIDC identity token (keyless)")
    .option("--key <file>", "sign with this private key (PEM or cosign.key) instead of keyless")
    .option("--signing-config <file>", "signing_config.json naming Fulcio, Rekor and TSA")
    .option("--trusted-root <file>", "accepted for the conformance protocol (verification uses it)")
    .option("--fulcio-url <url>", "Fulcio (certificate authority) of a private instance")
    .option("--rekor-url <url>", "Rekor transparency log to record the signature in")
    .option("--tsa-url <url>", "RFC 3161 timestamp authority")
    .option("--staging", "use the public-good staging instance (needs network)")
    .action(
      async (
        artifact: string,
        o: {
          bundle: string;
          identityToken?: string;
          key?: string;
          signingConfig?: string;
          fulcioUrl?: string;
          rekorUrl?: string;
          tsaUrl?: string;
          staging?: boolean;
        },
        cmd: Command,
      ) => {
        const env = context(cmd).env;
        const password = o.key
          ? (env["CLEANIMG_SIGNING_KEY_PASSWORD"] ?? env["COSIGN_PASSWORD"])
          : undefined;
        const r = await signBundleFile(artifact, o.bundle, {
          ...(o.identityToken ? { identityToken: o.identityToken } : {}),
          ...(o.key ? { key: o.key } : {}),
          ...(password !== undefined ? { keyPassword: password } : {}),
          ...(o.signingConfig ? { signingConfig: o.signingConfig } : {}),
          ...(o.fulcioUrl ? { fulcioURL: o.fulcioUrl } : {}),
          ...(o.rekorUrl ? { rekorURL: o.rekorUrl } : {}),
          ...(o.tsaUrl ? { tsaURL: o.tsaUrl } : {}),
          ...(o.staging ? { staging: true } : {}),
        });
        out.result(
          { bundle: o.bundle, ...r },
          () => `wrote ${o.bundle} (${r.keyKind}, ${r.tlogEntries} log entries)`,
        );
      },
    );

  // --- version ---------------------------------------------------------------------------------
  const version = program.command("version").description("version semantics of package ecosystems");
  version
    .command("compare")
    .description(
      "print -1, 0 or 1 as A is lower, equal or higher than B (like dpkg --compare-versions)",
    )
    .requiredOption(
      "--ecosystem <name>",
      "OSV ecosystem: Debian, Alpine, Red Hat, PyPI, npm, Go, Maven, RubyGems, NuGet, crates.io, Packagist",
    )
    .option(
      "--batch",
      'read JSON lines {"a":…,"b":…} on stdin, write {"a":…,"b":…,"cmp":…} per line',
    )
    .argument("[a]", "first version")
    .argument("[b]", "second version")
    .action(
      async (
        a: string | undefined,
        b: string | undefined,
        o: { ecosystem: string; batch?: boolean },
      ) => {
        if (o.batch) {
          let buf = "";
          for await (const chunk of process.stdin) {
            buf += chunk;
            let nl = buf.indexOf("\n");
            while (nl >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (line) {
                process.stdout.write(`${compareBatchLine(o.ecosystem, line)}\n`);
              }
              nl = buf.indexOf("\n");
            }
          }
          if (buf.trim()) {
            process.stdout.write(`${compareBatchLine(o.ecosystem, buf.trim())}\n`);
          }
          return;
        }
        if (a === undefined || b === undefined) {
          throw new UsageError("CLI_USAGE", "version compare needs two versions (or --batch)", {
            hint: "cleanimg-init version compare --ecosystem Debian 1.0-1 1.0-2",
          });
        }
        const r = compareVersionStrings(o.ecosystem, a, b);
        out.result({ a, b, ecosystem: o.ecosystem, cmp: r }, () => String(r));
      },
    );

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
    .requiredOption("-o, --output <file>", "where to write the Sigstore bundle")
    .action(async (ref: string, o: { stage: string; output: string }, cmd: Command) => {
      if (!(STANDARD_STAGES as readonly string[]).includes(o.stage)) {
        throw new UsageError("CLI_USAGE", `no standard attestation for stage "${o.stage}"`, {
          hint: `--stage ${STANDARD_STAGES.join("|")} (policy and deployment links are the attestations)`,
        });
      }
      const a = await deriveStandardAttestation(context(cmd), ref, o.stage as StandardStage);
      await writeFileAtomic(o.output, new TextDecoder().decode(a.bytes));
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
      exitCode = ExitCode.Failed;
    }
  };
  evidence
    .command("push")
    .description(
      "push an image's signed evidence to its registry as OCI 1.1 referrers (tag fallback too)",
    )
    .argument("<image>", "registry reference: docker://HOST/REPO:TAG or HOST/REPO@DIGEST")
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const r = await pushEvidence(context(cmd), ref);
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
      reportImport(await pullEvidence(context(cmd), ref));
    });
  evidence
    .command("export")
    .description(
      "write an image's current signed evidence to one JSON file (for `evidence import`, an air-gapped transfer, or POST /v1/images/{digest}/evidence)",
    )
    .argument("<image>", "image location, or a manifest digest (sha256:…) with evidence here")
    .requiredOption("-o, --output <file>", "the file to write")
    .action(async (ref: string, o: { output: string }, cmd: Command) => {
      const c = context(cmd);
      const subject = await resolveSubject(c, ref);
      const e = await exportEvidence(c, { name: ref, digest: subject.digest });
      if (e.items.length === 0) {
        throw new UsageError("CLI_USAGE", `no signed evidence of ${subject.digest} in this store`, {
          hint: "build, sbom or scan the image first",
        });
      }
      await writeFileAtomic(o.output, new TextEncoder().encode(`${JSON.stringify(e, null, 2)}\n`));
      out.result(
        { image: e.image, items: e.items.length, output: o.output },
        () => `wrote ${e.items.length} signed evidence items of ${subject.digest} to ${o.output}`,
      );
    });
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
    const raw = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
      throw new UsageError("CLI_USAGE", `cannot read ${file}: ${e.code ?? e.message}`);
    });
    let e: EvidenceExport;
    try {
      e = JSON.parse(raw) as EvidenceExport;
      if (!isDigestString(e.image?.digest) || !Array.isArray(e.items)) {
        throw new Error("it has no image.digest or no items");
      }
    } catch (err) {
      throw new UsageError(
        "CLI_USAGE",
        `${file} is not an evidence export: ${(err as Error).message}`,
        {
          hint: "write one with cleanimg-init evidence export IMAGE -o FILE",
        },
      );
    }
    const r = await importEvidence(
      context(cmd),
      { digest: e.image.digest, name: e.image.name ?? e.image.digest },
      itemsOf(e),
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
        const r = await listEvidence(context(cmd), {
          ...(o.subject ? { subject: parseDigest(o.subject) } : {}),
          ...(o.kind ? { kind: o.kind } : {}),
          ...(o.from ? { since: isoDate(o.from, "--from") } : {}),
          ...(o.to ? { until: isoDate(o.to, "--to") } : {}),
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

  // --- in-toto ---------------------------------------------------------------------------------
  const intoto = program
    .command("intoto")
    .description("in-toto links and layouts, with the reference implementation's options");
  intoto
    .command("run")
    .description(
      "run a step: record materials, run the command, record products, sign the link (in-toto-run)",
    )
    .requiredOption("-n, --step-name <name>", "the step's name in the layout")
    .requiredOption(
      "-k, --key <file>",
      "the functionary's private key (PEM, or securesystemslib JSON Ed25519)",
    )
    .option(
      "-t, --key-type <type>",
      "rsa, ecdsa or ed25519 (read from the key file; accepted for compatibility)",
    )
    .option("-m, --materials <paths...>", "files or directories recorded before the command")
    .option("-p, --products <paths...>", "files or directories recorded after the command")
    .option("-x, --no-command", "record artifacts only, run nothing")
    .option(
      "--exclude <patterns...>",
      "fnmatch patterns of artifacts not to record (default *.link* .git *.pyc *~)",
    )
    .option("--base-path <dir>", "resolve and record artifact paths relative to this directory")
    .option("-d, --metadata-directory <dir>", "where to write the link (default: here)")
    .option("--use-dsse", "write the link as a DSSE envelope")
    .option("--password <password>", "the key's password (an encrypted PEM key)")
    .argument("[command...]", "the command, after --")
    .action(
      async (
        command: string[],
        o: {
          stepName: string;
          key: string;
          materials?: string[];
          products?: string[];
          command: boolean;
          exclude?: string[];
          basePath?: string;
          metadataDirectory?: string;
          useDsse?: boolean;
          password?: string;
        },
      ) => {
        const r = await intotoRun({
          name: o.stepName,
          signer: await loadInTotoSigner(o.key, o.password),
          ...(o.materials ? { materials: o.materials } : {}),
          ...(o.products ? { products: o.products } : {}),
          command,
          ...(o.command ? {} : { noCommand: true }),
          ...(o.exclude ? { excludes: o.exclude } : {}),
          ...(o.basePath ? { basePath: o.basePath } : {}),
          ...(o.metadataDirectory ? { metadataDirectory: o.metadataDirectory } : {}),
          ...(o.useDsse ? { useDsse: true } : {}),
          cwd: process.cwd(),
        });
        const rv = r.link.byproducts["return-value"];
        out.result(
          {
            link: r.path,
            returnValue: rv ?? null,
            materials: Object.keys(r.link.materials).length,
            products: Object.keys(r.link.products).length,
          },
          () =>
            `wrote ${r.path} (${Object.keys(r.link.materials).length} materials, ${Object.keys(r.link.products).length} products${rv !== undefined ? `, return value ${rv}` : ""})`,
        );
      },
    );
  const record = intoto
    .command("record")
    .description("record a step whose commands run outside cleanimg (in-toto-record)");
  record
    .command("start")
    .description("record the materials into a signed preliminary link")
    .requiredOption("-n, --step-name <name>", "the step's name in the layout")
    .requiredOption("-k, --key <file>", "the functionary's private key")
    .option("-t, --key-type <type>", "accepted for compatibility (read from the key file)")
    .option("-m, --materials <paths...>", "files or directories to record")
    .option("--exclude <patterns...>", "fnmatch patterns not to record")
    .option("--base-path <dir>", "record paths relative to this directory")
    .option("--password <password>", "the key's password")
    .action(
      async (o: {
        stepName: string;
        key: string;
        materials?: string[];
        exclude?: string[];
        basePath?: string;
        password?: string;
      }) => {
        const r = await intotoRecordStart({
          name: o.stepName,
          signer: await loadInTotoSigner(o.key, o.password),
          ...(o.materials ? { materials: o.materials } : {}),
          ...(o.exclude ? { excludes: o.exclude } : {}),
          ...(o.basePath ? { basePath: o.basePath } : {}),
          cwd: process.cwd(),
        });
        out.result(r, () => `wrote ${r.path}`);
      },
    );
  record
    .command("stop")
    .description("record the products and sign the finished link")
    .requiredOption("-n, --step-name <name>", "the step's name in the layout")
    .requiredOption("-k, --key <file>", "the functionary's private key (the one record start used)")
    .option("-t, --key-type <type>", "accepted for compatibility (read from the key file)")
    .option("-p, --products <paths...>", "files or directories to record")
    .option("--exclude <patterns...>", "fnmatch patterns not to record")
    .option("--base-path <dir>", "record paths relative to this directory")
    .option("-d, --metadata-directory <dir>", "where to write the link (default: here)")
    .option("--use-dsse", "write the link as a DSSE envelope")
    .option("--password <password>", "the key's password")
    .action(
      async (o: {
        stepName: string;
        key: string;
        products?: string[];
        exclude?: string[];
        basePath?: string;
        metadataDirectory?: string;
        useDsse?: boolean;
        password?: string;
      }) => {
        const r = await intotoRecordStop({
          name: o.stepName,
          signer: await loadInTotoSigner(o.key, o.password),
          ...(o.products ? { products: o.products } : {}),
          ...(o.exclude ? { excludes: o.exclude } : {}),
          ...(o.basePath ? { basePath: o.basePath } : {}),
          ...(o.metadataDirectory ? { metadataDirectory: o.metadataDirectory } : {}),
          ...(o.useDsse ? { useDsse: true } : {}),
          cwd: process.cwd(),
        });
        out.result({ link: r.path }, () => `wrote ${r.path}`);
      },
    );
  intoto
    .command("sign")
    .description("sign a layout or link, or verify its signatures (in-toto-sign)")
    .requiredOption("-f, --file <file>", "the layout or link")
    .option("-k, --key <files...>", "private keys to sign with (or, with --verify, public keys)")
    .option(
      "-t, --key-type <type>",
      "rsa, ecdsa or ed25519 (read from the key file; accepted for compatibility)",
    )
    .option(
      "-o, --output <file>",
      "where to write (default: a link's NAME.KEYID8.link, a layout in place)",
    )
    .option("-a, --append", "keep the signatures already there")
    .option("--verify", "check that every key given has signed the file")
    .option("--password <password>", "the keys' password")
    .action(
      async (o: {
        file: string;
        key?: string[];
        output?: string;
        append?: boolean;
        verify?: boolean;
        password?: string;
      }) => {
        if (!o.key?.length) {
          throw new UsageError("CLI_USAGE", "give the keys with -k KEY...");
        }
        const r = o.verify
          ? await intotoSign({ file: o.file, verifyKeys: await loadInTotoPublicKeys(o.key) })
          : await intotoSign({
              file: o.file,
              signers: await Promise.all(o.key.map((k) => loadInTotoSigner(k, o.password))),
              ...(o.output ? { output: o.output } : {}),
              ...(o.append ? { append: true } : {}),
            });
        out.result(r, () =>
          r.verified ? `${o.file} is signed by ${r.verified.join(", ")}` : `wrote ${r.output}`,
        );
      },
    );
  intoto
    .command("layout")
    .description("layouts")
    .command("create")
    .description("make a layout from its YAML description, signed by the owner (docs/intoto.md)")
    .requiredOption("-f, --file <yaml>", "the description")
    .requiredOption("-k, --key <files...>", "the owners' private keys")
    .requiredOption("-o, --output <file>", "the signed layout to write")
    .option("--use-dsse", "write it as a DSSE envelope")
    .option("--password <password>", "the keys' password")
    .action(
      async (o: {
        file: string;
        key: string[];
        output: string;
        useDsse?: boolean;
        password?: string;
      }) => {
        const r = await createLayoutFile({
          description: o.file,
          signers: await Promise.all(o.key.map((k) => loadInTotoSigner(k, o.password))),
          output: o.output,
          ...(o.useDsse ? { useDsse: true } : {}),
        });
        out.result(
          { output: r.output, expires: r.layout.expires, steps: r.layout.steps.map((s) => s.name) },
          () =>
            `wrote ${r.output}: steps ${r.layout.steps.map((s) => s.name).join(", ")}; expires ${r.layout.expires}`,
        );
      },
    );
  intoto
    .command("verify")
    .description("verify a supply chain against its layout (in-toto-verify)")
    .requiredOption("-l, --layout <file>", "the signed layout")
    .requiredOption(
      "-k, --layout-keys <files...>",
      "the layout owners' public keys (every one must have signed it)",
    )
    .option("-d, --link-dir <dir>", "where the links are (default: here)")
    .option(
      "--image <ref>",
      "record the result as a signed verification summary (SLSA VSA) in this image's evidence",
    )
    .action(
      async (
        o: { layout: string; layoutKeys: string[]; linkDir?: string; image?: string },
        cmd: Command,
      ) => {
        const layout = await readFile(o.layout).catch((e: NodeJS.ErrnoException) => {
          throw new UsageError(
            "CLI_USAGE",
            `cannot read the layout ${o.layout}: ${e.code ?? e.message}`,
          );
        });
        const r = intotoVerify({
          layout: new Uint8Array(layout),
          layoutName: o.layout,
          layoutKeys: await loadInTotoPublicKeys(o.layoutKeys),
          ...(o.linkDir ? { linkDir: o.linkDir } : {}),
          cwd: process.cwd(),
        });
        out.result(r, () =>
          [
            ...r.warnings.map((w) => `warning: ${w}`),
            r.passed
              ? `PASSED: ${r.steps.map((s) => s.name).join(", ")}${r.inspections.length ? `; inspections ${r.inspections.map((i) => i.name).join(", ")}` : ""}${r.finalProducts ? `; final products ${Object.keys(r.finalProducts).join(", ")}` : ""}`
              : `FAILED at ${r.failure?.where}: ${r.failure?.reason}`,
          ].join("\n"),
        );
        if (o.image) {
          const rec = await recordInTotoVerification(context(cmd), o.image, {
            result: r,
            layout: new Uint8Array(layout),
            layoutName: o.layout,
            linkDir: resolve(o.linkDir ?? "."),
          });
          out.progress(`recorded the verification summary ${rec.attestation} for ${rec.image}`);
        }
        if (!r.passed) {
          exitCode = ExitCode.Failed;
        }
      },
    );

  // --- server and its tokens ----------------------------------------------------------------------
  program
    .command("serve")
    .description(
      "serve the evidence API, the Kubernetes admission webhook and metrics over this store (docs/server.md)",
    )
    .option("--listen <host:port>", "address to listen on", "127.0.0.1:8080")
    .option("--tls-cert <file>", "PEM certificate (with --tls-key: serve HTTPS)")
    .option("--tls-key <file>", "PEM private key")
    .option("--rate-limit <n>", "requests per second per token", "1000")
    .action(
      async (
        o: { listen: string; tlsCert?: string; tlsKey?: string; rateLimit: string },
        cmd: Command,
      ) => {
        if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
          throw new UsageError("CLI_USAGE", "--tls-cert and --tls-key go together");
        }
        const rate = Number(o.rateLimit);
        if (!(rate > 0)) {
          throw new UsageError("CLI_USAGE", `--rate-limit ${o.rateLimit} is not a positive number`);
        }
        const c = context(cmd);
        const srv = await startServer(c, {
          listen: o.listen,
          rateLimit: rate,
          ...(o.tlsCert && o.tlsKey ? { tlsCert: o.tlsCert, tlsKey: o.tlsKey } : {}),
        });
        out.progress(`serving on ${srv.url} (GET ${srv.url}/openapi.json)`);
        process.stdout.write(`${JSON.stringify({ listening: srv.url })}\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            srv.close().then(resolve, resolve);
          };
          process.once("SIGTERM", stop);
          process.once("SIGINT", stop);
        });
      },
    );
  const tokenCmd = program.command("token").description("API tokens of the server");
  tokenCmd
    .command("create")
    .description("make a token; its secret is printed once and stored only as a hash")
    .requiredOption("--role <role>", "reader, writer or admin")
    .option("--name <name>", "what the token is for", "token")
    .option("--expires <date>", "expiry (ISO 8601)")
    .action(async (o: { role: string; name: string; expires?: string }, cmd: Command) => {
      const r = await createToken(context(cmd), {
        name: o.name,
        role: o.role,
        ...(o.expires ? { expires: o.expires } : {}),
      });
      out.result(r, () => r.token);
    });
  tokenCmd
    .command("list")
    .description("every token, with its role and state (never a secret)")
    .action(async (_o: unknown, cmd: Command) => {
      const r = await listTokens(context(cmd));
      out.result(r, () =>
        r.length === 0
          ? "no tokens"
          : r
              .map(
                (t) =>
                  `${t.id}  ${t.role.padEnd(6)}  ${t.name}  created ${t.created}${t.expires ? `  expires ${t.expires}` : ""}${t.revoked ? `  REVOKED ${t.revoked}` : ""}`,
              )
              .join("\n"),
      );
    });
  tokenCmd
    .command("revoke")
    .description("revoke a token (every server sharing the store refuses it from its next request)")
    .argument("<id>", "the token's id (token list)")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await revokeToken(context(cmd), id);
      out.result({ revoked: id }, () => `revoked token ${id}`);
    });

  // --- build ---------------------------------------------------------------------------------------
  program
    .command("build")
    .description(
      "hermetic, reproducible image build from a spec (cleanimg.yaml), with signed provenance and evidence",
    )
    .option("--image <ref>", "name to tag in the local store (default: the spec's image)")
    .option("--spec <file>", "the build spec", "cleanimg.yaml")
    .option("--offline", "no network at all: the lock file and the .deb cache must be complete")
    .option(
      "--intoto-links <dir>",
      "in-toto links of the CI steps this build ran under: kept and named in the provenance",
    )
    .action(
      async (
        o: { image?: string; spec: string; offline?: boolean; intotoLinks?: string },
        cmd: Command,
      ) => {
        const r = await buildImage(context(cmd), {
          spec: o.spec,
          ...(o.image ? { image: o.image } : {}),
          ...(o.offline ? { offline: true } : {}),
          ...(o.intotoLinks ? { intotoLinks: o.intotoLinks } : {}),
        });
        out.result(r, () =>
          [
            `built ${r.image.name} ${r.image.digest} (${r.packages} Debian packages, SOURCE_DATE_EPOCH ${r.epoch})`,
            `reproducible: rebuilt in a fresh root and matched (${r.reproducible.digests[1]})`,
            `SLSA Build L${r.slsa.level} (${r.slsa.spec}): provenance generated and signed by this local build`,
            ...(r.source
              ? [
                  `source: git commit ${r.source.commit}${r.source.dirty ? " (uncommitted changes)" : ""}, commit signature ${r.source.signature}`,
                ]
              : ["source: not a git repository"]),
            `lock file: ${r.lockPath}${r.lockWritten ? " (written)" : " (used as is)"}`,
            "produced, each stored by digest:",
            ...r.produced.map((p) => `  ${p.what}: ${p.digest}`),
          ].join("\n"),
        );
      },
    );

  // --- policy --------------------------------------------------------------------------------------
  const policyCmd = program.command("policy").description("policies as code (CEL; Rego with OPA)");
  const showDecision = (d: PolicyDecision): string[] =>
    d.rules.map((r) =>
      r.result === "pass"
        ? `  PASS  ${r.name}`
        : `  ${r.result.toUpperCase()}  ${r.name}: requires ${r.message}${r.error ? ` (error: ${r.error})` : ""}${Object.entries(
            r.observed ?? {},
          )
            .map(([k, v]) => `\n        looked at ${k} = ${JSON.stringify(v)}`)
            .join("")}`,
    );
  policyCmd
    .command("eval")
    .description(
      "evaluate a policy against an image's verified evidence; the decision joins its chain",
    )
    .argument("[image]", "image location")
    .option("--image <ref>", "image to evaluate")
    .option(
      "--policy <file>",
      "a CEL policy (YAML/JSON) or a Rego file (needs opa); default: the built-in policy",
    )
    .option("--query <q>", "Rego query whose value is the decision", "data.deployment.allow")
    .action(
      async (
        arg: string | undefined,
        o: { image?: string; policy?: string; query: string },
        cmd: Command,
      ) => {
        const ref = o.image ?? arg;
        if (!ref) {
          throw new UsageError("CLI_USAGE", "which image? give IMAGE or --image REF");
        }
        const r = await evaluateImagePolicy(context(cmd), ref, {
          ...(o.policy ? { policy: o.policy } : {}),
          regoQuery: o.query,
        });
        out.result(r, () =>
          [
            `policy ${r.policy.name} (${r.policy.engine}, ${r.policy.digest}) on ${ref} ${r.image.digest}: ${r.decision.allow ? "ALLOW" : "DENY"}`,
            ...showDecision(r.decision),
            ...(r.link ? [`decision recorded as the policy link ${r.link.attestation}`] : []),
          ].join("\n"),
        );
        if (!r.decision.allow) {
          exitCode = ExitCode.Failed;
        }
      },
    );
  policyCmd
    .command("input")
    .description("print the policy input document of an image (what rules can rely on)")
    .argument("[image]", "image location")
    .option("--image <ref>", "image")
    .action(async (arg: string | undefined, o: { image?: string }, cmd: Command) => {
      const ref = o.image ?? arg;
      if (!ref) {
        throw new UsageError("CLI_USAGE", "which image? give IMAGE or --image REF");
      }
      const r = await policyInput(context(cmd), ref);
      process.stdout.write(`${JSON.stringify(r.input, null, 2)}\n`);
    });
  policyCmd
    .command("test")
    .description(
      "run a policy's unit tests: fixtures of {input, params?, expect: {allow, failing?}}",
    )
    .option("--policy <file>", "the CEL policy under test (default: the built-in policy)")
    .argument("<fixtures...>", "fixture JSON files")
    .action(async (fixtures: string[], o: { policy?: string }) => {
      const { policy } = await loadPolicy(o.policy);
      const results: { fixture: string; ok: boolean; allow: boolean; failing: string[] }[] = [];
      for (const f of fixtures) {
        const fx = JSON.parse(await readFile(f, "utf8")) as {
          input: Record<string, unknown>;
          params?: Record<string, unknown>;
          expect: { allow: boolean; failing?: string[] };
        };
        const d = evaluatePolicy(policy, fx.input, fx.params ?? {});
        const failing = d.rules
          .filter((r) => r.result !== "pass")
          .map((r) => r.name)
          .sort();
        const ok =
          d.allow === fx.expect.allow &&
          (fx.expect.failing === undefined ||
            JSON.stringify(failing) === JSON.stringify([...fx.expect.failing].sort()));
        results.push({ fixture: f, ok, allow: d.allow, failing });
      }
      out.result(results, () =>
        results
          .map(
            (r) =>
              `${r.ok ? "ok  " : "FAIL"} ${r.fixture}: ${r.allow ? "allow" : `deny (${r.failing.join(", ")})`}`,
          )
          .join("\n"),
      );
      if (results.some((r) => !r.ok)) {
        exitCode = ExitCode.Failed;
      }
    });

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
    .option("-o, --output <file>", "write the report to a file (default: standard output)")
    .option("--format <format>", "json | oscal-ar | oscal-poam | html | md", "json")
    .action(
      async (
        framework: string,
        o: { image?: string; output?: string; format: string },
        cmd: Command,
      ) => {
        if (!o.image) {
          throw new UsageError("CLI_USAGE", "which image? give --image REF");
        }
        if (!["json", "oscal-ar", "oscal-poam", "html", "md"].includes(o.format)) {
          throw new UsageError("CLI_USAGE", `unknown report format "${o.format}"`, {
            hint: "json, oscal-ar, oscal-poam, html or md",
          });
        }
        const { report } = await complianceReport(context(cmd), o.image, framework);
        const text =
          o.format === "oscal-ar"
            ? renderOscalAssessmentResults(report, `${TOOL.name} ${TOOL.version}`)
            : o.format === "oscal-poam"
              ? renderOscalPoam(report, `${TOOL.name} ${TOOL.version}`)
              : o.format === "html"
                ? renderReportHtml(report)
                : o.format === "md"
                  ? renderReportMarkdown(report)
                  : `${JSON.stringify(report, null, 2)}\n`;
        if (o.output) {
          await writeFileAtomic(o.output, text);
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
      const c = await importCatalog(context(cmd), file, o.name);
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
        const r = await recordDeployment(context(cmd), ref, {
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

  // --- the chain: verify, compliance status, fleet, audit trail, transparency log -------------------
  program
    .command("verify")
    .description(
      "walk an image's evidence chain and verify every link (signature, log, references)",
    )
    .argument("[image]", "image location")
    .option("--image <ref>", "image to verify")
    .action(async (arg: string | undefined, o: { image?: string }, cmd: Command) => {
      const ref = o.image ?? arg;
      if (!ref) {
        throw new UsageError("CLI_USAGE", "which image? give IMAGE or --image REF");
      }
      const c = context(cmd);
      // a bare digest is the image of that digest here: its evidence, never a registry lookup
      const { digest } = await resolveSubject(c, ref);
      const found = await discoverEvidence(c, ref, digest);
      if (found) {
        out.info(
          `pulled ${found.imported} verified evidence artifacts from the registry (${found.rejected} rejected)`,
        );
      }
      const r = await verifyChain(c, digest);
      const nothing = r.links.every((l) => l.state === "not-recorded");
      out.result(r, () =>
        [
          `${ref} ${r.image}`,
          ...r.links.map(
            (l) =>
              `  ${l.stage.padEnd(11)} ${l.state.toUpperCase().padEnd(12)} ${
                l.state === "valid"
                  ? `${l.attestation}  signed by ${l.signers?.map((k) => k.slice(0, 16)).join(", ")}  log #${l.logIndex}  ${l.created}`
                  : (l.reason ?? (l.state === "not-recorded" ? "no evidence of this stage" : ""))
              }`,
          ),
          nothing
            ? "no evidence is recorded for this image: nothing to verify"
            : r.intact
              ? "chain intact"
              : `chain BROKEN at ${r.firstBroken}`,
        ].join("\n"),
      );
      // a chain with no link is not "intact": there is nothing it could show
      if (!r.intact || nothing) {
        exitCode = ExitCode.Failed;
      }
    });

  program
    .command("status")
    .description(
      "compliance check list of an image (--compliance-status --image REF), or the fleet table (--all)",
    )
    .argument("[image]", "image location")
    .option("--image <ref>", "image to check")
    .option("--all", "every image with evidence in the store")
    .option(
      "--verify",
      "with --all: verify every image's signature and chain (only a verified row is signed or ready)",
    )
    .action(
      async (
        arg: string | undefined,
        o: { image?: string; all?: boolean; verify?: boolean },
        cmd: Command,
      ) => {
        const ref = o.image ?? arg;
        const c = context(cmd);
        if (o.all || !ref) {
          const chains = new ChainCache(c);
          const rows = await fleetStatus(c, o.verify ? { verify: (d) => chains.verify(d) } : {});
          out.result(rows, () => {
            const head = ["IMAGE", "VERSION", "SLSA", "SBOM", "VEX", "SIGNATURE", "READINESS"];
            if (o.verify) {
              head.push("CHAIN");
            }
            const cells = rows.map((r) => [
              r.image,
              r.version,
              r.slsa,
              r.sbom,
              r.vex,
              r.signature,
              r.ready,
              ...(o.verify ? [r.chain] : []),
            ]);
            return rows.length === 0
              ? "no images with evidence in the store"
              : [
                  ...formatTable(head, cells),
                  "",
                  o.verify
                    ? "every image signature and chain verified (signatures, transparency log, references; each link the newest the audit trail records)"
                    : "from the store's index, NOT verified: no signature or chain was checked, so nothing is shown signed or ready; --verify verifies every image signature and chain, verify --image REF one",
                ].join("\n");
          });
          if (rows.some((r) => r.ready !== "ready")) {
            exitCode = ExitCode.Failed;
          }
          return;
        }
        const s = await complianceStatus(c, ref);
        out.result(s, () =>
          [
            `${ref} ${s.image.digest}`,
            ...s.checks.map(
              (k) =>
                `  ${k.result.padEnd(7)} ${k.title}: ${k.detail}${k.evidence.length ? `\n          evidence: ${k.evidence.join(" ")}` : ""}`,
            ),
            s.compliant
              ? "compliant: every check passes"
              : "NOT compliant: see the FAIL and UNKNOWN lines",
          ].join("\n"),
        );
        if (!s.compliant) {
          exitCode = ExitCode.Failed;
        }
      },
    );

  program
    .command("audit")
    .description(
      "audit trail summary for a date range (--audit-trail --from D --to D); `audit verify` checks the log",
    )
    .argument("[action]", "verify: prove the audit log is intact")
    .option("--from <date>", "events at or after (ISO 8601)")
    .option("--to <date>", "events before (ISO 8601; a date alone includes that day)")
    .option("--details", "list every event")
    .action(
      async (
        action: string | undefined,
        o: { from?: string; to?: string; details?: boolean },
        cmd: Command,
      ) => {
        const c = context(cmd);
        if (action === "verify") {
          const v = await verifyAuditTrail(c);
          out.result(v, () =>
            v.intact
              ? `audit log intact: ${v.events} events, head ${v.head ?? "(empty)"}`
              : [
                  `audit log BROKEN:`,
                  ...v.problems.map((p) => `  event #${p.seq}: ${p.reason}`),
                ].join("\n"),
          );
          if (!v.intact) {
            exitCode = ExitCode.Failed;
          }
          return;
        }
        if (action !== undefined) {
          throw new UsageError("CLI_USAGE", `unknown audit action "${action}"`, {
            hint: "audit verify, or audit --from D --to D",
          });
        }
        const from = o.from ? isoDate(o.from, "--from") : undefined;
        const to = o.to ? endOfDay(o.to) : undefined;
        if (from && to && from >= to) {
          throw new UsageError("CLI_USAGE", `--from ${o.from} is not before --to ${o.to}`, {
            hint: "the range is --from (inclusive) to the end of --to",
          });
        }
        const { summary: s, events } = await auditSummary(c, from, to);
        out.result(o.details ? { summary: s, events } : s, () =>
          [
            `Audit trail ${o.from ?? "(start)"} .. ${o.to ?? "(now)"}: ${s.events} events; log ${s.log.intact ? "verified intact" : `BROKEN (${s.log.problems.length} problems: run cleanimg-init audit verify)`}`,
            `- ${s.buildsExecuted} builds executed`,
            `- ${s.provenancesGenerated} SLSA provenances generated (SLSA v1.0 Build track)`,
            `- ${s.buildsWithoutProvenance} builds without provenance${s.buildsExecuted ? ` (${Math.round((100 * (s.buildsExecuted - s.buildsWithoutProvenance)) / s.buildsExecuted)}% with provenance)` : ""}`,
            `- ${s.deployedWithoutApproval} images deployed without approval (${s.deployments} deployments recorded)`,
            `- ${s.imagesScanned === 0 && s.assessmentGaps.length === 0 ? "no image was scanned in this window: no vulnerability assessment to count gaps in" : `${s.assessmentGaps.length} vulnerability assessment gaps (${s.imagesScanned} images scanned, ${s.imagesAssessed} with every package assessed and a VEX)`}${s.assessmentGaps.map((g) => `\n    ${g.name ?? g.image}: ${g.reason}`).join("")}`,
            `- by action: ${
              Object.entries(s.counts)
                .map(([k, v]) => `${k} ${v}`)
                .join(", ") || "none"
            }`,
            ...(o.details
              ? events.map(
                  (e) =>
                    `  #${e.seq} ${e.time} ${e.actor} ${e.action} ${e.subjectName ?? e.subject ?? ""} ${Object.entries(
                      e.evidence,
                    )
                      .map(([k, v]) => `${k}=${v}`)
                      .join(" ")}`,
                )
              : []),
          ].join("\n"),
        );
        if (!s.log.intact) {
          exitCode = ExitCode.Failed;
        }
      },
    );

  const tlog = program.command("tlog").description("the embedded transparency log");
  tlog
    .command("verify")
    .description("re-derive the log from its entries; with --checkpoint, prove it only grew since")
    .option("--checkpoint <file>", "an earlier signed checkpoint (from tlog checkpoint)")
    .action(async (o: { checkpoint?: string }, cmd: Command) => {
      const earlier = o.checkpoint
        ? await readFile(o.checkpoint, "utf8").catch((e: NodeJS.ErrnoException) => {
            throw new UsageError(
              "CLI_USAGE",
              `cannot read ${o.checkpoint}: ${e.code ?? e.message}`,
            );
          })
        : undefined;
      const v = await verifyTransparencyLog(context(cmd), earlier);
      const ok = v.problems.length === 0 && (v.consistentWith?.ok ?? true);
      out.result(v, () =>
        [
          `${v.origin}: ${v.size} entries, ${v.problems.length === 0 ? "every checkpoint re-derived and verified" : "PROBLEMS"}`,
          ...v.problems.map((p) => `  entry ${p.index}: ${p.reason}`),
          ...(v.consistentWith
            ? [
                v.consistentWith.ok
                  ? `consistent with the checkpoint of size ${v.consistentWith.size}: the log only grew`
                  : `NOT consistent with the given checkpoint: ${v.consistentWith.reason}`,
              ]
            : []),
        ].join("\n"),
      );
      if (!ok) {
        exitCode = ExitCode.Failed;
      }
    });
  tlog
    .command("checkpoint")
    .description("print the latest signed checkpoint (C2SP signed note)")
    .action(async (_o: unknown, cmd: Command) => {
      const v = await verifyTransparencyLog(context(cmd));
      if (!v.checkpoint) {
        throw new UsageError("CLI_USAGE", "the log is empty: nothing has been signed yet");
      }
      out.result(
        { origin: v.origin, size: v.size, checkpoint: v.checkpoint },
        () => v.checkpoint?.trimEnd() ?? "",
      );
    });

  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      ) {
        exitCode = ExitCode.Ok;
      } else {
        exitCode = ExitCode.Usage;
      }
    } else if (isToolError(e)) {
      out.error(e.message, e.hint, e.code);
      if (pre.debug && e.stack) {
        process.stderr.write(`${e.stack}\n`);
      }
      exitCode = exitCodeFor(e.code);
    } else {
      const err = e as Error;
      out.error(
        err?.message ?? String(e),
        "this looks like a bug; rerun with --debug and report it",
        "INTERNAL",
      );
      if (pre.debug && err?.stack) {
        process.stderr.write(`${err.stack}\n`);
      }
      exitCode = ExitCode.Operational;
    }
  } finally {
    await ctx?.close();
  }
  return exitCode;
}

/** A numeric option: a whole number of at least 0, or a usage error. */
function wholeNumber(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`"${v}" is not a whole number`);
  }
  return n;
}

/** --to: a bare date means the end of that day. */
function endOfDay(s: string): string {
  const t = requireIsoDate(s, "--to");
  return new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? t + 86_400_000 : t).toISOString();
}

function isoDate(s: string, flag: string): string {
  return new Date(requireIsoDate(s, flag)).toISOString();
}

function typeChar(t: string): string {
  switch (t) {
    case "dir":
      return "d";
    case "symlink":
      return "l";
    case "hardlink":
      return "h";
    case "char":
      return "c";
    case "block":
      return "b";
    case "fifo":
      return "p";
    default:
      return "-";
  }
}

function modeString(mode: number): string {
  const rwx = (m: number, special: number, ch: string): string =>
    `${m & 4 ? "r" : "-"}${m & 2 ? "w" : "-"}${special ? (m & 1 ? ch : ch.toUpperCase()) : m & 1 ? "x" : "-"}`;
  return (
    rwx((mode >> 6) & 7, mode & 0o4000, "s") +
    rwx((mode >> 3) & 7, mode & 0o2000, "s") +
    rwx(mode & 7, mode & 0o1000, "t")
  );
}

// Entry point when executed directly (the bin script).
const invoked = process.argv[1] ?? "";
if (/(?:cleanimg(?:-init)?|main\.[jt]s)$/.test(invoked)) {
  run(process.argv, process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`cleanimg-init: fatal: ${String(e)}\n`);
      process.exitCode = ExitCode.Operational;
    },
  );
}

export type { Output };

function vexFormatOf(f: string): VexFormat {
  if (!(VEX_FORMATS as readonly string[]).includes(f)) {
    throw new UsageError("CLI_USAGE", `unknown VEX format "${f}"`, {
      hint: "openvex, csaf or cyclonedx",
    });
  }
  return f as VexFormat;
}

async function readVexFiles(
  names: readonly string[],
): Promise<{ name: string; bytes: Uint8Array }[]> {
  return Promise.all(
    names.map(async (name) => ({
      name,
      bytes: new Uint8Array(
        await readFile(name).catch((e: NodeJS.ErrnoException) => {
          throw new ToolError(
            "VEX_INPUT_UNREADABLE",
            `cannot read VEX document ${name}: ${e.code ?? e.message}`,
            { hint: "give the path of an OpenVEX, CSAF or CycloneDX VEX file" },
          );
        }),
      ),
    })),
  );
}

function noFindingsNote(output: string): string {
  return `no findings, so no VEX statements: OpenVEX needs at least one, nothing was written to ${output}`;
}

function wroteVexNote(vex: readonly VexStatement[], format: VexFormat, output: string): string {
  const na = vex.filter((v) => v.status === "not_affected").length;
  return `wrote ${vex.length} ${format} VEX statements to ${output} (${na} not_affected, each with its evidence)`;
}
