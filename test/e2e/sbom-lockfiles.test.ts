import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, generateSbom } from "../../src/app/index.js";
import { type Package, renderSbom, type Sbom, type SbomFormat } from "../../src/sbom/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import {
  cycloneDxValidator,
  SCHEMAS,
  spdx3Validator,
  spdx23Validator,
} from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/lockfiles");
// Debian's interpreter: it has tomllib and python3-yaml (the pyenv one on a dev machine may not)
const PYTHON = "/usr/bin/python3";

/** Independent readers of each lockfile format: "name version" per production package. */
const TRUTH_PY = String.raw`
import json, sys, tomllib, yaml, re
kind, path = sys.argv[1], sys.argv[2]
out = set()
if kind == "pnpm5":
    doc = yaml.safe_load(open(path))
    for key, meta in (doc.get("packages") or {}).items():
        if meta.get("dev") is True:
            continue
        parts = key.lstrip("/").split("/")
        name = "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]
        version = (parts[2] if parts[0].startswith("@") else parts[1]).split("_")[0]
        out.add(f"{name} {version}")
elif kind == "cargo":
    for p in tomllib.load(open(path, "rb")).get("package", []):
        out.add(f"{p['name']} {p['version']}")
elif kind == "poetry":
    for p in tomllib.load(open(path, "rb")).get("package", []):
        if p.get("category") != "dev":
            out.add(f"{p['name']} {p['version']}")
elif kind == "composer-installed":
    doc = json.load(open(path))
    pkgs = doc if isinstance(doc, list) else doc["packages"]
    dev = set([] if isinstance(doc, list) else doc.get("dev-package-names", []))
    out = {f"{p['name']} {p['version']}" for p in pkgs if p["name"] not in dev}
elif kind == "requirements":
    for line in open(path):
        m = re.match(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if m:
            out.add(f"{m.group(1)} {m.group(3)}")
print(json.dumps(sorted(out)))
`;

function truth(kind: string, path: string): Set<string> {
  const out = execFileSync(PYTHON, ["-c", TRUTH_PY, kind, path], { encoding: "utf8" });
  return new Set(JSON.parse(out) as string[]);
}

/** Bundler's own reading of a Gemfile.lock: "name version" (platform gems: "version-platform"). */
function bundlerTruth(path: string): Set<string> {
  const out = execFileSync(
    "ruby",
    [
      "-rbundler",
      "-rjson",
      "-e",
      "specs = Bundler::LockfileParser.new(File.read(ARGV[0])).specs; puts JSON.generate(specs.map { |s| [s.name, s.version.to_s, s.platform.to_s] })",
      path,
    ],
    // a PATH source is resolved against the Gemfile's directory, so give it one
    { encoding: "utf8", cwd: gemfileDir() },
  );
  return new Set(
    (JSON.parse(out) as [string, string, string][]).map(
      ([n, v, platform]) => `${n} ${v}${platform === "ruby" ? "" : ` ${platform}`}`,
    ),
  );
}

function gemfileDir(): string {
  const d = tempDir();
  writeFileSync(join(d, "Gemfile"), "");
  return d;
}

function found(sbom: Sbom, foundBy: string, path?: string): Package[] {
  return sbom.packages.filter(
    (p) => p.foundBy === foundBy && (path === undefined || p.locations[0]?.path === path),
  );
}

function nv(ps: readonly Package[]): Set<string> {
  return new Set(ps.map((p) => `${p.name} ${p.version}`));
}

async function sbomOfDir(dir: string): Promise<Sbom> {
  const ctx = createAppContext({ home: tempDir(), env: {} });
  try {
    return (await generateSbom(ctx, `dir:${dir}`, { record: false, created: new Date(0) })).sbom;
  } finally {
    await ctx.close();
  }
}

function place(root: string, path: string, body: string | Buffer): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), body);
}

