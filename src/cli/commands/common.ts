import { readFile } from "node:fs/promises";
import { InvalidArgumentError } from "commander";
import type { VexFormat, VexStatement } from "../../app/index.js";
import { TOOL } from "../../app/names.js";
import { requireIsoDate } from "../../core/dates.js";
import { ToolError, UsageError } from "../../core/errors.js";
import { app } from "./app.js";

/** Option parsers and messages shared by several commands. */

export const VERSION = TOOL.version;

/** A numeric option: a whole number of at least 0, or a usage error. */
export function wholeNumber(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`"${v}" is not a whole number`);
  }
  return n;
}

/** A file to write, named by an option: an empty name is a usage error, never standard output. */
export function outputFile(v: string): string {
  if (v.trim() === "") {
    throw new InvalidArgumentError(
      "an empty file name: give a path (or leave the option out where standard output is the default)",
    );
  }
  return v;
}

/** A directory to write, named by an argument: an empty name is a usage error, not the cwd. */
export function outputDirectory(v: string): string {
  if (v.trim() === "") {
    throw new InvalidArgumentError(
      "an empty directory name: give the path of a new or empty directory",
    );
  }
  return v;
}

/** A file to read, named by an option: an empty name is a usage error, never the default. */
export function inputFile(v: string): string {
  if (v.trim() === "") {
    throw new InvalidArgumentError("an empty file name: give a path, or leave the option out");
  }
  return v;
}

/** Files to read, named by a variadic argument or a repeatable option: none may be empty. */
export function inputFiles(v: string, previous: readonly string[] = []): string[] {
  return [...previous, inputFile(v)];
}

/** A limit option: a whole number of at least 1 (a limit of 0 would refuse everything). */
export function positiveWholeNumber(v: string): number {
  const n = wholeNumber(v);
  if (n < 1) {
    throw new InvalidArgumentError(`"${v}" is not a limit: give a whole number of at least 1`);
  }
  return n;
}

/**
 * A numeric option written as a plain decimal (`25`, `2.5`; no `Infinity`, `1e3`, `0x10`) that
 * lies in (`min`, `max`] when `exclusiveMin`, else in [`min`, `max`].
 * @throws UsageError CLI_USAGE naming the option and the range
 */
export function numberInRange(
  v: string,
  option: string,
  range: { readonly min: number; readonly max: number; readonly exclusiveMin?: boolean },
): number {
  const n = Number(v);
  const low = range.exclusiveMin ? n > range.min : n >= range.min;
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n) || !low || n > range.max) {
    const shown = v.length > 40 ? `${v.slice(0, 40)}…` : v;
    throw new UsageError(
      "CLI_USAGE",
      `${option} "${shown}" is not a number ${range.exclusiveMin ? `above ${range.min} and at most` : `from ${range.min} to`} ${range.max}`,
      { hint: `give ${option} a plain decimal number, at most ${range.max}` },
    );
  }
  return n;
}

/** --to: a bare date means the end of that day. */
export function endOfDay(s: string): string {
  const t = requireIsoDate(s, "--to");
  return new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? t + 86_400_000 : t).toISOString();
}

export function isoDate(s: string, flag: string): string {
  return new Date(requireIsoDate(s, flag)).toISOString();
}

/**
 * --from and --to as a time range (ISO 8601 strings, either open): a bare --to date includes
 * that day when `toEndOfDay`, else --to is the instant it names (exclusive).
 * @throws UsageError CLI_USAGE when --from is not before --to (the range selects nothing)
 */
export function timeRange(
  o: { readonly from?: string; readonly to?: string },
  toEndOfDay: boolean,
): { from?: string; to?: string } {
  for (const [flag, v] of [
    ["--from", o.from],
    ["--to", o.to],
  ] as const) {
    if (v !== undefined && v.trim() === "") {
      throw new UsageError("CLI_USAGE", `${flag}: an empty date`, {
        hint: `give a date (2026-01-31) or a time (2026-01-31T12:00:00Z), or leave ${flag} out for an open range`,
      });
    }
  }
  const from = o.from ? isoDate(o.from, "--from") : undefined;
  const to = o.to ? (toEndOfDay ? endOfDay(o.to) : isoDate(o.to, "--to")) : undefined;
  if (from && to && from >= to) {
    throw new UsageError("CLI_USAGE", `--from ${o.from} is not before --to ${o.to}`, {
      hint: toEndOfDay
        ? "the range is --from (inclusive) to the end of --to"
        : "the range is --from (inclusive) to --to (exclusive): give a --from earlier than --to",
    });
  }
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

export function vexFormatOf(f: string): VexFormat {
  if (f === "cyclonedx-1.6") {
    return "cyclonedx";
  }
  if (!(app().VEX_FORMATS as readonly string[]).includes(f)) {
    throw new UsageError("CLI_USAGE", `unknown VEX format "${f}"`, {
      hint: "openvex, csaf, cyclonedx (1.6) or cyclonedx-1.7",
    });
  }
  return f as VexFormat;
}

export async function readVexFiles(
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

export function noFindingsNote(output: string): string {
  return `no findings, so no VEX statements: OpenVEX needs at least one, nothing was written to ${output}`;
}

export function wroteVexNote(
  vex: readonly VexStatement[],
  format: VexFormat,
  output: string,
): string {
  const na = vex.filter((v) => v.status === "not_affected").length;
  return `wrote ${vex.length} ${format} VEX statements to ${output} (${na} not_affected, each with its evidence)`;
}

/**
 * Writes a scan's VEX statements to `output` in `format` (scan --output-vex, vex generate) and
 * says what was written; OpenVEX with no statement is not written, and the note says so.
 */
export async function writeVexDocument(
  output: string,
  format: VexFormat,
  r: { readonly vex: readonly VexStatement[]; readonly sbom: { readonly created: string } },
): Promise<{ written: boolean; note: string }> {
  if (r.vex.length === 0 && format === "openvex") {
    return { written: false, note: noFindingsNote(output) };
  }
  await app().writeFileAtomic(
    output,
    app().renderVex(format, r.vex, {
      author: app().VEX_AUTHOR,
      timestamp: r.sbom.created,
      tool: TOOL,
    }),
  );
  return { written: true, note: wroteVexNote(r.vex, format, output) };
}
