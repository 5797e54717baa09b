import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
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
  intoto: ["core", "attest"],
  chain: ["core", "attest", "store"],
  compliance: ["core", "chain", "vex", "vuln"],
  app: [
    "core",
    "compliance",
    "chain",
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
    "compliance",
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

/**
 * Every module a source names, as the TypeScript compiler reads it: static imports and
 * re-exports (type-only ones too), side-effect imports (`import "x"`), dynamic `import("x")`
 * and `require("x")`.
 */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/**
 * Third-party packages and where each may be used (paths under src/): a package speaks through
 * the module that owns it. A package not listed here may not be imported at all.
 */
const THIRD_PARTY: Record<string, readonly string[]> = {
  pg: ["store/postgres/"],
  "better-sqlite3": ["store/sqlite/", "vuln/", "sbom/catalogers/redhat/rpm.ts"],
  "@sigstore/": ["attest/"],
  tweetnacl: ["attest/"],
  commander: ["cli/"],
  "@kubernetes/client-node": ["cli/"],
  "@bufbuild/cel": ["policy/"],
  fzstd: ["oci/"],
  "packageurl-js": ["sbom/"],
  "spdx-correct": ["sbom/"],
  "spdx-expression-parse": ["sbom/"],
  "ae-cvss-calculator": ["vuln/"],
  // core/yaml.ts: the depth check every YAML reader runs first, on the library's own parser
  yaml: ["core/yaml.ts", "sbom/catalogers/", "build/", "policy/", "app/"],
  "smol-toml": ["sbom/catalogers/"],
  semver: ["versions/"],
  // the official CycloneDX schemas checked on import
  ajv: ["sbom/cyclonedx-schema.ts"],
  "ajv-formats": ["sbom/cyclonedx-schema.ts"],
};

function thirdPartyRule(spec: string): readonly string[] | undefined {
  const key = Object.keys(THIRD_PARTY).find((k) =>
    k.endsWith("/") ? spec.startsWith(k) : spec === k || spec.startsWith(`${k}/`),
  );
  return key ? THIRD_PARTY[key] : undefined;
}

/**
 * A module's second entry: names.ts holds constants the command line shows before it loads the
 * module (docs/adr/0014), and imports only core and other modules' names.ts.
 */
const NAMES = "names.ts";

/** What is wrong with the imports of one file (its path relative to src/). */
function importViolations(rel: string, text: string): string[] {
  const file = join(SRC, rel);
  const from = moduleOf(file);
  const out: string[] = [];
  for (const spec of specifiers(text)) {
    if (spec.startsWith("node:")) {
      continue;
    }
    if (!spec.startsWith(".")) {
      const allowed = thirdPartyRule(spec);
      if (!allowed) {
        out.push(`${rel} imports ${spec}, which no module owns (list it in THIRD_PARTY)`);
      } else if (!allowed.some((a) => rel.startsWith(a))) {
        out.push(`${rel} imports ${spec}, which only ${allowed.join(", ")} may use`);
      }
      continue;
    }
    const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
    const to = moduleOf(target);
    if (to === from) {
      continue;
    }
    if (!(ALLOWED[from] ?? []).includes(to)) {
      out.push(`${rel} imports ${to}/ (${spec})`);
    } else if (
      to !== "core" &&
      !target.endsWith(`${to}/index.ts`) &&
      !target.endsWith(`${to}/${NAMES}`)
    ) {
      out.push(`${rel} reaches into ${relative(SRC, target)} instead of ${to}/index.ts`);
    } else if (rel.endsWith(`/${NAMES}`) && to !== "core" && !target.endsWith(`/${NAMES}`)) {
      out.push(`${rel} imports ${relative(SRC, target)}; a ${NAMES} imports only names and core`);
    }
  }
  return out;
}

const CATALOGERS = "sbom/catalogers/";

/** The ecosystem folder a path (relative to src/) lies in, if any: sbom/catalogers/<eco>/… */
function ecosystemOf(rel: string): string | undefined {
  if (!rel.startsWith(CATALOGERS)) {
    return undefined;
  }
  const parts = rel.slice(CATALOGERS.length).split("/");
  return parts.length > 1 ? parts[0] : undefined;
}

/**
 * The cataloger rule: an ecosystem folder imports no other ecosystem folder (shared helpers
 * live in sbom/catalogers/*.ts), and the rest of sbom reaches a folder only through its index.
 */
function ecosystemViolations(rel: string, text: string): string[] {
  const file = join(SRC, rel);
  const own = ecosystemOf(rel);
  const out: string[] = [];
  for (const spec of specifiers(text).filter((s) => s.startsWith("."))) {
    const target = relative(SRC, resolve(dirname(file), spec).replace(/\.js$/, ".ts"));
    const eco = ecosystemOf(target);
    if (!eco || eco === own) {
      continue;
    }
    if (own) {
      out.push(
        `${rel} imports the ${eco} cataloger (${spec}); share code through ${CATALOGERS}*.ts`,
      );
    } else if (target !== `${CATALOGERS}${eco}/index.ts`) {
      out.push(`${rel} reaches into ${target} instead of ${CATALOGERS}${eco}/index.ts`);
    }
  }
  return out;
}

describe("module layering", () => {
  it("imports point only down the allowed edges, through each module's index", () => {
    const violations = sources.flatMap(({ file, text }) =>
      importViolations(relative(SRC, file), text),
    );
    expect(violations).toEqual([]);
  });

  it("keeps each ecosystem's catalogers in one folder that imports no other ecosystem", () => {
    const folders = readdirSync(join(SRC, CATALOGERS)).filter((f) =>
      statSync(join(SRC, CATALOGERS, f)).isDirectory(),
    );
    expect(folders.sort()).toEqual([
      "alpine",
      "debian",
      "dotnet",
      "golang",
      "java",
      "javascript",
      "php",
      "python",
      "redhat",
      "ruby",
      "rust",
    ]);
    const violations = sources.flatMap(({ file, text }) =>
      ecosystemViolations(relative(SRC, file), text),
    );
    expect(violations).toEqual([]);
  });

  it("catches every form of import, and third-party packages outside their module", () => {
    const seen = (text: string, rel = "core/x.ts") => importViolations(rel, text);
    expect(seen('import "../app/index.js";')).toEqual(["core/x.ts imports app/ (../app/index.js)"]);
    expect(seen('const m = await import("../app/index.js");')).toHaveLength(1);
    expect(seen('import type { AppContext } from "../app/index.js";')).toHaveLength(1);
    expect(seen('export * from "../app/index.js";')).toHaveLength(1);
    expect(seen('import { TOOL } from "../app/names.js";', "cli/x.ts")).toEqual([]);
    expect(seen('import { scan } from "../app/scan.js";', "cli/x.ts")).toHaveLength(1);
    expect(seen('import { statement } from "../attest/index.js";', "app/names.ts")).toEqual([
      "app/names.ts imports attest/index.ts; a names.ts imports only names and core",
    ]);
    expect(seen('const pg = require("pg");')).toEqual([
      "core/x.ts imports pg, which only store/postgres/ may use",
    ]);
    expect(seen('import { verify } from "@sigstore/verify";', "app/x.ts")).toHaveLength(1);
    expect(seen('import { Command } from "commander";', "server/x.ts")).toHaveLength(1);
    expect(seen('import x from "left-pad";', "cli/x.ts")).toHaveLength(1);
    expect(seen('import { Command } from "commander";', "cli/x.ts")).toEqual([]);
    expect(seen('import { readFile } from "node:fs/promises";')).toEqual([]);
    const eco = (text: string, rel: string) => ecosystemViolations(rel, text);
    expect(eco('import { text } from "../shared.js";', "sbom/catalogers/rust/x.ts")).toEqual([]);
    expect(
      eco('import { goPackage } from "../golang/golang.js";', "sbom/catalogers/rust/x.ts"),
    ).toHaveLength(1);
    expect(
      eco('import type { X } from "../golang/index.js";', "sbom/catalogers/rust/x.ts"),
    ).toHaveLength(1);
    expect(
      eco('import { x } from "./catalogers/golang/golang.js";', "sbom/catalog.ts"),
    ).toHaveLength(1);
    expect(eco('import { x } from "./catalogers/golang/index.js";', "sbom/catalog.ts")).toEqual([]);
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
