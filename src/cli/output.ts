import type { Issue } from "../core/issues.js";
import { formatIssue } from "../core/issues.js";

/** Terminal-aware output: machine output on stdout, messages and progress on stderr. */
export interface Output {
  readonly json: boolean;
  /** Prints a result: JSON when --json, else the human rendering. */
  result(value: unknown, human: () => string): void;
  info(message: string): void;
  progress(message: string): void;
  warn(message: string): void;
  issues(list: readonly Issue[]): void;
  error(message: string, hint?: string, code?: string): void;
}

export interface OutputOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly program: string;
}

/** True when colour may be used on this stream (a terminal, and NO_COLOR not set). */
export function useColor(
  stream: NodeJS.WriteStream,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  const noColor = env["NO_COLOR"];
  return (
    Boolean(stream.isTTY) && (noColor === undefined || noColor === "") && env["TERM"] !== "dumb"
  );
}

export function createOutput(o: OutputOptions): Output {
  const color = useColor(o.stderr, o.env);
  const red = (s: string): string => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const yellow = (s: string): string => (color ? `\x1b[33m${s}\x1b[0m` : s);
  const showProgress = Boolean(o.stderr.isTTY) && !o.quiet && !o.json;
  return {
    json: o.json,
    result(value, human) {
      if (o.json) {
        o.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      } else {
        const text = human();
        if (text) {
          o.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
        }
      }
    },
    info(message) {
      if (!o.quiet && !o.json) {
        o.stderr.write(`${message}\n`);
      }
    },
    progress(message) {
      if (showProgress) {
        o.stderr.write(`${message}\n`);
      }
    },
    warn(message) {
      if (!o.quiet) {
        o.stderr.write(`${o.program}: ${yellow("warning:")} ${message}\n`);
      }
    },
    issues(list) {
      if (o.quiet || o.json) {
        return;
      }
      for (const i of list.slice(0, 20)) {
        o.stderr.write(`${o.program}: ${yellow("issue:")} ${formatIssue(i)}\n`);
      }
      if (list.length > 20) {
        o.stderr.write(`${o.program}: ${list.length - 20} more issues (see --json)\n`);
      }
    },
    error(message, hint, code) {
      if (o.json) {
        o.stderr.write(
          `${JSON.stringify({ error: { code, message, ...(hint ? { hint } : {}) } })}\n`,
        );
        return;
      }
      o.stderr.write(`${o.program}: ${red("error:")} ${message}\n`);
      if (hint) {
        o.stderr.write(`  hint: ${hint}\n`);
      }
    },
  };
}

/** A plain-text table: columns padded to their widest cell, two spaces apart. */
export function formatTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]): string =>
    r
      .map((x, i) => x.padEnd(w[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)];
}
