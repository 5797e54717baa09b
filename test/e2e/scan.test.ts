import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  createAppContext,
  importVulnData,
  renderCycloneDxVulnerabilities,
  renderSarif,
  type ScanResult,
  scan,
  TOOL,
} from "../../src/app/index.js";
import { renderSbom } from "../../src/sbom/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { buildGoModuleBinary } from "../support/go-fixture.js";
import { csafValidator, cycloneDxValidator, sarifValidator } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

/**
 * Ground truth computed independently, in Python with the PyPA packaging library (Debian's
 * python3-packaging) for PyPI, and a plain SemVer reading of the Go data for the standard library.
 */
function pythonTruth(kind: "pypi" | "go", name: string, version: string): Set<string> {
  const script = `
import gzip, json, sys, re
kind, name, version = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "pypi":
    from packaging.version import Version as V
    key = lambda s: V(s)
    path = sys.argv[4] + "/pypi-osv.jsonl.gz"
else:
    def key(s):
        m = re.match(r"^(\\d+)\\.(\\d+)\\.(\\d+)(?:-(.+))?$", s)
        pre = m.group(4)
        return (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if pre is not None else 1, [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in (pre or "").split(".")] if pre else [])
    path = sys.argv[4] + "/go-osv.jsonl.gz"
v = key(version)
for line in gzip.open(path, "rt"):
    rec = json.loads(line)
    if rec.get("withdrawn"):
        continue
    hit = False
    for a in rec.get("affected", []):
        pkg = a["package"]["name"]
        if (pkg.lower().replace("_", "-") if kind == "pypi" else pkg) != name:
            continue
        if version in a.get("versions", []):
            hit = True
        for r in a.get("ranges", []):
            if r["type"] == "GIT":
                continue
            ev = sorted(r["events"], key=lambda e: (0, ()) if list(e.values())[0] == "0" else (1, key(list(e.values())[0])))
            aff = False
            for e in ev:
                if "introduced" in e and (e["introduced"] == "0" or v >= key(e["introduced"])): aff = True
                elif "fixed" in e and v >= key(e["fixed"]): aff = False
                elif "last_affected" in e and v > key(e["last_affected"]): aff = False
            hit = hit or aff
    if hit:
        print(rec["id"])
`;
  return new Set(
    execFileSync("/usr/bin/python3", ["-c", script, kind, name, version, VULNDB], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean),
  );
}

