import type { Command } from "commander";
import type { FleetRow } from "../../app/index.js";
import { UsageError } from "../../core/errors.js";
import { readInput } from "../../core/input.js";
import { type Column, columnsTable, FLEET_COLUMNS } from "../render/table.js";
import { app } from "./app.js";
import { inputFile, timeRange } from "./common.js";
import type { CliDeps } from "./deps.js";

/** Registers the chain commands. */
export function registerChain(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
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
      const { digest } = await app().resolveSubject(c, ref);
      const found = await app().discoverEvidence(c, ref, digest);
      if (found) {
        out.info(
          `pulled ${found.imported} verified evidence artifacts from the registry (${found.rejected} rejected)`,
        );
      }
      const r = await app().verifyChain(c, digest);
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
        deps.fail();
      }
    });
  registerStatus(program, deps);
  registerAudit(program, deps);
  registerTlog(program, deps);
}

function registerStatus(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
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
        if (o.all && ref) {
          throw new UsageError("CLI_USAGE", `--all and an image (${ref}) ask two questions`, {
            hint: "give an image for its check list, or --all for the fleet table",
          });
        }
        const c = context(cmd);
        if (o.all || !ref) {
          const chains = new (app().ChainCache)(c);
          const rows = await app().fleetStatus(
            c,
            o.verify ? { verify: (d) => chains.verify(d) } : {},
          );
          out.result(rows, () => {
            const columns: Column<FleetRow>[] = [
              ...FLEET_COLUMNS,
              ["READINESS", (r) => r.ready],
              ...(o.verify ? [["CHAIN", (r: FleetRow) => r.chain] as const] : []),
            ];
            return rows.length === 0
              ? "no images with evidence in the store"
              : [
                  ...columnsTable(rows, columns),
                  "",
                  o.verify
                    ? "every image signature and chain verified (signatures, transparency log, references; each link the newest the audit trail records)"
                    : "from the store's index, NOT verified: no signature or chain was checked, so nothing is shown signed or ready; --verify verifies every image signature and chain, verify --image REF one",
                ].join("\n");
          });
          if (rows.some((r) => r.ready !== "ready")) {
            deps.fail();
          }
          return;
        }
        const s = await app().complianceStatus(c, ref);
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
          deps.fail();
        }
      },
    );
}

function registerAudit(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
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
          const v = await app().verifyAuditTrail(c);
          out.result(v, () =>
            v.intact
              ? `audit log intact: ${v.events} events, head ${v.head ?? "(empty)"}`
              : [
                  `audit log BROKEN:`,
                  ...v.problems.map((p) => `  event #${p.seq}: ${p.reason}`),
                ].join("\n"),
          );
          if (!v.intact) {
            deps.fail();
          }
          return;
        }
        if (action !== undefined) {
          throw new UsageError("CLI_USAGE", `unknown audit action "${action}"`, {
            hint: "audit verify, or audit --from D --to D",
          });
        }
        const { from, to } = timeRange(o, true);
        const { summary: s, events } = await app().auditSummary(c, from, to);
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
          deps.fail();
        }
      },
    );
}

function registerTlog(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
  const tlog = program.command("tlog").description("the embedded transparency log");
  tlog
    .command("verify")
    .description("re-derive the log from its entries; with --checkpoint, prove it only grew since")
    .option("--checkpoint <file>", "an earlier signed checkpoint (from tlog checkpoint)", inputFile)
    .action(async (o: { checkpoint?: string }, cmd: Command) => {
      const earlier =
        o.checkpoint !== undefined
          ? (await readInput(o.checkpoint, "the checkpoint")).toString("utf8")
          : undefined;
      const v = await app().verifyTransparencyLog(context(cmd), earlier);
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
        deps.fail();
      }
    });
  tlog
    .command("checkpoint")
    .description("print the latest signed checkpoint (C2SP signed note)")
    .action(async (_o: unknown, cmd: Command) => {
      const v = await app().verifyTransparencyLog(context(cmd));
      if (!v.checkpoint) {
        throw new UsageError("CLI_USAGE", "the log is empty: nothing has been signed yet");
      }
      out.result(
        { origin: v.origin, size: v.size, checkpoint: v.checkpoint },
        () => v.checkpoint?.trimEnd() ?? "",
      );
    });
}