describe("lockfiles Debian packages ship, in an image built from those packages", () => {
  const DEBS = [
    "base-files",
    "node-autoprefixer",
    "node-postcss",
    "librust-cargo-lock-dev",
    "puppet-module-rodjek-logrotate",
    "icingaweb2-module-x509",
    "ruby-asana",
    "python3-six",
  ];
  const PNPM = [
    "/usr/share/nodejs/autoprefixer/pnpm-lock.yaml",
    "/usr/share/nodejs/postcss/pnpm-lock.yaml",
    "/usr/share/nodejs/nanoid/pnpm-lock.yaml",
  ];
  const CARGO = "/usr/share/cargo/registry/cargo-lock-8.0.2/tests/examples/Cargo.lock";
  const GEMFILE = "/usr/share/puppet/modules.available/rodjek-logrotate/Gemfile.lock";
  const X509 = "/usr/share/icingaweb2/modules/x509";
  const POETRY = "/usr/share/inkscape/extensions/poetry.lock";

  it("reports each lockfile's production packages as the format's own reader does", async () => {
    const debs = fetchDebs(DEBS);
    const x = tempDir();
    for (const d of debs) {
      execFileSync("dpkg-deb", ["-x", d, x]);
    }
    // inkscape is large: only its poetry.lock is put into the image (as an unpackaged file)
    const [inkscape] = fetchDebs(["inkscape"]);
    const poetry = execFileSync(
      "sh",
      ["-c", `dpkg-deb --fsys-tarfile "$1" | tar -xO ".${POETRY}"`, "sh", inkscape as string],
      { maxBuffer: 64 * 1024 ** 2 },
    );
    place(x, POETRY, poetry);
    const six = execFileSync("dpkg-deb", ["-f", debs[7] as string, "Version"], {
      encoding: "utf8",
    })
      .trim()
      .replace(/-[^-]+$/, "");
    // the real requirements file of Debian's django-tables2 examples, as an application ships it,
    // and one that pins the python3-six Debian installs
    const [tables2] = fetchDebs(["python-django-tables2-doc"]);
    const requirements = execFileSync(
      "sh",
      [
        "-c",
        'dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/python-django-tables2-doc/examples/requirements.txt',
        "sh",
        tables2 as string,
      ],
      { encoding: "utf8" },
    );
    place(x, "/srv/web/requirements.txt", requirements);
    place(x, "/srv/tool/requirements.txt", `six==${six}\n`);

    const layout = join(tempDir(), "img");
    await buildImageLayout({
      dir: layout,
      tag: "locks",
      layers: [
        { kind: "debs", debs },
        {
          kind: "files",
          files: [
            { name: POETRY.slice(1), type: "file", body: poetry },
            { name: "srv/web/requirements.txt", type: "file", body: requirements },
            { name: "srv/tool/requirements.txt", type: "file", body: `six==${six}\n` },
          ],
        },
      ],
    });
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const { sbom } = await generateSbom(ctx, `oci:${layout}:locks`, {
      record: false,
      created: new Date(0),
    });
    await ctx.close();

    // a locked package that is also installed (Debian bundles some in the same package) is
    // reported once, as the installed package
    const installedNpm = nv(found(sbom, "npm-installed-package-cataloger"));
    let alsoInstalled = 0;
    for (const path of PNPM) {
      const want = truth("pnpm5", join(x, path));
      alsoInstalled += [...want].filter((p) => installedNpm.has(p)).length;
      expect(nv(found(sbom, "pnpm-lock-cataloger", path)), path).toEqual(
        new Set([...want].filter((p) => !installedNpm.has(p))),
      );
    }
    expect(alsoInstalled).toBeGreaterThan(0);
    expect(truth("pnpm5", join(x, PNPM[0] as string)).size).toBeGreaterThan(3);
    const cargo = found(sbom, "rust-cargo-lock-cataloger", CARGO);
    expect(nv(cargo)).toEqual(truth("cargo", join(x, CARGO)));
    const autocfg = cargo.find((p) => p.name === "autocfg");
    expect(autocfg?.purl).toBe("pkg:cargo/autocfg@1.1.0");
    expect(autocfg?.checksums).toEqual([
      {
        algorithm: "SHA256",
        value: "d468802bab17cbc0cc575e9b053f41e72aa36bfa6b7f55e3529ffa43161b97fa",
      },
    ]);
    expect(nv(found(sbom, "ruby-gemfile-lock-cataloger", GEMFILE))).toEqual(
      bundlerTruth(join(x, GEMFILE)),
    );
    expect(nv(found(sbom, "php-composer-installed-cataloger"))).toEqual(
      truth("composer-installed", join(x, X509, "vendor/composer/installed.json")),
    );
    // the composer.lock beside an installed vendor tree is described by that tree
    expect(found(sbom, "php-composer-lock-cataloger")).toEqual([]);
    const cron = sbom.packages.find((p) => p.name === "dragonmantank/cron-expression");
    expect(cron?.purl).toMatch(/^pkg:composer\/dragonmantank\/cron-expression@/);
    expect(cron?.license).toBe("MIT");
    const installedPy = nv(found(sbom, "python-installed-package-cataloger"));
    const poetryWant = truth("poetry", join(x, POETRY));
    expect(poetryWant.has(`six ${six}`) && installedPy.has(`six ${six}`)).toBe(true);
    expect(nv(found(sbom, "python-poetry-lock-cataloger"))).toEqual(
      new Set([...poetryWant].filter((p) => !installedPy.has(p))),
    );
    expect(nv(found(sbom, "python-requirements-cataloger", "/srv/web/requirements.txt"))).toEqual(
      truth("requirements", join(x, "srv/web/requirements.txt")),
    );

    // a lockfile in a documentation directory is an example, not software the image runs
    expect(sbom.packages.filter((p) => p.locations[0]?.path.startsWith("/usr/share/doc/"))).toEqual(
      [],
    );
    // the pinned six is the installed one: reported once, by the installed-package cataloger
    const sixes = sbom.packages.filter((p) => p.type === "pypi" && p.name === "six");
    expect(sixes.map((p) => [p.foundBy, p.version])).toEqual([
      ["python-installed-package-cataloger", six],
    ]);

    // every lockfile Debian ships is contained by its Debian package, not by the image directly
    const owner = (p: Package): string | undefined =>
      sbom.packages.find(
        (o) =>
          o.type === "deb" &&
          sbom.relationships.some((r) => r.from === o.id && r.to === p.id && r.type === "contains"),
      )?.name;
    expect(owner(autocfg as Package)).toBe("librust-cargo-lock-dev");
    expect(owner(cron as Package)).toBe("icingaweb2-module-x509");
    const poetryPkg = found(sbom, "python-poetry-lock-cataloger")[0] as Package;
    expect(owner(poetryPkg)).toBeUndefined();
    expect(sbom.relationships).toContainEqual({
      from: "root",
      to: poetryPkg.id,
      type: "contains",
    });
  });
});

