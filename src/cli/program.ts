import { basename } from "node:path";
import { Command, CommanderError, Option } from "commander";
import type { AppContext } from "../app/index.js";
import { isToolError } from "../core/errors.js";
import { app, loadApp } from "./commands/app.js";
import { registerBuild } from "./commands/build.js";
import { registerChain } from "./commands/chain.js";
import { registerDb } from "./commands/db.js";
import type { CliDeps } from "./commands/deps.js";
import { registerEvidence } from "./commands/evidence.js";
import { registerImage } from "./commands/image.js";
import { registerInToto } from "./commands/intoto.js";
import { registerKeys } from "./commands/keys.js";
import { registerPolicy } from "./commands/policy.js";
import { registerReport } from "./commands/report.js";
import { registerSbom } from "./commands/sbom.js";
import { registerScan } from "./commands/scan.js";
import { registerServe } from "./commands/serve.js";
import { registerVersion } from "./commands/version.js";
import { registerVex } from "./commands/vex.js";
import { rewriteDesignForm } from "./design-forms.js";
import { ExitCode, exitCodeFor } from "./exit-codes.js";
import { createOutput, type Output } from "./output.js";

interface GlobalOptions {
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
  home?: string;
  insecure?: boolean;
  store?: string;
}

import { VERSION } from "./commands/common.js";

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

/** Reports an error that ended a command, and returns the exit code it stands for. */
function reportError(e: unknown, out: ReturnType<typeof createOutput>, debug: boolean): number {
  if (e instanceof CommanderError) {
    return e.code === "commander.helpDisplayed" ||
      e.code === "commander.version" ||
      e.code === "commander.help"
      ? ExitCode.Ok
      : ExitCode.Usage;
  }
  if (isToolError(e)) {
    out.error(e.message, e.hint, e.code);
    if (debug && e.stack) {
      process.stderr.write(`${e.stack}\n`);
    }
    return exitCodeFor(e.code);
  }
  const err = e as Error;
  out.error(
    err?.message ?? String(e),
    "this looks like a bug; rerun with --debug and report it",
    "INTERNAL",
  );
  if (debug && err?.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
  return ExitCode.Operational;
}

/** Every command group, registered on the program with the shared dependencies. */
const COMMAND_GROUPS = [
  registerImage,
  registerSbom,
  registerScan,
  registerDb,
  registerVex,
  registerKeys,
  registerVersion,
  registerEvidence,
  registerInToto,
  registerServe,
  registerBuild,
  registerPolicy,
  registerReport,
  registerChain,
] as const;

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
    ctx ??= app().createAppContext({
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
    .option("--insecure", "allow plain HTTP to loopback registries and feed mirrors")
    .option(
      "--store <url>",
      "evidence store: postgres://… (default $CLEANIMG_STORE, else the embedded SQLite store)",
    )
    .addHelpText("after", EXIT_HELP)
    // the application is loaded only once a command is about to run (docs/adr/0014)
    .hook("preAction", async () => {
      await loadApp();
    })
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
  const deps: CliDeps = {
    out,
    env,
    programName,
    context,
    platformOption,
    platformOf: (o) => (o.platform ? { platform: app().parsePlatform(o.platform) } : {}),
    fail: () => {
      exitCode = ExitCode.Failed;
    },
  };

  for (const register of COMMAND_GROUPS) {
    register(program, deps);
  }

  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    exitCode = reportError(e, out, pre.debug);
  } finally {
    await ctx?.close();
  }
  return exitCode;
}

export type { Output };
