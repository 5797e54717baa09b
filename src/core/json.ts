import { ToolError } from "./errors.js";

/**
 * Deepest nesting of arrays and objects accepted in untrusted JSON. Real documents (SBOMs,
 * OSCAL, admission reviews, bundles) stay far below it; code that walks a document recursively
 * (validation, canonical forms, stringify) stays far below the stack's limit with it.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * The nesting depth of a JSON text, found in one pass without recursion (brackets inside strings
 * are skipped); stops counting past `limit`.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) {
        i++; // the escaped character
      } else if (c === 0x22) {
        inString = false;
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) {
          return max;
        }
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return max;
}

/**
 * JSON.parse for untrusted input: refuses documents nested deeper than `maxDepth`.
 * @throws ToolError CORE_LIMIT_EXCEEDED (too deep); SyntaxError (not JSON), as JSON.parse
 */
export function parseJson(
  input: string | Uint8Array,
  what: string,
  maxDepth = MAX_JSON_DEPTH,
): unknown {
  const text = typeof input === "string" ? input : new TextDecoder().decode(input);
  assertJsonDepth(text, what, maxDepth);
  return JSON.parse(text);
}

/**
 * Refuses a JSON text nested deeper than `maxDepth`, before it is parsed (YAML, whose block
 * collections nest by indentation: assertYamlDepth in yaml.ts).
 * @throws ToolError CORE_LIMIT_EXCEEDED
 */
export function assertJsonDepth(text: string, what: string, maxDepth = MAX_JSON_DEPTH): void {
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw tooDeep(what, maxDepth);
  }
}

/** The error for a document nested deeper than `maxDepth` (JSON or YAML). */
export function tooDeep(what: string, maxDepth: number): ToolError {
  return new ToolError(
    "CORE_LIMIT_EXCEEDED",
    `${what} is nested more than ${maxDepth} levels deep`,
    {
      hint: "no real document is nested that deep: the input is hostile or corrupt",
    },
  );
}
