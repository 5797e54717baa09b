import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  createAppContext,
  findingsAtOrAbove,
  importVulnData,
  renderVex,
  type ScanResult,
  scan,
  TOOL,
  trustPersonKey,
  VEX_AUTHOR,
} from "../../src/app/index.js";
import { generateKeyPair } from "../../src/attest/index.js";
import type { Package } from "../../src/sbom/index.js";
import { goSymbolOf } from "../../src/vex/go-symbols.js";
import {
  analyzeFindings,
  applyVex,
  componentNotPresent,
  goSymbolsAbsent,
  kernelHeadersOnly,
  readVex,
  type VexStatement,
} from "../../src/vex/index.js";
import type { Finding } from "../../src/vuln/index.js";
import { buildImageLayout, type LayerFile } from "../support/build-image.js";
import { debDataTar, fetchDebs } from "../support/debs.js";
import { buildGoModuleBinary, goToolchain } from "../support/go-fixture.js";
import { retargetedAdvisories } from "../support/retarget.js";
import { csafValidator, cycloneDxValidator, openVexValidator } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

/** Whiteouts for every regular file and symlink a .deb installs under a directory prefix. */
function whiteoutsOf(deb: string, under: RegExp): LayerFile[] {
  const listing = spawnSync("tar", ["-t"], { input: debDataTar(deb), encoding: "utf8" }).stdout;
  return listing
    .split("\n")
    .map((p) => p.replace(/^\.\//, ""))
    .filter((p) => p && !p.endsWith("/") && under.test(`/${p}`))
    .map((p) => {
      const slash = p.lastIndexOf("/");
      return { name: `${p.slice(0, slash + 1)}.wh.${p.slice(slash + 1)}`, type: "file" as const };
    });
}

describe("VEX from image analysis", () => {
  let ctx: AppContext;
  let removed: ScanResult;
  let moved: ScanResult;
  let kept: ScanResult;
  let removedLayout: string;
  let keptLayout: string;
  let zlibSo: Uint8Array;
  beforeAll(async () => {
    ctx = createAppContext({ home: tempDir("cleanimg-vex-"), env: {} });
    await importVulnData(ctx, [retargetedAdvisories()]);
    const debs = fetchDebs(["base-files", "zlib1g", "linux-libc-dev"]);
    const zlib = debs[1] as string;
    const lib = spawnSync("tar", ["-t"], { input: debDataTar(zlib), encoding: "utf8" })
      .stdout.split("\n")
      .find((p) => /libz\.so\.1\.\d/.test(p)) as string;
    zlibSo = spawnSync("tar", ["-xO", lib], { input: debDataTar(zlib) }).stdout;
    const removeZlib = whiteoutsOf(zlib, /^\/(usr\/)?(lib|share\/doc)\//);
    const build = async (tag: string, second: LayerFile[]): Promise<string> => {
      const dir = join(tempDir(), tag);
      await buildImageLayout({
        dir,
        tag,
        layers: [
          { kind: "debs", debs },
          { kind: "files", files: [...second, { name: "app/", type: "dir" }] },
        ],
      });
      return dir;
    };
    removedLayout = await build("removed", removeZlib);
    const movedLayout = await build("moved", [
      ...removeZlib,
      { name: "opt/", type: "dir" },
      { name: `opt/${lib.split("/").pop()}`, type: "file", body: zlibSo },
    ]);
    keptLayout = await build("kept", []);
    removed = await scan(ctx, `oci:${removedLayout}:removed`, { created: new Date(0) });
    moved = await scan(ctx, `oci:${movedLayout}:moved`, { created: new Date(0) });
    kept = await scan(ctx, `oci:${keptLayout}:kept`, { created: new Date(0) });
  });

  const statementFor = (r: ScanResult, pkg: string) =>
    r.vex.filter((v) => v.subcomponent.name === pkg);

  it("writes one statement per finding", () => {
    for (const r of [removed, moved, kept]) {
      expect(r.findings.length).toBeGreaterThan(0);
      expect(r.vex).toHaveLength(r.findings.length);
    }
  });

  it("says component_not_present, with the missing files as evidence, when a later layer deleted the package", () => {
    const [s] = statementFor(removed, "zlib1g");
    expect(s?.status).toBe("not_affected");
    expect(s?.justification).toBe("component_not_present");
    expect(s?.evidence?.analysis).toBe("component-not-present@1");
    expect(s?.evidence?.dbSnapshot).toBe(removed.snapshot);
    expect(s?.evidence?.scan).toBe(removed.evidence?.evidence);
    const files = s?.evidence?.files ?? [];
    expect(files.find((f) => f.path === "/var/lib/dpkg/status")?.layer).toBe(
      removed.sbom.subject.kind === "image" ? removed.sbom.subject.layers[0] : "",
    );
    expect(files.filter((f) => f.observed === "absent").map((f) => f.path)).toContainEqual(
      expect.stringMatching(/\/libz\.so\.1\.\d/),
    );
  });

  it("keeps a package affected when its library still exists at another path", () => {
    const [s] = statementFor(moved, "zlib1g");
    expect(s?.status).toBe("affected");
    expect(s?.action).toContain("Update zlib1g to 1:9.9.9-1");
    expect(s?.evidence).toBeUndefined();
  });

  it("keeps an installed package affected", () => {
    expect(statementFor(kept, "zlib1g").map((s) => s.status)).toEqual(["affected"]);
  });

  it("records how the image runs in every impact statement, as context only", () => {
    for (const s of [...kept.vex, ...removed.vex]) {
      expect(s.impact).toContain(
        "Context (not part of the verdict): the image runs as root (the image config sets no User); starts nothing by default; no shell; no package manager; exposes no ports.",
      );
    }
    // the same analysis with a shell, a user and a port: only the context changes
    const runtime = {
      user: "app",
      entrypoint: ["/app/server"],
      cmd: [],
      exposedPorts: ["8080/tcp"],
      shells: ["/bin/sh"],
      packageManagers: ["/usr/bin/dpkg"],
    };
    const again = analyzeFindings({ ...kept.sbom, runtime }, kept.findings, {
      dbSnapshot: kept.snapshot,
      author: VEX_AUTHOR,
      timestamp: kept.sbom.created,
    });
    expect(again.map((s) => s.status)).toEqual(kept.vex.map((s) => s.status));
    expect(again[0]?.impact).toContain(
      'the image runs as user app; starts ["/app/server"]; shell present (/bin/sh); package manager present (/usr/bin/dpkg); exposes 8080/tcp.',
    );
  });

  it("says vulnerable_code_not_present for kernel CVEs on linux-libc-dev, which holds headers only", () => {
    const ss = statementFor(kept, "linux-libc-dev");
    expect(ss).toHaveLength(1);
    expect(ss[0]?.status).toBe("not_affected");
    expect(ss[0]?.justification).toBe("vulnerable_code_not_present");
    expect(ss[0]?.impact).toMatch(/host kernel must be assessed separately/);
    expect(ss[0]?.evidence?.analysis).toBe("kernel-headers-only@1");
  });

  it("does not count VEX-resolved findings in --fail-on", () => {
    const all = findingsAtOrAbove(kept.findings, "NONE");
    const unresolved = findingsAtOrAbove(kept.findings, "NONE", kept.vex);
    expect(all).toHaveLength(2);
    expect(unresolved.map((f) => f.package.name)).toEqual(["zlib1g"]);
  });

  it("records the statements with their evidence in the store, linked to the image", async () => {
    if (removed.sbom.subject.kind !== "image") {
      throw new Error("expected an image");
    }
    const links = await ctx
      .evidence()
      .find({ subject: removed.sbom.subject.manifestDigest, kind: "vex" });
    expect(links).toHaveLength(1);
    expect(links[0]?.annotations["notAffected"]).toBe("2");
    const link = links[0];
    if (!link) {
      throw new Error("no vex link");
    }
    const blob = await ctx.evidence().getBlob(link.evidence);
    const doc = JSON.parse(new TextDecoder().decode(blob?.bytes));
    expect(doc.statements).toEqual(JSON.parse(JSON.stringify(removed.vex)));
  });

  it("writes OpenVEX 0.2.0, CSAF 2.0 VEX and CycloneDX 1.6 VEX valid against their schemas", () => {
    const o = { author: VEX_AUTHOR, timestamp: removed.sbom.created, tool: TOOL };
    const openvex = JSON.parse(renderVex("openvex", removed.vex, o));
    expect(openVexValidator()(openvex)).toEqual([]);
    expect(openvex.statements.map((s: { status: string }) => s.status).sort()).toEqual([
      "not_affected",
      "not_affected",
    ]);
    expect(openvex.statements[0].products[0]["@id"]).toMatch(/^pkg:oci\/.+@sha256%3A[0-9a-f]{64}/);
    const csaf = JSON.parse(renderVex("csaf", kept.vex, o));
    expect(csafValidator()(csaf)).toEqual([]);
    const statuses = csaf.vulnerabilities.map((v: { product_status: Record<string, string[]> }) =>
      Object.keys(v.product_status),
    );
    expect(statuses.flat().sort()).toEqual(["known_affected", "known_not_affected"]);
    const cdx = JSON.parse(renderVex("cyclonedx", kept.vex, o));
    expect(cycloneDxValidator("1.6")(cdx)).toEqual([]);
    expect(cdx.specVersion).toBe("1.6");
    const cdx17 = JSON.parse(renderVex("cyclonedx-1.7", kept.vex, o));
    expect(cycloneDxValidator("1.7")(cdx17)).toEqual([]);
    expect(cdx17.specVersion).toBe("1.7");
    expect({ ...cdx17, specVersion: "1.6", $schema: cdx.$schema }).toEqual(cdx);
    expect(
      cdx.vulnerabilities.map((v: { analysis: { state: string } }) => v.analysis.state).sort(),
    ).toEqual(["exploitable", "not_affected"]);
    // the validators reject what the formats forbid
    expect(
      openVexValidator()({
        ...openvex,
        statements: [{ ...openvex.statements[0], status: "fine" }],
      }),
    ).not.toEqual([]);
    expect(openVexValidator()({ ...openvex, statements: [] })).not.toEqual([]);
    expect(csafValidator()({ ...csaf, document: { ...csaf.document, category: 7 } })).not.toEqual(
      [],
    );
  });

  it("reads back what it writes, in each format, as the same statements", () => {
    const o = { author: VEX_AUTHOR, timestamp: kept.sbom.created, tool: TOOL };
    const mine = [...kept.vex, ...removed.vex];
    const key = (s: {
      vulnerability: string;
      status: string;
      justification?: string;
      impact?: string;
      action?: string;
    }) => JSON.stringify([s.vulnerability, s.status, s.justification, s.impact, s.action]);
    for (const format of ["openvex", "csaf", "cyclonedx"] as const) {
      if (format !== "openvex") {
        // one document per image: CSAF and CycloneDX describe one product tree / BOM subject
        for (const r of [kept, removed]) {
          const back = readVex(
            new TextEncoder().encode(renderVex(format, r.vex, o)),
            format,
          ).statements;
          expect(back.map(key).sort(), format).toEqual(r.vex.map(key).sort());
          for (const b of back) {
            expect(b.subcomponents).toHaveLength(1);
            const s = r.vex.find(
              (x) =>
                x.vulnerability === b.vulnerability && x.subcomponent.purl === b.subcomponents[0],
            );
            expect(s, format).toBeDefined();
            expect(b.products).toContain(s?.product.purl);
          }
        }
        continue;
      }
      const back = readVex(new TextEncoder().encode(renderVex(format, mine, o)), format).statements;
      expect(back.map(key).sort()).toEqual(mine.map(key).sort());
      expect(back.map((b) => b.subcomponents[0]).sort()).toEqual(
        mine.map((s) => s.subcomponent.purl).sort(),
      );
    }
  });

  it("applies a person's VEX statement to the finding it names, newest first, and reports conflicts", () => {
    const zlib = statementFor(kept, "zlib1g")[0] as VexStatement;
    const doc = (status: string, timestamp: string, extra: Record<string, unknown> = {}) => ({
      vulnerability: "CVE-2005-2096",
      aliases: [],
      products: [kept.sbom.subject.kind === "image" ? kept.sbom.subject.manifestDigest : ""],
      subcomponents: ["pkg:deb/debian/zlib1g"],
      status: status as VexStatement["status"],
      timestamp,
      author: "alice@example.com",
      document: `${status}-${timestamp}.json`,
      ...extra,
    });
    const decided = applyVex(kept.vex, [
      doc("not_affected", "2026-01-01T00:00:00Z", {
        justification: "vulnerable_code_not_in_execute_path",
        impact: "the application never inflates untrusted data",
      }),
    ]);
    const z = decided.statements.find((s) => s.subcomponent.name === "zlib1g");
    expect(z).toMatchObject({
      status: "not_affected",
      justification: "vulnerable_code_not_in_execute_path",
      author: "alice@example.com",
      origin: { document: "not_affected-2026-01-01T00:00:00Z.json" },
    });
    expect(z?.evidence).toBeUndefined();
    expect(z?.action).toBeUndefined();
    // the linux-libc-dev statement is untouched
    expect(decided.statements.find((s) => s.subcomponent.name === "linux-libc-dev")).toEqual(
      statementFor(kept, "linux-libc-dev")[0],
    );
    // a newer statement supersedes an older one
    const newer = applyVex(kept.vex, [
      doc("not_affected", "2026-01-01T00:00:00Z", {
        justification: "vulnerable_code_not_in_execute_path",
      }),
      doc("affected", "2026-02-01T00:00:00Z"),
    ]).statements.find((s) => s.subcomponent.name === "zlib1g");
    expect(newer?.status).toBe("affected");
    expect(newer?.action).toBe(zlib.action);
    // two documents disagreeing at the same time: reported, the cautious one kept
    const clash = applyVex(kept.vex, [
      doc("not_affected", "2026-03-01T00:00:00Z", { justification: "component_not_present" }),
      doc("affected", "2026-03-01T00:00:00Z"),
    ]);
    expect(clash.issues.map((i) => i.code)).toEqual(["VEX_CONFLICT"]);
    expect(clash.statements.find((s) => s.subcomponent.name === "zlib1g")?.status).toBe("affected");
    // a not_affected with no reason is not a statement
    const bare = applyVex(kept.vex, [doc("not_affected", "2026-04-01T00:00:00Z")]);
    expect(bare.issues.map((i) => i.code)).toEqual(["VEX_STATEMENT_INVALID"]);
    expect(bare.statements).toEqual(kept.vex);
    // another image's digest does not match
    const other = applyVex(kept.vex, [
      doc("not_affected", "2026-01-01T00:00:00Z", {
        justification: "component_not_present",
        products: [`sha256:${"0".repeat(64)}`],
      }),
    ]);
    expect(other.statements).toEqual(kept.vex);
  });

  it("takes VEX documents on the command line: --vex resolves what --fail-on counts", () => {
    const digest = kept.sbom.subject.kind === "image" ? kept.sbom.subject.manifestDigest : "";
    const human = join(tempDir(), "human.openvex.json");
    writeFileSync(
      human,
      JSON.stringify({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        author: "alice@example.com",
        timestamp: "2026-01-01T00:00:00Z",
        version: 1,
        statements: [
          {
            vulnerability: { name: "DSA-740-1" },
            products: [
              {
                "@id": `pkg:oci/kept@${encodeURIComponent(digest)}`,
                subcomponents: [{ "@id": "pkg:deb/debian/zlib1g" }],
              },
            ],
            status: "not_affected",
            justification: "vulnerable_code_not_in_execute_path",
            impact_statement: "nothing in the image inflates untrusted data",
          },
        ],
      }),
    );
    const run = (extra: string[]) =>
      spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          MAIN,
          "scan",
          `oci:${keptLayout}:kept`,
          "--fail-on",
          "low",
          "--no-evidence",
          ...extra,
        ],
        { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", CLEANIMG_HOME: ctx.home } },
      );
    const without = run([]);
    expect(without.status, without.stderr).toBe(1);
    const withVex = run(["--vex", human]);
    expect(withVex.status, withVex.stderr).toBe(0);
    expect(withVex.stdout).toMatch(/^not_affected +UNKNOWN +zlib1g /m);
    const missing = run(["--vex", join(tempDir(), "nope.json")]);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toMatch(/cannot read VEX document .*nope\.json: ENOENT/);
  });

  it("vex add records a person's decision as OpenVEX evidence that later scans apply", async () => {
    const home = tempDir("cleanimg-vex-add-");
    const run = (args: string[], extraEnv: Record<string, string> = {}) =>
      spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
        encoding: "utf8",
        env: { PATH: process.env["PATH"] ?? "", CLEANIMG_HOME: home, ...extraEnv },
      });
    const image = `oci:${keptLayout}:kept`;
    expect(run(["db", "import", retargetedAdvisories()]).status).toBe(0);
    const vexAdd = (args: string[], extraEnv: Record<string, string> = {}) =>
      run(["vex", "add", "--image", image, ...args], extraEnv);
    // refused: not_affected without a reason, unknown justification, no author
    const noReason = vexAdd([
      "--vuln",
      "CVE-2005-2096",
      "--status",
      "not_affected",
      "--author",
      "a",
    ]);
    expect(noReason.status).toBe(2);
    expect(noReason.stderr).toMatch(/not_affected needs a --justification or an --impact/);
    const na = ["--vuln", "X", "--status", "not_affected"];
    expect(vexAdd([...na, "--justification", "trust_me", "--author", "a"]).stderr).toMatch(
      /unknown justification "trust_me"/,
    );
    expect(vexAdd([...na, "--impact", "x"]).stderr).toMatch(/needs its author/);
    // signed by the deciding person, whose key this site trusts
    const keys = tempDir();
    const alice = generateKeyPair("ecdsa-p256");
    writeFileSync(join(keys, "alice.key"), alice.privatePem);
    writeFileSync(join(keys, "alice.pub"), alice.publicPem);
    await trustPersonKey(createAppContext({ home, env: {} }), join(keys, "alice.pub"));
    const add = vexAdd(
      [
        "--vuln",
        "CVE-2005-2096",
        "--status",
        "not_affected",
        "--justification",
        "vulnerable_code_not_in_execute_path",
        "--impact",
        "the service never inflates untrusted input",
        "--component",
        "pkg:deb/debian/zlib1g",
        "--key",
        join(keys, "alice.key"),
        "--json",
      ],
      { CLEANIMG_AUTHOR: "alice@example.com" },
    );
    expect(add.status, add.stderr).toBe(0);
    const recorded = JSON.parse(add.stdout);
    expect(recorded.evidence.kind).toBe("vex-decision");
    expect(recorded.evidence.annotations.author).toBe("alice@example.com");
    expect(recorded.evidence.annotations.signer).toBe(recorded.signer);
    const blob = await createAppContext({ home, env: {} })
      .evidence()
      .getBlob(recorded.evidence.evidence);
    // a Sigstore bundle whose in-toto statement carries the OpenVEX document
    const bundle = JSON.parse(new TextDecoder().decode(blob?.bytes));
    const signed = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8"));
    expect(signed.predicateType).toBe("https://openvex.dev/ns/v0.2.0");
    expect(signed.subject[0].digest.sha256).toBe(recorded.image.slice(7));
    expect(openVexValidator()(signed.predicate)).toEqual([]);
    const scanned = run(["scan", image, "--json", "--fail-on", "low"]);
    expect(scanned.status, scanned.stderr).toBe(0);
    const doc = JSON.parse(scanned.stdout);
    const zlib = doc.vex.find((v: VexStatement) => v.subcomponent.name === "zlib1g");
    expect(zlib).toMatchObject({
      status: "not_affected",
      justification: "vulnerable_code_not_in_execute_path",
      author: "alice@example.com",
    });
    expect(zlib.origin.document).toContain(recorded.evidence.evidence);
    const stored = run(["evidence", "ls", "--subject", recorded.image, "--json"]);
    expect(JSON.parse(stored.stdout).map((e: { kind: string }) => e.kind)).toContain(
      "vex-decision",
    );
  }, 300_000);

  it("runs the design's command: --scan --image REF --output-vex report.vex", () => {
    const out = join(tempDir(), "report.vex");
    // the fixture advisories are years old: this site accepts data of that age (maxDbAge), so
    // the command as written has nothing to warn about
    writeFileSync(join(ctx.home, "config.json"), JSON.stringify({ maxDbAge: "36500d" }));
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        MAIN,
        "--scan",
        "--image",
        `oci:${removedLayout}:removed`,
        "--output-vex",
        out,
      ],
      {
        encoding: "utf8",
        env: { PATH: process.env["PATH"] ?? "", CLEANIMG_HOME: ctx.home },
      },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/wrote 2 openvex VEX statements to .*report\.vex \(2 not_affected/);
    const doc = JSON.parse(readFileSync(out, "utf8"));
    expect(openVexValidator()(doc)).toEqual([]);
    expect(doc.statements[0].status_notes).toMatch(
      /analysis (component-not-present|kernel-headers-only)@1 on image sha256:/,
    );
    // vex generate: the same statements without the scan table
    const gen = join(tempDir(), "gen.cdx.json");
    const g = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        MAIN,
        "vex",
        "generate",
        `oci:${removedLayout}:removed`,
        "-o",
        gen,
        "--vex-format",
        "cyclonedx",
      ],
      { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", CLEANIMG_HOME: ctx.home } },
    );
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout).toMatch(/wrote 2 cyclonedx VEX statements/);
    const cdx = JSON.parse(readFileSync(gen, "utf8"));
    expect(cycloneDxValidator("1.6")(cdx)).toEqual([]);
    expect(
      cdx.vulnerabilities.map((v: { analysis: { state: string } }) => v.analysis.state),
    ).toEqual(["not_affected", "not_affected"]);
  });
});