describe("lockfiles the tools themselves wrote", () => {
  it("pnpm 8 (lockfile 6.0) and pnpm 9 (lockfile 9.0): the packages pnpm installs with --prod", async () => {
    for (const v of ["pnpm-v6", "pnpm-v9"]) {
      const dir = join(tempDir(), "root");
      place(dir, "app/pnpm-lock.yaml", readFileSync(join(FIXTURES, v, "pnpm-lock.yaml")));
      const sbom = await sbomOfDir(dir);
      const want = new Set(
        readFileSync(join(FIXTURES, v, "pnpm-ls-prod.txt"), "utf8")
          .trim()
          .split("\n")
          .map((l) => l.replace(/^(@?[^@]+)@/, "$1 ")),
      );
      expect(want.size).toBe(23);
      // debug and is-number are development dependencies; ms@2.1.2 is only debug's
      expect(nv(found(sbom, "pnpm-lock-cataloger")), v).toEqual(want);
      const babel = sbom.packages.find((p) => p.name === "@babel/code-frame");
      expect(babel?.purl).toBe("pkg:npm/%40babel/code-frame@7.22.13");
      expect(babel?.checksums[0]?.algorithm).toBe("SHA512");
      const chalk = sbom.packages.find((p) => p.name === "chalk" && p.version === "4.1.2");
      expect(chalk?.dependsOn).toEqual(["ansi-styles", "supports-color"]);
    }
  });

  it("Bundler 2.5 layout: GIT, PATH and GEM sections, platform gems and CHECKSUMS", async () => {
    const dir = join(tempDir(), "root");
    copyFileSync(join(FIXTURES, "formats/Gemfile.lock"), join(mkdirp(dir, "app"), "Gemfile.lock"));
    const sbom = await sbomOfDir(dir);
    const gems = found(sbom, "ruby-gemfile-lock-cataloger");
    const platformed = new Set(
      gems.map(
        (p) =>
          `${p.name} ${p.version}${p.purl.includes("platform=") ? ` ${p.purl.split("platform=")[1]}` : ""}`,
      ),
    );
    expect(platformed).toEqual(bundlerTruth(join(FIXTURES, "formats/Gemfile.lock")));
    const nokogiri = gems.find((p) => p.name === "nokogiri");
    expect(nokogiri?.purl).toBe("pkg:gem/nokogiri@1.16.2?platform=x86_64-linux");
    expect(nokogiri?.checksums[0]?.value).toMatch(/^7b5d3d3a/);
    expect(gems.find((p) => p.name === "i18n")?.dependsOn).toEqual(["concurrent-ruby"]);
  });

  it("Pipfile.lock, uv.lock and a .NET deps.json", async () => {
    const dir = join(tempDir(), "root");
    for (const f of ["Pipfile.lock", "uv.lock", "WebApp.deps.json"]) {
      copyFileSync(join(FIXTURES, "formats", f), join(mkdirp(dir, "app"), f));
    }
    const sbom = await sbomOfDir(dir);
    expect(nv(found(sbom, "python-pipfile-lock-cataloger"))).toEqual(
      new Set(["certifi 2024.2.2", "idna 3.6", "requests 2.31.0", "Flask-Login 0.6.3"]),
    );
    expect(sbom.packages.find((p) => p.name === "Flask-Login")?.purl).toBe(
      "pkg:pypi/flask-login@0.6.3",
    );
    expect(sbom.packages.find((p) => p.name === "certifi")?.checksums).toHaveLength(2);
    expect(nv(found(sbom, "python-uv-lock-cataloger"))).toEqual(
      new Set([
        "certifi 2024.2.2",
        "charset-normalizer 3.3.2",
        "idna 3.6",
        "requests 2.31.0",
        "urllib3 2.2.1",
      ]),
    );
    const dotnet = found(sbom, "dotnet-deps-cataloger");
    expect(nv(dotnet)).toEqual(
      new Set([
        "WebApp 1.0.0",
        "Data 1.0.0",
        "Newtonsoft.Json 13.0.3",
        "Serilog 3.1.1",
        "Serilog.AspNetCore 8.0.1",
      ]),
    );
    const json = dotnet.find((p) => p.name === "Newtonsoft.Json");
    expect(json?.purl).toBe("pkg:nuget/Newtonsoft.Json@13.0.3");
    expect(json?.checksums[0]?.algorithm).toBe("SHA512");
    const app = dotnet.find((p) => p.name === "WebApp") as Package;
    const edges = sbom.relationships
      .filter((r) => r.from === app.id && r.type === "depends-on")
      .map((r) => sbom.packages.find((p) => p.id === r.to)?.name)
      .sort();
    expect(edges).toEqual(["Data", "Newtonsoft.Json", "Serilog.AspNetCore"]);
  });

  it("NuGet's packages.lock.json: Direct and Transitive packages; those also in a deps.json once", async () => {
    const src = join(tempDir(), "root");
    copyFileSync(
      join(FIXTURES, "formats/packages.lock.json"),
      join(mkdirp(src, "src/WebApp"), "packages.lock.json"),
    );
    const alone = await sbomOfDir(src);
    const locked = found(alone, "dotnet-packages-lock-cataloger");
    expect(nv(locked)).toEqual(
      new Set(["Newtonsoft.Json 13.0.3", "Serilog.AspNetCore 8.0.1", "Serilog 3.1.1"]),
    );
    expect(locked.find((p) => p.name === "Serilog.AspNetCore")?.dependsOn).toEqual(["Serilog"]);
    expect(locked[0]?.checksums[0]?.algorithm).toBe("SHA512");
    // the published app beside it: its deps.json is what was installed
    copyFileSync(
      join(FIXTURES, "formats/WebApp.deps.json"),
      join(mkdirp(src, "app"), "WebApp.deps.json"),
    );
    const both = await sbomOfDir(src);
    expect(found(both, "dotnet-packages-lock-cataloger")).toEqual([]);
    expect(nv(found(both, "dotnet-deps-cataloger"))).toContain("Serilog 3.1.1");
  });

  it("an unreadable lockfile is a recorded issue naming the file, and the rest is still reported", async () => {
    const dir = join(tempDir(), "root");
    place(dir, "a/Cargo.lock", '[[package]]\nname = "x"\nversion = ');
    place(dir, "b/composer.lock", "{not json");
    place(dir, "c/Pipfile.lock", readFileSync(join(FIXTURES, "formats/Pipfile.lock")));
    const sbom = await sbomOfDir(dir);
    const issues = sbom.issues.map((i) => [i.code, i.path]);
    expect(issues).toContainEqual(["SBOM_CARGO_LOCK_INVALID", "/a/Cargo.lock"]);
    expect(issues).toContainEqual(["SBOM_COMPOSER_INVALID", "/b/composer.lock"]);
    expect(found(sbom, "python-pipfile-lock-cataloger")).toHaveLength(4);
  });
});

