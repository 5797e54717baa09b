import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The size rules of the README (Layout): no function in src/ over 120 lines, and the edges
// (app, cli, server) thin, no file there over 400 lines.
const SRC = resolve(import.meta.dirname, "../src");
const MAX_FUNCTION_LINES = 120;
const MAX_EDGE_FILE_LINES = 400;
const EDGES = ["app", "cli", "server"];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Every function-like node with a body longer than `max` lines, as "file:line name (n lines)". */
function longFunctions(file: string, text: string, max: number): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && (n as ts.FunctionLikeDeclaration).body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      if (last - first + 1 > max) {
        const name = (n as ts.FunctionDeclaration).name?.getText(sf) ?? "(anonymous)";
        out.push(`${file}:${first + 1} ${name} (${last - first + 1} lines)`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe("size limits", () => {
  const files = walk(SRC);

  it("finds long functions (the checker itself)", () => {
    const body = Array.from({ length: 130 }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const text = `export function f() {\n${body}\n}\nconst g = () => {\n  return 1;\n};\n`;
    expect(longFunctions("x.ts", text, MAX_FUNCTION_LINES)).toEqual(["x.ts:1 f (132 lines)"]);
    expect(longFunctions("x.ts", text, 200)).toEqual([]);
  });

  it(`has no function in src/ over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(files.length).toBeGreaterThan(100);
    const long = files.flatMap((f) =>
      longFunctions(relative(SRC, f), readFileSync(f, "utf8"), MAX_FUNCTION_LINES),
    );
    expect(long).toEqual([]);
  });

  it(`has no file under ${EDGES.join(", ")} over ${MAX_EDGE_FILE_LINES} lines`, () => {
    const big = files
      .filter((f) => EDGES.includes(relative(SRC, f).split("/")[0] ?? ""))
      .map((f) => ({ f: relative(SRC, f), n: readFileSync(f, "utf8").split("\n").length - 1 }))
      .filter((x) => x.n > MAX_EDGE_FILE_LINES)
      .map((x) => `${x.f} (${x.n} lines)`);
    expect(big).toEqual([]);
  });
});