describe("VEX analyses refuse what they cannot prove", () => {
  const pkg = (over: Partial<Package>): Package => ({
    id: "pkg-1",
    name: "linux-libc-dev",
    version: "6.1.1-1",
    type: "deb",
    purl: "pkg:deb/debian/linux-libc-dev@6.1.1-1",
    cpes: [],
    licenseDeclared: [],
    foundBy: "dpkg",
    locations: [{ path: "/var/lib/dpkg/status" }],
    checksums: [],
    files: [{ path: "/usr/include/linux/if.h", md5: "0" }],
    dependsOn: [],
    ...over,
  });
  const finding = (flags: string[]): Finding =>
    ({ flags, matchedAs: { ecosystem: "Debian:12", name: "linux" } }) as unknown as Finding;
  const sbom = {} as never;

  it("kernel headers: not when the package also ships a kernel module", () => {
    const p = pkg({
      files: [{ path: "/usr/include/linux/if.h" }, { path: "/lib/modules/6.1/x.ko" }],
    });
    expect(kernelHeadersOnly(finding(["kernel-headers"]), p, sbom)).toBeUndefined();
    expect(kernelHeadersOnly(finding([]), pkg({}), sbom)).toBeUndefined();
    expect(kernelHeadersOnly(finding(["kernel-headers"]), pkg({}), sbom)?.justification).toBe(
      "vulnerable_code_not_present",
    );
  });

  it("component not present: not without a presence record (rpm), nor with one file left", () => {
    expect(componentNotPresent(finding([]), pkg({}), sbom)).toBeUndefined();
    const some = pkg({ presence: { checked: 3, present: 1, missing: ["/a", "/b"] } });
    expect(componentNotPresent(finding([]), some, sbom)).toBeUndefined();
    const none = pkg({ presence: { checked: 3, present: 0, missing: ["/a", "/b", "/c"] } });
    expect(componentNotPresent(finding([]), none, sbom)?.justification).toBe(
      "component_not_present",
    );
    // a big package: every file is checked, the evidence names the first 25
    const missing = Array.from({ length: 400 }, (_, i) => `/usr/lib/x/${i}.so`);
    const big = componentNotPresent(
      finding([]),
      pkg({ presence: { checked: 400, present: 0, missing } }),
      sbom,
    );
    expect(big?.evidence.files.filter((f) => f.observed === "absent")).toHaveLength(25);
    expect(big?.evidence.found).toMatch(
      /^0 of 400 regular files .* first 25 absent paths are listed$/,
    );
  });

  it("Go symbols: pclntab names read as govulncheck reads them", () => {
    const read = (n: string) => {
      const s = goSymbolOf(n);
      return s ? `${s.pkg} ${s.symbol}` : undefined;
    };
    expect(read("gopkg.in/yaml%2ev3.(*parser).parse")).toBe("gopkg.in/yaml.v3 parser.parse");
    expect(read("net/http.(*conn).serve")).toBe("net/http conn.serve");
    expect(read("net/http.Header.Get")).toBe("net/http Header.Get");
    expect(read("golang.org/x/net/html.Parse.func1")).toBe("golang.org/x/net/html Parse.func1");
    expect(read("example.com/m.(*T).M-fm")).toBe("example.com/m T.M-fm");
    expect(read("sync/atomic.(*Pointer[...]).Load")).toBe("sync/atomic Pointer.Load");
    expect(read("slices.Sort[...]")).toBe("slices Sort");
    expect(read("crypto/internal/entropy/v1%2e0%2e0.Seed")).toBe(
      "crypto/internal/entropy/v1.0.0 Seed",
    );
    expect(read("go.uber.org/zap.New")).toBe("go.uber.org/zap New");
    expect(read("type:.eq.[2]string")).toBeUndefined();
    expect(read("type..eq.[2]interface {}")).toBeUndefined();
    expect(read("example.com/bad%zz.F")).toBeUndefined();
  });

  it("Go symbols: not when the names look rewritten (an obfuscator) or the advisory names no code", () => {
    const record = {
      id: "GO-TEST-1",
      affected: [
        {
          package: { ecosystem: "Go", name: "example.com/lib" },
          ecosystem_specific: { imports: [{ path: "example.com/lib/x", symbols: ["Parse"] }] },
        },
      ],
    };
    const goFinding = {
      id: "GO-TEST-1",
      flags: [],
      matchedAs: { ecosystem: "Go", name: "example.com/lib" },
    } as unknown as Finding;
    const bin = (names: string[]) =>
      pkg({
        type: "golang",
        name: "example.com/lib",
        locations: [{ path: "/app/bin" }],
        symbols: { table: "gopclntab", names },
      });
    const records = new Map([["GO-TEST-1", record as never]]);
    // readable names of the module, none vulnerable: proven
    expect(
      goSymbolsAbsent(goFinding, bin(["example.com/lib/y.Other", "main.main"]), sbom, records)
        ?.justification,
    ).toBe("vulnerable_code_not_present");
    // the vulnerable function present: stays affected
    expect(
      goSymbolsAbsent(goFinding, bin(["example.com/lib/x.Parse"]), sbom, records),
    ).toBeUndefined();
    // a closure inside it is not the function (govulncheck reads x.Parse.func1 as Parse.func1)
    expect(
      goSymbolsAbsent(goFinding, bin(["example.com/lib/x.Parse.func1"]), sbom, records)
        ?.justification,
    ).toBe("vulnerable_code_not_present");
    // no function carries the module's path: the names were rewritten, nothing is proven
    expect(
      goSymbolsAbsent(goFinding, bin(["a1b2c3.Z", "main.main"]), sbom, records),
    ).toBeUndefined();
    // an advisory without imports proves nothing
    const bare = new Map([
      [
        "GO-TEST-1",
        { id: "GO-TEST-1", affected: [{ package: record.affected[0]?.package }] } as never,
      ],
    ]);
    expect(
      goSymbolsAbsent(goFinding, bin(["example.com/lib/y.Other"]), sbom, bare),
    ).toBeUndefined();
    // the standard library: a binary with no readable std names is not judged
    const std = { ...goFinding, matchedAs: { ecosystem: "Go", name: "stdlib" } } as Finding;
    const stdRecords = new Map([
      [
        "GO-TEST-1",
        {
          id: "GO-TEST-1",
          affected: [
            {
              package: { ecosystem: "Go", name: "stdlib" },
              ecosystem_specific: { imports: [{ path: "net/http", symbols: ["Serve"] }] },
            },
          ],
        } as never,
      ],
    ]);
    const stdBin = (names: string[]) => ({ ...bin(names), name: "stdlib" });
    expect(
      goSymbolsAbsent(std, stdBin(["runtime.main", "x9.Q"]), sbom, stdRecords),
    ).toBeUndefined();
    expect(
      goSymbolsAbsent(std, stdBin(["runtime.main", "os.Exit"]), sbom, stdRecords)?.justification,
    ).toBe("vulnerable_code_not_present");
  });
});