describe("SBOMs of every lockfile ecosystem", () => {
  it("are valid against the official schema of each format", async () => {
    const dir = join(tempDir(), "root");
    for (const f of ["Pipfile.lock", "uv.lock", "WebApp.deps.json", "Gemfile.lock"]) {
      copyFileSync(join(FIXTURES, "formats", f), join(mkdirp(dir, "app"), f));
    }
    place(dir, "web/pnpm-lock.yaml", readFileSync(join(FIXTURES, "pnpm-v9", "pnpm-lock.yaml")));
    place(
      dir,
      "rs/Cargo.lock",
      '[[package]]\nname = "serde"\nversion = "1.0.136"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "ce31e24b01e1e524df96f1c2fdd054405f8d7376249a5110886fb4b658484789"\n',
    );
    place(
      dir,
      "php/vendor/composer/installed.json",
      JSON.stringify({
        packages: [{ name: "symfony/console", version: "v6.4.1", license: ["MIT"] }],
      }),
    );
    const sbom = await sbomOfDir(dir);
    const types = new Set(sbom.packages.map((p) => p.type));
    expect(types).toEqual(new Set(["pypi", "nuget", "gem", "npm", "cargo", "composer"]));
    const validators: [SbomFormat, (d: unknown) => string[]][] = [
      ["spdx-3", spdx3Validator()],
      ["spdx-2.3", spdx23Validator()],
      ["cyclonedx-1.6", cycloneDxValidator("1.6")],
      ["cyclonedx-1.5", cycloneDxValidator("1.5")],
    ];
    for (const [format, validate] of validators) {
      expect(validate(JSON.parse(renderSbom(sbom, format))), format).toEqual([]);
    }
  });
});

