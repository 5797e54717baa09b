import type { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { app } from "./app.js";
import type { CliDeps } from "./deps.js";

/** Registers the version commands. */
export function registerVersion(program: Command, deps: CliDeps): void {
  const { out } = deps;
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
          let n = 0;
          for await (const chunk of process.stdin) {
            buf += chunk;
            let nl = buf.indexOf("\n");
            while (nl >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              n++;
              if (line) {
                process.stdout.write(`${app().compareBatchLine(o.ecosystem, line, n)}\n`);
              }
              nl = buf.indexOf("\n");
            }
          }
          if (buf.trim()) {
            process.stdout.write(`${app().compareBatchLine(o.ecosystem, buf.trim(), n + 1)}\n`);
          }
          return;
        }
        if (a === undefined || b === undefined) {
          throw new UsageError("CLI_USAGE", "version compare needs two versions (or --batch)", {
            hint: "cleanimg-init version compare --ecosystem Debian 1.0-1 1.0-2",
          });
        }
        const r = app().compareVersionStrings(o.ecosystem, a, b);
        out.result({ a, b, ecosystem: o.ecosystem, cmp: r }, () => String(r));
      },
    );
}