describe("Go symbol analysis on a real Go binary", () => {
  let result: ScanResult;
  let stripped: ScanResult;
  let nmNames: Set<string>;
  let records: Map<
    string,
    {
      affected: {
        package: { name: string };
        ecosystem_specific?: {
          imports?: { path: string; symbols?: string[]; goos?: string[]; goarch?: string[] }[];
        };
      }[];
    }
  >;
  beforeAll(async () => {
    const ctx = createAppContext({ home: tempDir("cleanimg-vex-go-"), env: {} });
    await importVulnData(ctx, [join(VULNDB, "go-osv.jsonl.gz")]);
    const bin = buildGoModuleBinary();
    const strippedBin = join(tempDir(), "hello-stripped");
    execFileSync("strip", ["-o", strippedBin, bin]);
    const image = async (body: Uint8Array, tag: string): Promise<ScanResult> => {
      const dir = join(tempDir(), tag);
      await buildImageLayout({
        dir,
        tag,
        layers: [
          {
            kind: "files",
            files: [
              { name: "app/", type: "dir" },
              { name: "app/hello", type: "file", mode: 0o755, body },
            ],
          },
        ],
      });
      return scan(ctx, `oci:${dir}:${tag}`, { created: new Date(0) });
    };
    result = await image(readFileSync(bin), "go");
    stripped = await image(readFileSync(strippedBin), "stripped");
    // the independent listing: `go tool nm` from Debian's Go toolchain (text symbols; the
    // linker's ABI0 wrappers carry a .abi0 suffix that the pclntab does not)
    const { go, goroot } = goToolchain();
    nmNames = new Set(
      execFileSync(go, ["tool", "nm", bin], {
        encoding: "utf8",
        env: { ...process.env, GOROOT: goroot },
      })
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f[1] === "T" || f[1] === "t")
        .map((f) =>
          f
            .slice(2)
            .join(" ")
            .replace(/\.abi0$/, ""),
        ),
    );
    records = new Map(
      gunzipSync(readFileSync(join(VULNDB, "go-osv.jsonl.gz")))
        .toString("utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .map((r) => [r.id, r]),
    );
  });

  it("reads every function go tool nm lists from the pclntab, and the same from the stripped binary", () => {
    const names = result.sbom.packages.find((p) => p.name === "stdlib")?.symbols?.names ?? [];
    expect(nmNames.size).toBeGreaterThan(1000);
    // not functions of any package: the linker's text-segment markers, and the compiler's
    // generated equality functions for array types (which advisories never name)
    const generated = (n: string) => /^runtime\.e?text$/.test(n) || n.startsWith("type..eq.");
    expect([...nmNames].filter((n) => !names.includes(n) && !generated(n))).toEqual([]);
    expect([...nmNames].filter((n) => generated(n) && !names.includes(n)).length).toBeLessThan(5);
    // more names than nm: the functions inlined into others, which the pclntab keeps
    expect(names.length).toBeGreaterThan(nmNames.size);
    expect(stripped.sbom.packages.find((p) => p.name === "stdlib")?.symbols?.names).toEqual(names);
  });

  it("says not_affected only when no vulnerable symbol is linked, and stays affected when one is", () => {
    const stdlib = result.vex.filter((v) => v.subcomponent.name === "stdlib");
    const notAffected = stdlib.filter((v) => v.status === "not_affected");
    const affected = stdlib.filter((v) => v.status === "affected");
    expect(notAffected.length).toBeGreaterThan(0);
    expect(affected.length).toBeGreaterThan(0);
    // checked against nm with a plain reading of the advisory's symbols (imports for other
    // targets than this linux/amd64 program are not compiled in)
    const linked = (id: string): boolean => {
      const rec = records.get(id);
      return (rec?.affected ?? [])
        .filter((a) => a.package.name === "stdlib")
        .flatMap((a) => a.ecosystem_specific?.imports ?? [])
        .filter(
          (imp) =>
            (imp.goos ?? ["linux"]).includes("linux") &&
            (imp.goarch ?? ["amd64"]).includes("amd64"),
        )
        .some((imp) =>
          imp.symbols?.length
            ? imp.symbols.some((s) => {
                const [t, m] = s.split(".");
                return m
                  ? nmNames.has(`${imp.path}.${t}.${m}`) || nmNames.has(`${imp.path}.(*${t}).${m}`)
                  : nmNames.has(`${imp.path}.${s}`);
              })
            : [...nmNames].some((n) => n.startsWith(`${imp.path}.`)),
        );
    };
    for (const v of notAffected) {
      expect(linked(v.vulnerability), v.vulnerability).toBe(false);
      expect(v.justification).toBe("vulnerable_code_not_present");
      expect(v.evidence?.analysis).toBe("go-symbols@2");
      expect(v.evidence?.files[0]?.observed).toMatch(
        /^gopclntab \(Go 1\.18 layout\): \d+ function names \(inlined functions included\) in \d+ packages, none of /,
      );
      expect(v.evidence?.files[0]?.path).toBe("/app/hello");
      expect(v.evidence?.files[0]?.layer).toMatch(/^sha256:/);
    }
    expect(affected.some((v) => linked(v.vulnerability))).toBe(true);
    // the stripped binary gives the same statements
    expect(stripped.vex.map((v) => `${v.vulnerability} ${v.status}`)).toEqual(
      result.vex.map((v) => `${v.vulnerability} ${v.status}`),
    );
  });
});

