import type { Command } from "commander";
import { app } from "./app.js";
import type { CliDeps } from "./deps.js";

/** Registers the build commands. */
export function registerBuild(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
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
        const r = await app().buildImage(context(cmd), {
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
}
