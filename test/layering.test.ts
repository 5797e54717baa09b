import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The dependency rules of the README (Layout), checked on every import in src/.
const SRC = resolve(import.meta.dirname, "../src");

const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  oci: ["core"],
  source: ["core", "oci"],
  store: ["core"],
  sbom: ["core", "source"],
  versions: ["core"],
  attest: ["core"],
  vuln: ["core", "versions", "sbom"],
  vex: ["core", "sbom", "vuln"],
  build: ["core", "oci", "versions"],
  policy: ["core"],
  report: ["core"],
  intoto: ["core", "attest"],
  app: [
    "core",
    "oci",
    "source",
    "store",
    "sbom",
    "versions",
    "vuln",
    "vex",
    "attest",
    "build",
    "policy",
    "report",
    "intoto",
  ],
  server: ["core", "app"],
  cli: ["core", "app", "server"],
  "": [
    "core",
    "app",
    "oci",
    "source",
    "store",
    "sbom",
    "versions",
    "vuln",
    "vex",
    "attest",
    "build",
    "policy",
    "report",
  ],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory()
      ? files(p)
      : p.endsWith(".ts") && !p.endsWith(".test.ts")
        ? [p]
        : [];
  });
}

function moduleOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes("/") ? (rel.split("/")[0] as string) : "";
}

const sources = files(SRC).map((f) => ({ file: f, text: readFileSync(f, "utf8") }));

describe("module layering", () => {
  it("imports point only down the allowed edges, through each module's index", () => {
    const violations: string[] = [];
    for (const { file, text } of sources) {
      const from = moduleOf(file);
      for (const m of text.matchAll(/^(?:import|export)[^;]*?from\s+"(\.[^"]+)"/gm)) {
        const target = resolve(dirname(file), m[1] as string).replace(/\.js$/, ".ts");
        const to = moduleOf(target);
        if (to === from) {
          continue;
        }
        if (!(ALLOWED[from] ?? []).includes(to)) {
          violations.push(`${relative(SRC, file)} imports ${to}/ (${m[1]})`);
        } else if (to !== "core" && !target.endsWith(`${to}/index.ts`)) {
          violations.push(
            `${relative(SRC, file)} reaches into ${relative(SRC, target)} instead of ${to}/index.ts`,
          );
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("only the command line touches process exit, argv and the environment", () => {
    const offenders = sources
      .filter(({ file }) => moduleOf(file) !== "cli")
      .filter(({ text }) => /process\.(exit|argv|env)\b/.test(text))
      .map(({ file }) => relative(SRC, file));
    expect(offenders).toEqual([]);
  });

  it("has no default exports in src", () => {
    expect(
      sources
        .filter(({ text }) => /^export default/m.test(text))
        .map(({ file }) => relative(SRC, file)),
    ).toEqual([]);
  });
});
