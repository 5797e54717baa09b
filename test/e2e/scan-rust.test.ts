import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createAppContext,
  importVulnData,
  renderCycloneDxVulnerabilities,
  scan,
} from "../../src/app/index.js";
import { cvss4Score } from "../../src/vuln/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { cycloneDxValidator } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const BOOK_LOCK = "/usr/src/rustc-1.63.0/src/doc/book/Cargo.lock";
const EXAMPLE_LOCK = "/usr/share/cargo/registry/cargo-lock-8.0.2/tests/examples/Cargo.lock";

/** The RustSec records (crates-osv) that affect each locked crate, by a plain SemVer reading. */
function rustsecTruth(locks: string[]): Set<string> {
  const script = String.raw`
import gzip, json, re, sys, tomllib
def key(v):
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?", v)
    return (int(m[1]), int(m[2]), int(m[3]), 0 if m[4] else 1, m[4] or "")
pkgs = set()
for f in sys.argv[2:]:
    for p in tomllib.load(open(f, "rb")).get("package", []):
        pkgs.add((p["name"], p["version"]))
out = set()
for line in gzip.open(sys.argv[1] + "/crates-osv.jsonl.gz", "rt"):
    r = json.loads(line)
    if r.get("withdrawn"):
        continue
    for a in r.get("affected", []):
        for (n, v) in pkgs:
            if a["package"]["name"] != n:
                continue
            hit = v in a.get("versions", [])
            for rg in a.get("ranges", []):
                aff = False
                for e in rg["events"]:
                    (k, ev), = e.items()
                    if k == "introduced":
                        aff = ev in ("0", "0.0.0-0") or key(v) >= key(ev)
                    elif k == "fixed" and aff and key(v) >= key(ev):
                        aff = False
                hit = hit or aff
            if hit:
                out.add(f"{r['id']} {n} {v}")
print(json.dumps(sorted(out)))
`;
  return new Set(
    JSON.parse(
      execFileSync("/usr/bin/python3", ["-c", script, VULNDB, ...locks], { encoding: "utf8" }),
    ) as string[],
  );
}

describe("Rust crates locked in Debian's sources, against the RustSec data", () => {
  it("finds what a SemVer reading of the records finds, rated from CVSS v4.0 vectors where the record has one", async () => {
    const [rustSrc] = fetchDebs(["rust-src"]);
    const debs = fetchDebs(["base-files", "librust-cargo-lock-dev"]);
    const x = tempDir();
    execFileSync("dpkg-deb", ["-x", debs[1] as string, x]);
    const bookLock = execFileSync(
      "sh",
      ["-c", `dpkg-deb --fsys-tarfile "$1" | tar -xO ".${BOOK_LOCK}"`, "sh", rustSrc as string],
      { maxBuffer: 16 * 1024 ** 2 },
    );
    const bookFile = join(tempDir(), "Cargo.lock");
    execFileSync("sh", ["-c", 'cat > "$1"', "sh", bookFile], { input: bookLock });
    const layout = join(tempDir(), "img");
    await buildImageLayout({
      dir: layout,
      tag: "rust",
      layers: [
        { kind: "debs", debs },
        { kind: "files", files: [{ name: BOOK_LOCK.slice(1), type: "file", body: bookLock }] },
      ],
    });
    const ctx = createAppContext({ home: tempDir(), env: {} });
    await importVulnData(ctx, [VULNDB]);
    const result = await scan(ctx, `oci:${layout}:rust`, { created: new Date(0), record: false });
    await ctx.close();

    const cargo = result.findings.filter((f) => f.package.type === "cargo");
    const got = new Set(cargo.map((f) => `${f.id} ${f.package.name} ${f.package.version}`));
    const truth = rustsecTruth([bookFile]);
    expect(truth.size).toBeGreaterThanOrEqual(3);
    expect(got).toEqual(truth);
    // the Cargo.lock that librust-cargo-lock-dev installs is that Debian package's file: it is
    // left to the distribution's data, as every file an OS package owns is
    expect(rustsecTruth([join(x, EXAMPLE_LOCK)]).size).toBeGreaterThan(0);
    const ownedLock = new Set(
      result.sbom.packages.filter((p) => p.locations[0]?.path === EXAMPLE_LOCK).map((p) => p.id),
    );
    expect(ownedLock.size).toBeGreaterThan(20);
    expect(cargo.filter((f) => ownedLock.has(f.package.id))).toEqual([]);

    // RustSec gives some records only a CVSS v4.0 vector: the rating is computed from it
    const v4 = cargo.filter((f) => f.rating?.from.startsWith("CVSS:4.0"));
    expect(v4.map((f) => f.id).sort()).toEqual(["RUSTSEC-2026-0067", "RUSTSEC-2026-0068"]);
    for (const f of v4) {
      const r = cvss4Score(f.rating?.from as string);
      expect(f.rating).toMatchObject({ score: r?.score, severity: r?.severity });
    }
    const cdx = JSON.parse(renderCycloneDxVulnerabilities(result.sbom, result.findings));
    expect(cycloneDxValidator("1.6")(cdx)).toEqual([]);
    const rated = cdx.vulnerabilities.find((v: { id: string }) => v.id === "RUSTSEC-2026-0067");
    expect(rated.ratings[0]).toMatchObject({ method: "CVSSv4", vector: v4[0]?.rating?.from });
  });
});
