import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import {
  exportVulnDb,
  importVulnData,
  isExportBundle,
  keySigner,
  loadPrivateKey,
  loadPublicKey,
  vulnDbStatus,
} from "../../app/index.js";
import { UsageError } from "../../core/errors.js";
import type { CliDeps } from "./deps.js";

/** Registers the db commands. */
export function registerDb(program: Command, deps: CliDeps): void {
  const { out, context, env } = deps;
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
          if (await isExportBundle(p)) {
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
}
