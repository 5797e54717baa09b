import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cpeComponent, generatedCpe } from "./cpe.js";
import type { Package } from "./model.js";

const csaf = JSON.parse(
  readFileSync(
    resolve(import.meta.dirname, "../../../shared/corpus/schemas/csaf/csaf_json_schema.json"),
    "utf8",
  ),
);
// the CPE 2.3 formatted-string pattern of the official CSAF 2.0 schema
const CPE = new RegExp(
  csaf.$defs.full_product_name_t.properties.product_identification_helper.properties.cpe.pattern,
);

function pkg(type: string, name: string, version: string, extra: Partial<Package> = {}): Package {
  return {
    id: "x",
    name,
    version,
    type,
    purl: `pkg:${type}/${name}@${version}`,
    cpes: [],
    licenseDeclared: [],
    foundBy: "t",
    locations: [],
    checksums: [],
    files: [],
    dependsOn: [],
    ...extra,
  };
}

describe("generated CPE names", () => {
  it("quotes every character the formatted-string binding does not allow bare", () => {
    expect(cpeComponent("a+b~c:d/e@f!")).toBe("a\\+b\\~c\\:d\\/e\\@f\\!");
    expect(cpeComponent("Foo_Bar-1.2")).toBe("foo_bar-1.2");
  });

  it("names vendor and product from each ecosystem's coordinates", () => {
    const cases: [Package, string | undefined][] = [
      [
        pkg("deb", "libssl3", "3.0.11-1~deb12u2", {
          source: { name: "openssl", version: "3.0.11-1~deb12u2" },
        }),
        "cpe:2.3:a:openssl:openssl:3.0.11:*:*:*:*:*:*:*",
      ],
      [pkg("deb", "tzdata", "1:2024a-0+deb12u1"), "cpe:2.3:a:tzdata:tzdata:2024a:*:*:*:*:*:*:*"],
      [pkg("npm", "@babel/core", "7.24.0"), "cpe:2.3:a:babel:core:7.24.0:*:*:*:*:*:*:*"],
      [
        pkg("composer", "symfony/console", "v6.4.1"),
        "cpe:2.3:a:symfony:console:v6.4.1:*:*:*:*:*:*:*",
      ],
      [
        pkg("maven", "jackson-databind", "2.15.2", {
          purl: "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.15.2",
        }),
        "cpe:2.3:a:fasterxml:jackson-databind:2.15.2:*:*:*:*:*:*:*",
      ],
      [
        pkg("golang", "github.com/gin-gonic/gin", "v1.9.1"),
        "cpe:2.3:a:gin-gonic:gin:v1.9.1:*:*:*:*:*:*:*",
      ],
      [pkg("golang", "stdlib", "1.21.5"), "cpe:2.3:a:golang:go:1.21.5:*:*:*:*:*:*:*"],
      [
        pkg("gem", "rack", "2.2.8+really2.2.4"),
        "cpe:2.3:a:rack:rack:2.2.8\\+really2.2.4:*:*:*:*:*:*:*",
      ],
      [pkg("golang", "example.com", "v1.0.0"), undefined],
      [pkg("unknown-type", "x", "1"), undefined],
    ];
    for (const [p, want] of cases) {
      const got = generatedCpe(p);
      expect(got, p.purl).toBe(want);
      if (got) {
        expect(got).toMatch(CPE);
      }
    }
  });
});