describe("VEX documents in", () => {
  const ATT = resolve(import.meta.dirname, "../../../shared/corpus/attestations/vex");
  const read = (p: string) => readVex(new Uint8Array(readFileSync(join(ATT, p))), p);

  it("reads the OpenVEX spec and Trivy examples, CSAF VEX profile examples and CycloneDX VEX", () => {
    const spec = read("openvex-spec-examples/openvex-spec-example-0.json");
    expect(spec.format).toBe("openvex");
    expect(spec.statements.length).toBeGreaterThan(0);
    const trivy = read("trivy-testdata/openvex-oci.json");
    expect(trivy.statements).toEqual([
      expect.objectContaining({
        vulnerability: "CVE-2022-3715",
        products: ["pkg:oci/debian"],
        subcomponents: ["pkg:deb/debian/bash"],
        status: "not_affected",
        justification: "vulnerable_code_not_in_execute_path",
        author: "Aqua Security",
      }),
    ]);
    const dir = join(ATT, "csaf/examples/csaf_vex");
    const statuses = new Set<string>();
    for (const f of readdirSync(dir)) {
      const d = read(`csaf/examples/csaf_vex/${f}`);
      expect(d.format).toBe("csaf");
      for (const s of d.statements) {
        statuses.add(s.status);
        expect(s.vulnerability).toMatch(/\S/);
        expect(s.products.length).toBe(1);
      }
    }
    expect([...statuses].sort()).toEqual([
      "affected",
      "fixed",
      "not_affected",
      "under_investigation",
    ]);
    const na = read("csaf/examples/csaf_vex/2022-evd-uc-01-na-001.json").statements;
    expect(na.map((s) => s.status)).toContain("not_affected");
    const cdx = read("cyclonedx-bom-examples/vex.json");
    expect(cdx.format).toBe("cyclonedx");
    expect(cdx.statements[0]?.vulnerability).toBe("CVE-2020-25649");
    expect(() => readVex(new TextEncoder().encode('{"spdxVersion":"SPDX-2.3"}'), "x.json")).toThrow(
      /x\.json: not a VEX document/,
    );
  });
});
