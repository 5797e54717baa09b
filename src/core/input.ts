import { readFile } from "node:fs/promises";
import { ToolError } from "./errors.js";
import { parseJson } from "./json.js";

/**
 * Input files named on the command line or in a request: read, or refused in one line that
 * names the user's path and why (CORE_INPUT_UNREADABLE, an operational error: exit 3).
 */

const WHY: Readonly<Record<string, string>> = {
  ENOENT: "it does not exist",
  EISDIR: "it is a directory",
  EACCES: "permission denied",
  ENOTDIR: "a part of the path is not a directory",
};

/**
 * Reads an input file.
 * @throws ToolError CORE_INPUT_UNREADABLE naming `what` and the path
 */
export async function readInput(path: string, what: string, hint?: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    throw new ToolError(
      "CORE_INPUT_UNREADABLE",
      `cannot read ${what} ${path}: ${WHY[code] ?? (e as Error).message} (${code || "error"})`,
      { hint: hint ?? "check the path" },
    );
  }
}

/**
 * Reads and parses a JSON input file (depth-capped).
 * @throws ToolError CORE_INPUT_UNREADABLE when unreadable or not JSON; CORE_LIMIT_EXCEEDED too deep
 */
export async function readJsonInput(path: string, what: string, hint?: string): Promise<unknown> {
  const bytes = await readInput(path, what);
  try {
    return parseJson(bytes, path);
  } catch (e) {
    if (e instanceof ToolError) {
      throw e;
    }
    throw new ToolError(
      "CORE_INPUT_UNREADABLE",
      `${what} ${path} is not JSON: ${(e as Error).message}`,
      { hint: hint ?? `give ${what} in JSON` },
    );
  }
}
