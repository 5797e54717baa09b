import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext, generateSbom, type SbomResult } from "../../src/app/index.js";
import { type Package, renderSbom } from "../../src/sbom/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { cycloneDxValidator, spdx3Validator, spdx23Validator } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

const PY_DEBS = [
  "base-files",
  "python3-six",
  "python3-idna",
  "python3-certifi",
  "python3-urllib3",
  "python3-chardet",
  "python3-charset-normalizer",
  "python3-requests",
];
const NODE_DEBS = ["node-ms", "node-debug", "node-yallist", "node-lru-cache", "node-semver"];
const DISTROLESS_DEBS = ["base-files", "netbase", "tzdata", "ca-certificates"];
const CREATED = new Date("2026-01-02T03:04:05Z");

/** Unpacks with umoci (independent of our reader) and returns the rootfs path. */
function unpack(layout: string, tag: string): string {
  const bundle = join(tempDir(), "bundle");
  execFileSync("umoci", ["unpack", "--rootless", "--image", `${layout}:${tag}`, bundle], {
    stdio: "pipe",
  });
  return join(bundle, "rootfs");
}

/** Ground truth from dpkg itself. */
function dpkgTruth(rootfs: string): Set<string> {
  // dpkg-query's own ${Field} format syntax, not a template string
  const format = ["db:Status-Status", "Package", "Version"].map((f) => `$\{${f}}`).join(" ");
  const out = execFileSync(
    "dpkg-query",
    [`--admindir=${rootfs}/var/lib/dpkg`, "-W", `-f=${format}\\n`],
    { encoding: "utf8" },
  );
  return new Set(
    out
      .split("\n")
      .filter((l) => l.startsWith("installed "))
      .map((l) => l.slice("installed ".length)),
  );
}

/** Ground truth for distroless status.d files, read with Python's RFC 822 parser. */
function statusDTruth(rootfs: string): Set<string> {
  const script = `
import email.parser, os, sys
d = sys.argv[1] + "/var/lib/dpkg/status.d"
for f in sorted(os.listdir(d)):
    if f.endswith(".md5sums"): continue
    m = email.parser.Parser().parsestr(open(os.path.join(d, f)).read())
    print(m["Package"], m["Version"])`;
  return new Set(
    execFileSync("python3", ["-c", script, rootfs], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean),
  );
}

/** Ground truth for Python distributions, from importlib.metadata. */
function pythonTruth(rootfs: string): Set<string> {
  const script = `
import importlib.metadata as m, sys
for d in m.distributions(path=[sys.argv[1] + "/usr/lib/python3/dist-packages"]):
    print(d.metadata["Name"], d.version)`;
  return new Set(
    execFileSync("python3", ["-c", script, rootfs], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean),
  );
}

/** Ground truth for installed npm packages: every package.json directly in a package directory. */
function npmTruth(rootfs: string): Set<string> {
  const script = `
import json, os, re, sys
root = sys.argv[1]
pat = re.compile(r"/(node_modules|usr/share/nodejs)/(@[^/]+/)?[^/@][^/]*/package\\.json$")
for dp, dn, fn in os.walk(root):
    if "package.json" in fn:
        p = os.path.join(dp, "package.json")
        if pat.search(p[len(root):]):
            j = json.load(open(p))
            if "name" in j and "version" in j: print(j["name"], j["version"])`;
  return new Set(
    execFileSync("python3", ["-c", script, rootfs], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean),
  );
}

function found(r: SbomResult, type: string): Set<string> {
  return new Set(
    r.sbom.packages.filter((p: Package) => p.type === type).map((p) => `${p.name} ${p.version}`),
  );
}

function score(
  got: Set<string>,
  truth: Set<string>,
): { precision: number; recall: number; missed: string[]; extra: string[] } {
  const tp = [...got].filter((x) => truth.has(x)).length;
  return {
    precision: got.size === 0 ? (truth.size === 0 ? 1 : 0) : tp / got.size,
    recall: truth.size === 0 ? 1 : tp / truth.size,
    missed: [...truth].filter((x) => !got.has(x)),
    extra: [...got].filter((x) => !truth.has(x)),
  };
}

