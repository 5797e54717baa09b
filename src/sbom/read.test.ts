import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SbomError } from "../core/errors.js";
import { checkNtiaMinimumElements } from "./ntia.js";
import { readSbom } from "./read/index.js";

const CORPUS = resolve(import.meta.dirname, "../../../shared/corpus/sboms");
const enc = new TextEncoder();

function load(rel: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(CORPUS, rel), "utf8"));
}

/** Components with a name, counted independently of the reader (nested included, OS excluded). */
function cdxCount(doc: Record<string, unknown>): number {
  let n = 0;
  const visit = (c: Record<string, unknown>): void => {
    if (c["type"] !== "operating-system" && c["type"] !== "file" && c["name"]) {
      n++;
    }
    for (const x of (c["components"] as Record<string, unknown>[] | undefined) ?? []) {
      visit(x);
    }
  };
  for (const c of (doc["components"] as Record<string, unknown>[] | undefined) ?? []) {
    visit(c);
  }
  return n;
}

describe("readSbom on SBOMs made by other tools", () => {
  const jsonFiles = readdirSync(CORPUS, { recursive: true })
    .map(String)
    .filter((f) => /\.(json|golden)$/.test(f) && !f.includes("intoto"));

  it.each(jsonFiles)("reads %s without throwing, or names why not", (rel) => {
    const bytes = readFileSync(join(CORPUS, rel));
    try {
      const r = readSbom(new Uint8Array(bytes), rel);
      expect(r.sbom.subject.kind).toBe("document");
      for (const p of r.sbom.packages) {
        expect(p.name).toBeTruthy();
      }
    } catch (e) {
      expect(e).toBeInstanceOf(SbomError);
    }
  });

  it("reads every component of CycloneDX documents (OWASP Juice Shop, trivy centos:7)", () => {
    for (const rel of [
      "cyclonedx-bom-examples/SBOM_juice-shop_v11.1.2_bom.json",
      "trivy/fixture_centos-7-cyclonedx.json",
      "syft/identify_cyclonedx-1.6.json",
    ]) {
      const doc = load(rel);
      const r = readSbom(enc.encode(JSON.stringify(doc)), rel);
      expect(r.sbom.packages.length, rel).toBe(cdxCount(doc));
      expect(r.format).toBe("cyclonedx");
    }
    const centos = readSbom(
      enc.encode(JSON.stringify(load("trivy/fixture_centos-7-cyclonedx.json"))),
      "c",
    );
    expect(centos.sbom.distro?.id).toBe("centos");
    expect(centos.sbom.packages.every((p) => p.type === "rpm")).toBe(true);
  });

  it("reads SPDX 2 packages with purls, CPEs and licenses (syft alpine, Bitnami PostgreSQL)", () => {
    const doc = load("syft/spdx_alpine-3.10.syft.spdx.json");
    const r = readSbom(enc.encode(JSON.stringify(doc)), "alpine");
    // the document describes no single root package, so every package is read
    expect(r.sbom.packages.map((p) => p.name).sort()).toEqual([
      "busybox",
      "libssl1.1",
      "ssl_client",
    ]);
    expect(r.sbom.packages.find((p) => p.name === "busybox")?.cpes).toEqual([
      "cpe:2.3:a:busybox:busybox:1.30.1-r5:*:*:*:*:*:*:*",
    ]);
    const pgDoc = load("syft/bitnami_postgresql.spdx.json");
    const pg = readSbom(enc.encode(JSON.stringify(pgDoc)), "pg");
    const described =
      (pgDoc["relationships"] as Record<string, unknown>[]).filter(
        (x) => x["relationshipType"] === "DESCRIBES",
      ).length + ((pgDoc["documentDescribes"] as unknown[] | undefined)?.length ?? 0);
    expect(pg.sbom.packages.length).toBe(
      (pgDoc["packages"] as unknown[]).length - (described === 1 ? 1 : 0),
    );
    expect(pg.sbom.packages.find((p) => p.name === "geos")).toMatchObject({
      type: "bitnami",
      license: "LGPL-2.1-only",
    });
    expect(pg.sbom.distro).toEqual({ id: "debian", versionId: "12" });
  });

  it("reads SPDX 3 packages with purls and declared licenses", () => {
    const doc = load("spdx-examples/software_example11_spdx3.0_sbom.spdx3.json");
    const r = readSbom(enc.encode(JSON.stringify(doc)), "k8s");
    const graph = doc["@graph"] as Record<string, unknown>[];
    const pkgs = graph.filter((e) => e["type"] === "software_Package");
    expect(r.sbom.packages.length).toBeGreaterThan(0);
    expect(r.sbom.packages.length).toBeLessThanOrEqual(pkgs.length);
    expect(r.sbom.packages.some((p) => p.purl.startsWith("pkg:deb/"))).toBe(true);
    expect(r.sbom.packages.find((p) => p.name === "hyper")?.license).toBe("MIT");
    expect(r.sbom.packages.find((p) => p.name === "pretty_env_logger")?.license).toBe(
      "(MIT OR Apache-2.0)",
    );
  });

  it("checks NTIA minimum elements on what it reads", () => {
    const r = readSbom(
      enc.encode(JSON.stringify(load("cyclonedx-bom-examples/SBOM_juice-shop_v11.1.2_bom.json"))),
      "js",
    );
    const gaps = checkNtiaMinimumElements(r.sbom);
    // npm components in this document carry no supplier: each is reported, none invented
    expect(gaps.filter((g) => g.code === "SBOM_NTIA_SUPPLIER_MISSING").length).toBe(
      r.sbom.packages.filter((p) => !p.supplier && !p.author).length,
    );
  });

  it("names unknown formats", () => {
    expect(() => readSbom(enc.encode('{"hello":1}'), "x.json")).toThrowError(
      /not CycloneDX, SPDX 2 or SPDX 3/,
    );
    expect(() => readSbom(enc.encode("SPDXVersion: SPDX-2.3"), "x.spdx")).toThrow(SbomError);
  });
});
