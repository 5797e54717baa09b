import type { Command, Option } from "commander";
import type { AppContext, parsePlatform } from "../../app/index.js";
import type { Output } from "../output.js";

/** What every command module is given by main.ts: the output, the app context and the exit. */
export interface CliDeps {
  readonly out: Output;
  /** cleanimg-init or cleanimg, as invoked */
  readonly programName: string;
  /** the environment the command line was run with */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** the app context, created on first use from the global options */
  context(cmd: Command): AppContext;
  /** --platform, shared by the commands that read images */
  readonly platformOption: Option;
  platformOf(o: { platform?: string }): { platform?: ReturnType<typeof parsePlatform> };
  /** marks the answer negative: the command exits 1 (ExitCode.Failed) */
  fail(): void;
}
