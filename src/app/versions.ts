import { isToolError, VersionError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { comparatorFor } from "../versions/index.js";

/** Compares two versions of an ecosystem; an invalid version is an error, never a guess. */
export function compareVersionStrings(ecosystem: string, a: string, b: string): -1 | 0 | 1 {
  const c = comparatorFor(ecosystem);
  for (const v of [a, b]) {
    if (!c.isValid(v)) {
      throw new VersionError("VERSION_INVALID", `"${v}" is not a valid ${c.ecosystem} version`);
    }
  }
  return c.compare(a, b);
}

/**
 * One line of `version compare --batch`: `{"a","b"}` in, `{"a","b","cmp"}` (or an error) out.
 * `n` (from 1) names the line in errors about it.
 */
export function compareBatchLine(ecosystem: string, line: string, n?: number): string {
  const which = n === undefined ? "line" : `line ${n}`;
  let a: unknown;
  let b: unknown;
  try {
    const j = parseJson(line, which) as { a?: unknown; b?: unknown };
    a = j?.a;
    b = j?.b;
  } catch (e) {
    return JSON.stringify({
      cmp: null,
      error: isToolError(e) ? e.message : `${which} is not JSON`,
    });
  }
  if (typeof a !== "string" || typeof b !== "string") {
    return JSON.stringify({
      a,
      b,
      cmp: null,
      error: `each line needs string fields "a" and "b" (${which})`,
    });
  }
  try {
    return JSON.stringify({ a, b, cmp: compareVersionStrings(ecosystem, a, b) });
  } catch (e) {
    return JSON.stringify({ a, b, cmp: null, error: (e as Error).message });
  }
}