describe("generated CPEs", () => {
  // the CPE 2.3 formatted-string pattern of the official CSAF 2.0 schema
  const csaf = JSON.parse(readFileSync(join(SCHEMAS, "csaf/csaf_json_schema.json"), "utf8"));
  const CPE = new RegExp(
    csaf.$defs.full_product_name_t.properties.product_identification_helper.properties.cpe.pattern,
  );

  it("every package of a real image gets a valid CPE 2.3 name, marked as generated in every format", async () => {
    const layout = join(tempDir(), "img");
    await buildImageLayout({
      dir: layout,
      tag: "c",
      layers: [
        { kind: "debs", debs: fetchDebs(["base-files", "libc6", "python3-six", "ruby-rack"]) },
      ],
    });
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const r = await generateSbom(ctx, `oci:${layout}:c`, { record: false, created: new Date(0) });
    await ctx.close();
    for (const p of r.sbom.packages) {
      expect(p.cpes, p.purl).toHaveLength(1);
      expect(p.cpes[0], p.purl).toMatch(CPE);
      expect(p.properties?.["cpe:source"]).toBe("generated");
    }
    const libc = r.sbom.packages.find((p) => p.name === "libc6");
    // vendor and product from the source package, the upstream version (no epoch, no revision)
    expect(libc?.cpes[0]).toMatch(/^cpe:2\.3:a:glibc:glibc:2\.36:\*/);
    const rack = r.sbom.packages.find((p) => p.name === "rack");
    expect(rack?.cpes[0]).toBe(`cpe:2.3:a:rack:rack:${rack?.version}:*:*:*:*:*:*:*`);

    // each format carries the CPE with its mark, and stays valid against its official schema
    const spdx23 = JSON.parse(renderSbom(r.sbom, "spdx-2.3"));
    expect(spdx23Validator()(spdx23)).toEqual([]);
    const libc23 = spdx23.packages.find((p: { name: string }) => p.name === "libc6");
    expect(libc23.externalRefs).toContainEqual(
      expect.objectContaining({ referenceType: "cpe23Type", referenceLocator: libc?.cpes[0] }),
    );
    expect(JSON.stringify(libc23.externalRefs)).toMatch(/not taken from the NVD CPE dictionary/);
    const spdx3 = JSON.parse(renderSbom(r.sbom, "spdx-3"));
    expect(spdx3Validator()(spdx3)).toEqual([]);
    const libc3 = spdx3["@graph"].find(
      (e: { type: string; name?: string }) => e.type === "software_Package" && e.name === "libc6",
    );
    expect(libc3.externalIdentifier[0]).toMatchObject({
      externalIdentifierType: "cpe23",
      identifier: libc?.cpes[0],
    });
    expect(libc3.externalIdentifier[0].comment).toMatch(/generated/);
    const cdx = JSON.parse(renderSbom(r.sbom, "cyclonedx-1.6"));
    expect(cycloneDxValidator("1.6")(cdx)).toEqual([]);
    const libcCdx = cdx.components.find((c: { name: string }) => c.name === "libc6");
    expect(libcCdx.cpe).toBe(libc?.cpes[0]);
    expect(libcCdx.properties).toContainEqual({ name: "cleanimg:cpe:source", value: "generated" });
  });
});

function mkdirp(root: string, sub: string): string {
  const d = join(root, sub);
  mkdirSync(d, { recursive: true });
  return d;
}
