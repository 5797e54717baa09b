import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext, importVulnData, type ScanResult, scan } from "../../src/app/index.js";
import { buildImageLayout } from "../support/build-image.js";
import {
  GO_OSV,
  type GoAdvisory,
  goAdvisories,
  gosymFunctions,
  govulncheckFound,
  isStripped,
  realGoBinaries,
} from "../support/go-binaries.js";
import { buildGoModuleBinary } from "../support/go-fixture.js";
import { buildGoVexFixture } from "../support/go-vex-fixture.js";
import { tempDir } from "../support/tmp.js";

/**
 * govulncheck's own reading of a pclntab name, transcribed from its binary mode (debug/gosym's
 * PackageName, ReceiverName and BaseName of Go 1.20, then the receiver's "(*" and ")" trimmed and
 * the package path unescaped). Kept apart from the product's reader on purpose.
 */
function govulncheckName(name: string): [string, string] | undefined {
  const noInst = name.replace(/\[[^\]]*\]/g, "");
  if (/^(go|type)[.:]/.test(noInst)) {
    return undefined;
  }
  const pathend = Math.max(noInst.lastIndexOf("/"), 0);
  const l = noInst.indexOf(".", pathend);
  if (l < 0) {
    return undefined;
  }
  const r = noInst.lastIndexOf(".");
  let sym = name.slice(name.lastIndexOf(".") + 1);
  if (l !== r) {
    let recv = name.slice(l + 1, name.lastIndexOf("."));
    if (recv.startsWith("(*")) {
      recv = recv.replace(/^[(*)]+|[(*)]+$/g, "");
    }
    sym = `${recv}.${sym}`;
  }
  try {
    return [decodeURIComponent(noInst.slice(0, l)), sym];
  } catch {
    return undefined;
  }
}

const importsOf = (rec: GoAdvisory, module: string) =>
  (rec.affected ?? [])
    .filter((a) => a.package.name === module)
    .flatMap((a) => a.ecosystem_specific?.imports ?? []);

/** Names by package, read govulncheck's way. */
function govulncheckIndex(names: readonly string[]): Map<string, Set<string>> {
  const have = new Map<string, Set<string>>();
  for (const n of names) {
    const p = govulncheckName(n);
    if (p) {
      have.set(p[0], (have.get(p[0]) ?? new Set()).add(p[1]));
    }
  }
  return have;
}

/** The advisory's symbols found in an index, as govulncheck matches them. */
function hitsIn(have: Map<string, Set<string>>, rec: GoAdvisory, module: string): string[] {
  return importsOf(rec, module).flatMap((imp) => {
    const syms = have.get(imp.path);
    // every binary here is a linux/amd64 program: imports for other targets do not apply
    const other =
      (imp.goos?.length && !imp.goos.includes("linux")) ||
      (imp.goarch?.length && !imp.goarch.includes("amd64"));
    if (!syms || other) {
      return [];
    }
    return imp.symbols?.length
      ? imp.symbols.filter((s) => syms.has(s)).map((s) => `${imp.path}.${s}`)
      : [`${imp.path}.*`];
  });
}

interface Row {
  binary: string;
  go: string;
  stripped: boolean;
  reference: string;
  findings: number;
  notAffected: number;
  refPresent: number;
  disagreements: string[];
  unresolved: string[];
}

