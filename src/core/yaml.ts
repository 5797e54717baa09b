import { lazyModule } from "./lazy.js";

/** The yaml package, loaded on first use (core/lazy.ts). */
export const yaml = lazyModule<typeof import("yaml")>("yaml");

import { MAX_JSON_DEPTH, tooDeep } from "./json.js";

const COLLECTIONS = new Set(["block-map", "block-seq", "flow-collection"]);

/**
 * The nesting depth of a YAML text: flow collections (`[`, `{`) and block collections (indented
 * maps and sequences, `- - -` compact sequences) alike, as the YAML library's own parser nests
 * them. Found without recursion, from the parser's explicit stack, token by token; stops past
 * `limit`. A top-level mapping is depth 1, as `{}` is in JSON.
 */
export function yamlDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  const parser = new (yaml().Parser)();
  let max = 0;
  for (const token of new (yaml().Lexer)().lex(text)) {
    for (const _ of parser.next(token)) {
      // the finished top-level tokens are not needed
    }
    // the stack holds the document, then each collection open around the token, and the scalar
    // being read; only collections count (counted when the stack is higher than ever: rarely)
    if (parser.stack.length - 1 > max) {
      const depth = parser.stack.filter((t) => COLLECTIONS.has(t.type)).length;
      if (depth > max) {
        max = depth;
        if (max > limit) {
          return max;
        }
      }
    }
  }
  return max;
}

/**
 * Refuses a YAML text nested deeper than `maxDepth` (block or flow), before it is parsed: the
 * YAML library composes documents recursively, and overflows the stack a few thousand levels deep.
 * @throws ToolError CORE_LIMIT_EXCEEDED
 */
export function assertYamlDepth(text: string, what: string, maxDepth = MAX_JSON_DEPTH): void {
  if (yamlDepth(text, maxDepth) > maxDepth) {
    throw tooDeep(what, maxDepth);
  }
}

/**
 * A YAML library error in one line, with its line and column. The library's own "pretty"
 * errors quote the source around the error, at a cost that grows with the square of the input
 * (a 200 KB hostile policy took 21 s): parse with `prettyErrors: false` and name the place here.
 */
export function yamlErrorMessage(text: string, e: unknown): string {
  const message = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";
  const pos = (e as { pos?: unknown }).pos;
  const at = Array.isArray(pos) && typeof pos[0] === "number" ? pos[0] : undefined;
  if (at === undefined || /at line \d+/.test(message)) {
    return message;
  }
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < at; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return `${message} at line ${line}, column ${at - start + 1}`;
}