describe("vulnerability scan on real data", () => {
  let ctx: AppContext;
  let result: ScanResult;
  let layout: string;
  let home: string;
  beforeAll(async () => {
    home = tempDir("cleanimg-scan-");
    ctx = createAppContext({ home, env: {} });
    await importVulnData(ctx, [VULNDB]);
    const debs = fetchDebs(["base-files", "python3-requests"]);
    const egg = execFileSync(
      "tar",
      ["-xO", "./usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO"],
      {
        input: execFileSync("dpkg-deb", ["--fsys-tarfile", debs[1] as string]),
      },
    );
    layout = join(tempDir(), "img");
    await buildImageLayout({
      dir: layout,
      tag: "scan",
      layers: [
        { kind: "debs", debs },
        {
          kind: "files",
          files: [
            // the same distribution installed as pip would: not owned by any Debian package
            {
              name: "usr/local/lib/python3.11/dist-packages/requests-2.28.1.dist-info/",
              type: "dir",
            },
            {
              name: "usr/local/lib/python3.11/dist-packages/requests-2.28.1.dist-info/METADATA",
              type: "file",
              body: egg,
            },
            { name: "app/", type: "dir" },
            {
              name: "app/hello",
              type: "file",
              mode: 0o755,
              body: readFileSync(buildGoModuleBinary()),
            },
          ],
        },
      ],
    });
    result = await scan(ctx, `oci:${layout}:scan`, { created: new Date(0) });
  });

  const ids = (pred: (f: ScanResult["findings"][number]) => boolean): Set<string> =>
    new Set(result.findings.filter(pred).map((f) => f.id));

  it("matches a pip-installed Python library with the PyPI data, as packaging evaluates it", () => {
    const got = ids((f) => f.package.type === "pypi" && f.status === "affected");
    const truth = pythonTruth("pypi", "requests", "2.28.1");
    expect(truth.has("PYSEC-2023-74")).toBe(true);
    expect(got).toEqual(truth);
  });

  it("leaves the Debian-packaged copy of the same library to the distribution's data", () => {
    const owned = result.sbom.packages.filter(
      (p) => p.type === "pypi" && p.locations[0]?.path.startsWith("/usr/lib/python3/"),
    );
    expect(owned).toHaveLength(1);
    expect(result.findings.filter((f) => f.package.id === owned[0]?.id)).toEqual([]);
  });

  it("matches the Go standard library compiled into a binary with the Go data", () => {
    const got = ids((f) => f.package.name === "stdlib");
    const truth = pythonTruth("go", "stdlib", "1.19.8");
    expect(truth.size).toBeGreaterThan(5);
    expect(got).toEqual(truth);
  });

  it("says which packages it could not assess instead of reporting them clean", () => {
    expect(result.unassessed).toEqual([
      {
        ecosystem: "Debian:12",
        packages: result.sbom.packages.filter((p) => p.type === "deb").length,
      },
    ]);
    expect(result.issues.map((i) => i.code)).toContain("VULN_NO_DATA");
  });

  it("rates findings from CVSS vectors it computes, and records the scan with its database snapshot", async () => {
    const rated = result.findings.filter((f) => f.rating?.score !== undefined);
    for (const f of rated) {
      expect(f.rating?.from).toMatch(/^CVSS:3/);
    }
    if (result.sbom.subject.kind !== "image") {
      throw new Error("expected an image subject");
    }
    const links = await ctx
      .evidence()
      .find({ subject: result.sbom.subject.manifestDigest, kind: "vuln-scan" });
    expect(links).toHaveLength(1);
    expect(links[0]?.annotations["dbSnapshot"]).toBe(result.snapshot);
    expect(links[0]?.annotations["sbom"]).toBe(result.sbomEvidence?.evidence);
  });

  it("writes SARIF 2.1.0 and CycloneDX 1.6 vulnerabilities valid against their schemas", () => {
    const sarif = JSON.parse(renderSarif(result.findings, TOOL, "test"));
    expect(sarifValidator()(sarif)).toEqual([]);
    // the validators do reject broken documents
    expect(sarifValidator()({ version: "2.1.0", runs: [{ results: [] }] })).not.toEqual([]);
    expect(
      cycloneDxValidator("1.6")({
        bomFormat: "CycloneDX",
        specVersion: "1.6",
        vulnerabilities: [{ ratings: [{ severity: "dire" }] }],
      }),
    ).not.toEqual([]);
    expect(sarif.runs[0].results).toHaveLength(result.findings.length);
    const cdx = JSON.parse(renderCycloneDxVulnerabilities(result.sbom, result.findings));
    expect(cycloneDxValidator("1.6")(cdx)).toEqual([]);
    expect(cdx.vulnerabilities.map((v: { id: string }) => v.id).sort()).toEqual(
      [...new Set(result.findings.map((f) => f.id))].sort(),
    );
    // every affects reference points at a component of the same BOM
    const refs = new Set<string>();
    const walk = (cs: { "bom-ref": string; components?: unknown[] }[]) => {
      for (const c of cs) {
        refs.add(c["bom-ref"]);
        walk((c.components ?? []) as { "bom-ref": string }[]);
      }
    };
    walk(cdx.components);
    for (const v of cdx.vulnerabilities) {
      for (const a of v.affects) {
        expect(refs.has(a.ref)).toBe(true);
      }
    }
  });

  it("scans an SBOM file with the same result as the image", async () => {
    const file = join(tempDir(), "sbom.cdx.json");
    writeFileSync(file, renderSbom(result.sbom, "cyclonedx-1.6"));
    const r = await scan(ctx, `sbom:${file}`, { created: new Date(0), record: false });
    expect(
      new Set(r.findings.map((f) => `${f.package.name}@${f.package.version} ${f.id}`)),
    ).toEqual(
      new Set(result.findings.map((f) => `${f.package.name}@${f.package.version} ${f.id}`)),
    );
  });

  it("runs from the command line with --json and fails on severity thresholds", async () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
        encoding: "utf8",
      });
    const json = run(["--scan", "--image", `oci:${layout}:scan`, "--json", "--no-evidence"]);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).findings.length).toBe(result.findings.length);
    expect(run(["scan", `oci:${layout}:scan`, "--fail-on", "low", "--no-evidence"]).status).toBe(1);
    const vexFile = join(tempDir(), "r.vex");
    const vex = run([
      "--scan",
      "--image",
      `oci:${layout}:scan`,
      "--output-vex",
      vexFile,
      "--vex-format",
      "csaf",
    ]);
    expect(vex.stderr).not.toMatch(/error/);
    expect(vex.status).toBe(0);
    const csaf = JSON.parse(readFileSync(vexFile, "utf8"));
    expect(csafValidator()(csaf)).toEqual([]);
    // each component's status in the CSAF document is the one its statement gives
    const r2 = await scan(ctx, `oci:${layout}:scan`, { created: new Date(0), record: false });
    const want = new Map<string, Set<string>>();
    for (const v of r2.vex) {
      const key = v.status === "not_affected" ? "known_not_affected" : `known_${v.status}`;
      want.set(v.vulnerability, new Set([...(want.get(v.vulnerability) ?? []), key]));
    }
    expect(csaf.vulnerabilities).toHaveLength(want.size);
    for (const v of csaf.vulnerabilities as {
      cve?: string;
      ids?: { text: string }[];
      product_status: Record<string, unknown>;
    }[]) {
      const id = v.ids?.[0]?.text ?? (v.cve as string);
      expect(new Set(Object.keys(v.product_status)), id).toEqual(want.get(id));
    }
    const bad = run([
      "scan",
      `oci:${layout}:scan`,
      "--output-vex",
      vexFile,
      "--vex-format",
      "spdx",
    ]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown VEX format "spdx"/);
  });
});