describe("Go symbol VEX against govulncheck and debug/gosym on real binaries", () => {
  let result: ScanResult;
  const rows: Row[] = [];
  let advisories: Map<string, GoAdvisory>;
  const bins: { name: string; path: string; image: string }[] = [];

  beforeAll(async () => {
    const fx = buildGoVexFixture();
    const all = [
      ...realGoBinaries(),
      { name: "fixture vexapp", path: fx.bin },
      { name: "fixture vexapp (strip)", path: fx.stripped },
      { name: "fixture hello", path: buildGoModuleBinary() },
    ];
    bins.push(...all.map((b, i) => ({ ...b, image: `/bin/go${i}` })));
    const dir = join(tempDir("cleanimg-go-agree-"), "img");
    await buildImageLayout({
      dir,
      tag: "go",
      compression: "none",
      layers: [
        {
          kind: "files",
          files: [
            { name: "bin/", type: "dir" },
            ...bins.map((b) => ({
              name: b.image.slice(1),
              type: "file" as const,
              mode: 0o755,
              body: readFileSync(b.path),
            })),
          ],
        },
      ],
    });
    const ctx = createAppContext({ home: tempDir("cleanimg-go-agree-home-"), env: {} });
    await importVulnData(ctx, [GO_OSV]);
    result = await scan(ctx, `oci:${dir}:go`, { created: new Date(0) });
    await ctx.close();
    advisories = goAdvisories();
  }, 300_000);

  it("builds the agreement table", () => {
    const byPkg = new Map(result.sbom.packages.map((p) => [p.id, p]));
    const vex = new Map(result.vex.map((v, i) => [i, v]));
    for (const b of bins) {
      const gv = isStripped(b.path) ? "stripped" : govulncheckFound(b.path);
      const gosym = gosymFunctions(b.path);
      const ours = result.sbom.packages.find(
        (p) => p.name === "stdlib" && p.locations[0]?.path === b.image,
      );
      const row: Row = {
        binary: b.name,
        go: ours?.version ?? "(build info not read)",
        stripped: isStripped(b.path),
        reference: typeof gv === "string" ? "debug/gosym" : "govulncheck",
        findings: 0,
        notAffected: 0,
        refPresent: 0,
        disagreements: [],
        unresolved: [],
      };
      const names = ours?.symbols?.names ?? [];
      const refIndex = govulncheckIndex(gosym);
      // our table read govulncheck's way, generic instantiations as their generic functions
      const ourIndex = govulncheckIndex(names.map(generic));
      const rawIndex = govulncheckIndex(names);
      result.findings.forEach((f, i) => {
        const p = byPkg.get(f.package.id);
        const rec = advisories.get(f.id);
        if (
          p?.locations[0]?.path !== b.image ||
          p.type !== "golang" ||
          f.status !== "affected" ||
          !rec
        ) {
          return;
        }
        row.findings++;
        expect(vex.get(i)?.vulnerability).toBe(f.id);
        const na = vex.get(i)?.status === "not_affected";
        const refPresent =
          typeof gv === "string"
            ? hitsIn(refIndex, rec, f.matchedAs.name).length > 0
            : gv.has(f.id);
        row.notAffected += na ? 1 : 0;
        row.refPresent += refPresent ? 1 : 0;
        if (na && refPresent) {
          row.disagreements.push(f.id);
        }
        if (!na && !refPresent && importsOf(rec, f.matchedAs.name).length > 0) {
          const hits = hitsIn(ourIndex, rec, f.matchedAs.name);
          const raw = hitsIn(rawIndex, rec, f.matchedAs.name);
          row.unresolved.push(`${f.id} ${explain(hits, raw, refIndex, f.matchedAs.name)}`);
        }
      });
      rows.push(row);
    }
    console.log(table(rows));
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(rows.filter((r) => r.findings > 0).length).toBeGreaterThanOrEqual(10);
  });

  it("never says not_affected where the reference finds a vulnerable symbol", () => {
    expect(rows.flatMap((r) => r.disagreements.map((d) => `${r.binary}: ${d}`))).toEqual([]);
    expect(rows.reduce((n, r) => n + r.notAffected, 0)).toBeGreaterThan(100);
  });

  it("resolves every finding whose symbols the reference does not find, but for code it cannot see", () => {
    // what remains open: a symbol our table has that the reference misses (a function inlined
    // everywhere, which gosym's function list leaves out; a method of a generic type, which the
    // 2023 govulncheck reads as T[...].M), or a module none of whose functions is named
    const reasons = rows.flatMap((r) => r.unresolved.map((u) => u.split(" ")[1]));
    expect(reasons.filter((x) => !["inlined", "generic", "unreadable"].includes(x ?? ""))).toEqual(
      [],
    );
    expect(reasons).toContain("inlined");
    expect(reasons).toContain("generic");
  });
});

/**
 * Why a finding the reference calls absent stays open: the symbols our table has that the
 * reference lacks (inlined: not in gosym's function list; generic: a method or function of a
 * generic type, which the 2023 govulncheck reads as T[...].M), or no function of the module.
 */
function explain(
  hits: readonly string[],
  raw: readonly string[],
  ref: Map<string, Set<string>>,
  module: string,
): string {
  const inRef = (h: string) => {
    const dot = h.indexOf(".", h.lastIndexOf("/") + 1);
    return ref.get(h.slice(0, dot))?.has(h.slice(dot + 1)) ?? false;
  };
  const unseen = hits.filter((h) => !inRef(h));
  if (unseen.length) {
    return unseen.every((h) => !raw.includes(h))
      ? `generic ${unseen.join(",")}`
      : `inlined ${unseen.join(",")}`;
  }
  return module === "stdlib" || hits.length ? `other ${hits.join(",")}` : "unreadable";
}

const generic = (n: string): string =>
  n.replace(/\[\.\.\.\]/g, "").replace(/^(.*)\(\*([^()]*)\)/, "$1$2");

function table(rows: readonly Row[]): string {
  const head = [
    "binary",
    "Go",
    "stripped",
    "reference",
    "findings",
    "ours not_affected",
    "reference-present",
    "disagreements",
    "open (reason)",
  ];
  const lines = rows.map((r) =>
    [
      r.binary,
      r.go,
      r.stripped ? "yes" : "no",
      r.reference,
      r.findings,
      r.notAffected,
      r.refPresent,
      r.disagreements.length ? r.disagreements.join(" ") : 0,
      r.unresolved.join("; ") || "-",
    ].join(" | "),
  );
  return [head.join(" | "), head.map(() => "---").join(" | "), ...lines]
    .map((l) => `| ${l} |`)
    .join("\n");
}