describe("SBOM accuracy on images built from Debian packages", () => {
  let appImage: string;
  let distroless: string;
  let app: SbomResult;
  let rootfs: string;
  const ctx = () => createAppContext({ home: tempDir("cleanimg-sbom-"), env: {} });

  beforeAll(async () => {
    const py = fetchDebs(PY_DEBS);
    const node = fetchDebs(NODE_DEBS);
    appImage = join(tempDir(), "app");
    // an application's own node_modules tree (not owned by dpkg), copied from the Debian modules
    const appModules = [];
    for (const n of ["ms", "debug", "semver"]) {
      const data = execFileSync("dpkg-deb", [
        "--fsys-tarfile",
        fetchDebs([`node-${n}`])[0] as string,
      ]);
      const pj = execFileSync("tar", ["-xO", `./usr/share/nodejs/${n}/package.json`], {
        input: data,
      });
      appModules.push({
        name: `app/node_modules/${n}/package.json`,
        type: "file" as const,
        body: pj,
      });
    }
    await buildImageLayout({
      dir: appImage,
      tag: "app",
      layers: [
        { kind: "debs", debs: py },
        { kind: "debs", debs: node },
        {
          kind: "files",
          files: [
            { name: "app/", type: "dir" },
            { name: "app/node_modules/", type: "dir" },
            ...["ms", "debug", "semver"].map((n) => ({
              name: `app/node_modules/${n}/`,
              type: "dir" as const,
            })),
            ...appModules,
          ],
        },
        { kind: "purge", debs: fetchDebs(["python3-chardet"]) },
      ],
    });
    distroless = join(tempDir(), "distroless");
    await buildImageLayout({
      dir: distroless,
      tag: "d",
      layers: [{ kind: "debs", debs: fetchDebs(DISTROLESS_DEBS), dpkgStatus: "status.d" }],
    });
    const c = ctx();
    app = await generateSbom(c, `oci:${appImage}:app`, {
      created: CREATED,
      format: "cyclonedx-1.6",
    });
    await c.close();
    rootfs = unpack(appImage, "app");
  });

  it("finds exactly the dpkg packages that dpkg-query reports, after a later layer purged one", () => {
    const truth = dpkgTruth(rootfs);
    expect([...truth].some((t) => t.startsWith("python3-chardet "))).toBe(false);
    const s = score(found(app, "deb"), truth);
    expect(s, JSON.stringify(s)).toMatchObject({ missed: [], extra: [] });
    expect(s.precision).toBeGreaterThanOrEqual(0.99);
    expect(s.recall).toBeGreaterThanOrEqual(0.99);
    expect(truth.size).toBe(PY_DEBS.length - 1 + NODE_DEBS.length);
  });

  it("finds the Python distributions importlib.metadata finds, linked to their Debian packages", () => {
    const truth = pythonTruth(rootfs);
    const s = score(found(app, "pypi"), truth);
    expect(s, JSON.stringify(s)).toMatchObject({ missed: [], extra: [] });
    expect(truth.size).toBeGreaterThanOrEqual(5);
    // owned by dpkg packages: contained by them, not by the image directly
    const requests = app.sbom.packages.find(
      (p) => p.type === "pypi" && p.name.toLowerCase() === "requests",
    );
    const deb = app.sbom.packages.find((p) => p.type === "deb" && p.name === "python3-requests");
    expect(app.sbom.relationships).toContainEqual({
      from: deb?.id,
      to: requests?.id,
      type: "contains",
    });
    expect(app.sbom.relationships).not.toContainEqual({
      from: "root",
      to: requests?.id,
      type: "contains",
    });
  });

  it("finds the npm packages of node_modules and of Debian's nodejs tree", () => {
    const truth = npmTruth(rootfs);
    const s = score(found(app, "npm"), truth);
    expect(s, JSON.stringify(s)).toMatchObject({ missed: [], extra: [] });
    const appMs = app.sbom.packages.filter((p) => p.type === "npm" && p.name === "ms");
    expect(appMs).toHaveLength(2);
    // the app's copy is the image's own; the Debian one belongs to node-ms
    const rootContains = app.sbom.relationships.filter((r) => r.from === "root").map((r) => r.to);
    expect(
      appMs.filter((p) => rootContains.includes(p.id)).map((p) => p.locations[0]?.path),
    ).toEqual(["/app/node_modules/ms/package.json"]);
  });

  it("records source packages, licenses, layers and file ownership for Debian packages", () => {
    const requests = app.sbom.packages.find((p) => p.name === "python3-requests");
    expect(requests?.source?.name).toBe("requests");
    expect(requests?.purl).toMatch(
      /^pkg:deb\/debian\/python3-requests@[^?]+\?arch=all&distro=debian-12&upstream=requests/,
    );
    expect(requests?.license).toBeDefined();
    expect(requests?.locations[0]?.layer).toMatch(/^sha256:/);
    expect(
      requests?.files.some((f) => f.path.endsWith("/requests/__init__.py") && f.md5?.length === 32),
    ).toBe(true);
    const semver = app.sbom.packages.find((p) => p.name === "node-semver");
    expect(
      app.sbom.relationships.filter((r) => r.from === semver?.id && r.type === "depends-on"),
    ).toHaveLength(1);
  });

  it("reads distroless-style status.d databases", async () => {
    const c = ctx();
    const r = await generateSbom(c, `oci:${distroless}:d`, { created: CREATED });
    await c.close();
    const s = score(found(r, "deb"), statusDTruth(unpack(distroless, "d")));
    expect(s, JSON.stringify(s)).toMatchObject({ missed: [], extra: [] });
    expect(r.sbom.packages.filter((p) => p.type === "deb")).toHaveLength(DISTROLESS_DEBS.length);
  });

  it("gives the same packages for the unpacked directory (dir:) as for the image", async () => {
    const c = ctx();
    const r = await generateSbom(c, `dir:${rootfs}`, { created: CREATED });
    await c.close();
    for (const t of ["deb", "pypi", "npm"]) {
      expect(found(r, t)).toEqual(found(app, t));
    }
  });

  it("writes every format valid against its official schema, byte-identical on a second run", async () => {
    const validators = {
      "cyclonedx-1.7": cycloneDxValidator("1.7"),
      "cyclonedx-1.6": cycloneDxValidator("1.6"),
      "cyclonedx-1.5": cycloneDxValidator("1.5"),
      "spdx-2.3": spdx23Validator(),
      "spdx-3": spdx3Validator(),
    } as const;
    for (const [format, validate] of Object.entries(validators)) {
      const c = ctx();
      const a = await generateSbom(c, `oci:${appImage}:app`, {
        created: CREATED,
        format: format as keyof typeof validators,
      });
      const b = await generateSbom(c, `oci:${appImage}:app`, {
        created: CREATED,
        format: format as keyof typeof validators,
        record: false,
      });
      await c.close();
      expect(validate(JSON.parse(a.document)), format).toEqual([]);
      expect(b.document, format).toBe(a.document);
      expect(a.evidence?.kind).toBe("sbom");
    }
  });

  it("reads back what it writes, in every format, with the same packages and edges", async () => {
    const purls = new Set(app.sbom.packages.map((p) => p.purl));
    const deps = app.sbom.relationships.filter((r) => r.type === "depends-on").length;
    for (const format of [
      "cyclonedx-1.7",
      "cyclonedx-1.6",
      "cyclonedx-1.5",
      "spdx-2.3",
      "spdx-3",
    ] as const) {
      const file = join(tempDir(), "sbom.json");
      writeFileSync(file, renderSbom(app.sbom, format));
      const c = ctx();
      const back = await generateSbom(c, `sbom:${file}`, {
        format: "cyclonedx-1.6",
        created: CREATED,
      });
      await c.close();
      expect(new Set(back.sbom.packages.map((p) => p.purl)), format).toEqual(purls);
      expect(
        back.sbom.relationships.filter((r) => r.type === "depends-on"),
        format,
      ).toHaveLength(deps);
      expect(back.sbom.distro?.id, format).toBe("debian");
      expect(cycloneDxValidator("1.6")(JSON.parse(back.document)), format).toEqual([]);
    }
  });

  it("reports NTIA minimum-element gaps instead of hiding them", () => {
    // every package here has a supplier or author except what the metadata lacks
    for (const q of app.quality) {
      expect(q.code).toMatch(/^SBOM_NTIA_/);
    }
    const withoutSupplier = app.sbom.packages.filter((p) => !p.supplier && !p.author).length;
    expect(app.quality.filter((q) => q.code === "SBOM_NTIA_SUPPLIER_MISSING")).toHaveLength(
      withoutSupplier,
    );
    expect(JSON.parse(readFileSync(join(appImage, "index.json"), "utf8")).manifests).toHaveLength(
      1,
    );
  });
});
