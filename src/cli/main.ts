#!/usr/bin/env node
import { TOOL } from "../app/names.js";
import { ExitCode } from "./exit-codes.js";
import type { Output } from "./program.js";

/**
 * The command line's entry point (the bin script). The program itself (program.ts) is loaded
 * from here, after one decision that must come first: with --debug, source maps are turned on
 * before any of the bundle's files is loaded, so every frame of a stack trace names its src/
 * line (scripts/bundle-cli.mjs writes the maps).
 */
export async function run(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  return (await import("./program.js")).run(argv, env);
}

const invoked = process.argv[1] ?? "";
const only = process.argv.length === 3 ? process.argv[2] : undefined;
if (!/(?:cleanimg(?:-init)?|main\.[jt]s)$/.test(invoked)) {
  // imported (the tests call run): nothing runs here
} else if (only === "--version" || only === "-V") {
  // what commander prints for it, without loading commander and the command definitions
  process.stdout.write(`${TOOL.version}\n`);
} else {
  if (process.argv.includes("--debug")) {
    process.setSourceMapsEnabled(true);
  }
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
