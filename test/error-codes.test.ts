import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exitCodeFor } from "../src/cli/exit-codes.js";
import type { ErrorCode } from "../src/core/errors.js";
import { httpStatusFor } from "../src/server/guard.js";

const ROOT = join(import.meta.dirname, "..");
const codes = [
  ...readFileSync(join(ROOT, "src/core/errors.ts"), "utf8").matchAll(/^\s+\| "([A-Z_]+)"/gm),
].map((m) => m[1] as ErrorCode);

/** The rows of the error-code table in docs/cli.md: code -> [exit, HTTP]. */
function documented(): Map<string, [number, number]> {
  const doc = readFileSync(join(ROOT, "docs/cli.md"), "utf8");
  const rows = new Map<string, [number, number]>();
  for (const m of doc.matchAll(/^\| `([A-Z_]+)` +\| (\d) +\| (\d{3}) +\| \S/gm)) {
    rows.set(m[1] as string, [Number(m[2]), Number(m[3])]);
  }
  return rows;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) {
      return sources(p);
    }
    return n.endsWith(".ts") && !n.endsWith(".test.ts") ? [p] : [];
  });
}

describe("error codes", () => {
  it("reads the union (a broken pattern would make every check below vacuous)", () => {
    expect(codes.length).toBeGreaterThan(50);
    expect(codes).toContain("CORE_INVALID_ARGUMENT");
    expect(new Set(codes).size).toBe(codes.length);
  });

  it("documents every code in docs/cli.md with the exit and HTTP status the code gives", () => {
    const rows = documented();
    const wrong = codes.flatMap((c) => {
      const row = rows.get(c);
      const want: [number, number] = [exitCodeFor(c), httpStatusFor(c)];
      return row?.[0] === want[0] && row[1] === want[1]
        ? []
        : [`${c}: documented ${JSON.stringify(row ?? null)}, gives ${JSON.stringify(want)}`];
    });
    expect(wrong).toEqual([]);
    expect([...rows.keys()].filter((c) => !codes.includes(c as ErrorCode))).toEqual([]);
  });

  it("promises no code nothing raises (the one reserved code is documented as such)", () => {
    const mappers = [
      join("core", "errors.ts"),
      join("cli", "exit-codes.ts"),
      join("server", "guard.ts"),
    ];
    const text = sources(join(ROOT, "src"))
      .filter((p) => !mappers.some((m) => p.endsWith(m)))
      .map((p) => readFileSync(p, "utf8"))
      .join("\n");
    // outside the mappings a code appears only where it is thrown or collected as an issue
    expect(codes.filter((c) => !text.includes(`"${c}"`))).toEqual(["CLI_NOT_AVAILABLE"]);
    expect(readFileSync(join(ROOT, "docs/cli.md"), "utf8")).toMatch(
      /`CLI_NOT_AVAILABLE` .*reserved/,
    );
  });

  it("keeps the catch-all for command-line arguments", () => {
    const uses = sources(join(ROOT, "src")).flatMap((p) =>
      [...readFileSync(p, "utf8").matchAll(/"CORE_INVALID_ARGUMENT"/g)].map(() => p),
    );
    // 68 uses once stood for every kind of failure; what is left names arguments only
    expect(uses.length).toBeLessThan(25);
  });
});
