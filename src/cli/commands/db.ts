import type { Command } from "commander";
import type { FeedFamily } from "../../app/index.js";
import { ToolError, UsageError } from "../../core/errors.js";
import { readInput } from "../../core/input.js";
import { app } from "./app.js";
import { inputFiles, outputFile } from "./common.js";
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
    .argument("<path...>", "files or directories, or a signed export (db export)", inputFiles)
    .option("--key <file...>", "public key(s) that may have signed a database export")
    .action(async (paths: string[], o: { key?: string[] }, cmd: Command) => {
      if (!o.key?.length) {
        // a signed export is verified with its exporter's key or not imported at all
        for (const p of paths) {
          if (await app().isExportBundle(p)) {
            throw new UsageError(
              "CLI_USAGE",
              `--key is required for verification: ${p} is a signed database export`,
            );
          }
        }
      }
      const keys = await Promise.all(
        (o.key ?? []).map(async (k) =>
          app().loadPublicKey((await readInput(k, "the key")).toString("utf8")),
        ),
      );
      const r = await app().importVulnData(context(cmd), paths, { keys });
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
  registerDbUpdate(db, deps);
  registerDbRegistry(db, deps);
  db.command("export")
    .description(
      "write the whole database as one signed file for an air-gapped machine (db import --key)",
    )
    .requiredOption("--key <file>", "private key to sign with (passphrase from $CLEANIMG_PASSWORD)")
    .requiredOption("-o, --output <file>", "the export file", outputFile)
    .action(async (o: { key: string; output: string }, cmd: Command) => {
      const signer = app().keySigner(
        app().loadPrivateKey(
          (await readInput(o.key, "the key")).toString("utf8"),
          env["CLEANIMG_PASSWORD"],
        ),
      );
      const r = await app().exportVulnDb(context(cmd), o.output, signer);
      out.result(
        r,
        () =>
          `wrote ${r.records} records (snapshot ${r.snapshot}) to ${r.output}, signed by ${r.keyid}`,
      );
    });
  db.command("status")
    .description("sources, record counts, dates and the current snapshot digest")
    .action(async (_o: unknown, cmd: Command) => {
      const r = app().vulnDbStatus(context(cmd));
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

/** `db update`: the one db command that uses the network. */
function registerDbUpdate(db: Command, deps: CliDeps): void {
  const { out, context } = deps;
  db.command("update")
    .description(
      "fetch the upstream feeds (OSV exports, the Debian security tracker, Alpine secdb, CISA KEV) and import what changed as one new snapshot; the only db command that uses the network",
    )
    .option(
      "--source <name...>",
      "feeds to fetch: ids (osv:Debian, kev), families (osv, debian, alpine, kev) or prefixes (alpine:v3.20); all by default",
    )
    .option(
      "--base-url <family=url...>",
      "a mirror for a family, e.g. osv=https://mirror.example/osv",
    )
    .option("--timeout <seconds>", "per-feed limit on the whole download", "600")
    .option("--max-bytes <n>", "per-feed limit on the body", String(2 * 1024 ** 3))
    .action(
      async (
        o: {
          source?: string[];
          baseUrl?: string[];
          insecure?: boolean;
          timeout: string;
          maxBytes: string;
        },
        cmd: Command,
      ) => {
        const baseUrls: Partial<Record<FeedFamily, string>> = {};
        for (const b of o.baseUrl ?? []) {
          const m = /^(osv|debian|alpine|kev)=(.+)$/.exec(b);
          if (!m) {
            throw new UsageError(
              "CLI_USAGE",
              `--base-url ${b}: expected FAMILY=URL with FAMILY one of osv, debian, alpine, kev`,
            );
          }
          baseUrls[m[1] as FeedFamily] = m[2] as string;
        }
        const timeout = Number(o.timeout);
        const maxBytes = Number(o.maxBytes);
        if (!(timeout > 0) || !(Number.isInteger(maxBytes) && maxBytes > 0)) {
          throw new UsageError("CLI_USAGE", "--timeout and --max-bytes take positive numbers");
        }
        const shown = new Map<string, number>();
        const r = await app().updateVulnDb(context(cmd), {
          ...(o.source ? { sources: o.source } : {}),
          baseUrls,
          // the global --insecure: plain http to a loopback mirror, as for registries
          insecure: cmd.optsWithGlobals<{ insecure?: boolean }>().insecure ?? false,
          timeoutMs: timeout * 1000,
          maxBytes,
          onProgress: (f, bytes, total) => {
            // a line per 16 MiB (or the end), not per chunk
            const step = Math.floor(bytes / (16 * 1024 ** 2));
            if (step !== (shown.get(f.id) ?? -1) || bytes === total) {
              shown.set(f.id, step);
              out.progress(
                `${f.id}: ${(bytes / 1024 ** 2).toFixed(1)} MiB${total ? ` of ${(total / 1024 ** 2).toFixed(1)} MiB (${Math.floor((100 * bytes) / total)}%)` : ""}`,
              );
            }
          },
        });
        out.issues(r.issues.filter((i) => i.code !== "VULN_FEED_FAILED"));
        out.result(r, () =>
          [
            ...r.feeds.map(
              (f) =>
                `${f.feed.padEnd(24)} ${f.state === "updated" ? `updated (${f.bytes} bytes)` : f.state === "not-modified" ? "not modified" : `FAILED: ${f.reason}`}`,
            ),
            ...r.sources.map(
              (s) =>
                `${s.source.padEnd(24)} ${String(s.records).padStart(7)} records: ${s.added} added, ${s.changed} changed, ${s.unchanged} unchanged`,
            ),
            `snapshot ${r.snapshot}`,
          ].join("\n"),
        );
        const failed = r.feeds.filter((f) => f.state === "failed");
        if (failed.length) {
          throw new ToolError(
            "VULN_UPDATE_INCOMPLETE",
            `${failed.length} of ${r.feeds.length} feeds failed: ${failed.map((f) => f.feed).join(", ")}; the others were imported`,
            { hint: "rerun db update when the feed answers; its old data stays in use" },
          );
        }
      },
    );
}

/** `db push` / `db pull`: the signed export as an OCI artifact, for mirrors and air gaps. */
function registerDbRegistry(db: Command, deps: CliDeps): void {
  const { out, context, env } = deps;
  db.command("push")
    .description(
      "push the whole database, signed, to a registry as an OCI artifact (db pull reads it)",
    )
    .argument("<ref>", "HOST/REPO:TAG")
    .requiredOption("--key <file>", "private key to sign with (passphrase from $CLEANIMG_PASSWORD)")
    .action(async (ref: string, o: { key: string }, cmd: Command) => {
      const signer = app().keySigner(
        app().loadPrivateKey(
          (await readInput(o.key, "the key")).toString("utf8"),
          env["CLEANIMG_PASSWORD"],
        ),
      );
      const r = await app().pushVulnDb(context(cmd), ref, signer);
      out.result(
        r,
        () =>
          `pushed ${r.records} records (snapshot ${r.snapshot}) to ${r.ref}@${r.digest}, signed by ${r.keyid}`,
      );
    });
  db.command("pull")
    .description(
      "pull a database db push wrote and import it when it verifies with the publisher's key",
    )
    .argument("<ref>", "HOST/REPO:TAG or HOST/REPO@DIGEST")
    .option("--key <file...>", "public key(s) of the publisher (required)")
    .action(async (ref: string, o: { key?: string[] }, cmd: Command) => {
      if (!o.key?.length) {
        throw new UsageError(
          "CLI_USAGE",
          "--key is required: a pulled database is imported only when it verifies",
        );
      }
      const keys = await Promise.all(
        o.key.map(async (k) =>
          app().loadPublicKey((await readInput(k, "the key")).toString("utf8")),
        ),
      );
      const r = await app().pullVulnDb(context(cmd), ref, keys);
      out.result(r, () =>
        [
          ...r.bundles.map(
            (b) =>
              `verified ${b.path} (signed by ${b.signedBy.join(", ")}; snapshot ${b.snapshot})`,
          ),
          ...r.sources.map(
            (s) =>
              `${s.source.padEnd(16)} ${String(s.records).padStart(7)} records: ${s.added} added, ${s.changed} changed, ${s.unchanged} unchanged`,
          ),
          `snapshot ${r.snapshot}`,
        ].join("\n"),
      );
    });
}
