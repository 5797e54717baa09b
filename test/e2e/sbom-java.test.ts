import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext, generateSbom, type SbomResult } from "../../src/app/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { tempDir } from "../support/tmp.js";

/** pom.properties of every archive, nested ones included, read with Python's zipfile. */
function truth(files: string[]): Set<string> {
  const script = `
import io, sys, zipfile, re
def walk(z):
    for n in z.namelist():
        if re.match(r"META-INF/maven/[^/]+/[^/]+/pom\\.properties$", n):
            p = dict(l.split("=", 1) for l in z.read(n).decode().splitlines() if "=" in l and not l.startswith("#"))
            print(p["groupId"] + ":" + p["artifactId"], p["version"])
        elif re.search(r"\\.(jar|war|ear)$", n):
            walk(zipfile.ZipFile(io.BytesIO(z.read(n))))
for f in sys.argv[1:]:
    walk(zipfile.ZipFile(f))`;
  return new Set(
    execFileSync("python3", ["-c", script, ...files], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean),
  );
}

describe("Java archives", () => {
  let r: SbomResult;
  let war: string;
  let jars: string[];
  beforeAll(async () => {
    const debs = fetchDebs(["libcommons-lang3-java", "libjackson2-core-java"]);
    const x = tempDir();
    for (const d of debs) {
      execFileSync("dpkg-deb", ["-x", d, x]);
    }
    jars = [
      join(x, "usr/share/java/commons-lang3.jar"),
      join(x, "usr/share/java/jackson-core.jar"),
    ];
    // a web application archive bundling the same libraries, as a build would
    war = join(tempDir(), "app.war");
    execFileSync("python3", [
      "-c",
      `import sys, zipfile
z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED)
z.writestr("WEB-INF/web.xml", "<web-app/>")
for j in sys.argv[2:]:
    z.write(j, "WEB-INF/lib/" + j.split("/")[-1])
z.close()`,
      war,
      ...jars,
    ]);
    const layout = join(tempDir(), "img");
    await buildImageLayout({
      dir: layout,
      tag: "java",
      layers: [
        {
          kind: "debs",
          debs: fetchDebs(["base-files", ...["libcommons-lang3-java", "libjackson2-core-java"]]),
        },
        {
          kind: "files",
          files: [
            { name: "srv/", type: "dir" },
            { name: "srv/app.war", type: "file", body: readFileSync(war) },
          ],
        },
      ],
    });
    const ctx = createAppContext({ home: tempDir(), env: {} });
    r = await generateSbom(ctx, `oci:${layout}:java`, { record: false, created: new Date(0) });
    await ctx.close();
  });

  it("finds every pom.properties identity, nested archives included", () => {
    const got = r.sbom.packages.filter((p) => p.type === "maven");
    const expected = truth([...jars, war]);
    expect(new Set(got.map((p) => `${p.name} ${p.version}`))).toEqual(expected);
    // twice each: once in Debian's jar, once inside the war
    expect(got).toHaveLength(4);
    const nested = got.find(
      (p) => p.properties?.["java:archive"] === "/srv/app.war:WEB-INF/lib/commons-lang3.jar",
    );
    expect(nested?.purl).toBe("pkg:maven/org.apache.commons/commons-lang3@3.12.0");
  });

  it("links jars shipped by Debian packages to them, and the war's libraries to the image", () => {
    const deb = r.sbom.packages.find((p) => p.name === "libcommons-lang3-java");
    const inDeb = r.sbom.packages.find(
      (p) => p.type === "maven" && p.locations[0]?.path === "/usr/share/java/commons-lang3.jar",
    );
    expect(r.sbom.relationships).toContainEqual({ from: deb?.id, to: inDeb?.id, type: "contains" });
    const inWar = r.sbom.packages.filter(
      (p) => p.type === "maven" && p.locations[0]?.path === "/srv/app.war",
    );
    for (const p of inWar) {
      expect(r.sbom.relationships).toContainEqual({ from: "root", to: p.id, type: "contains" });
    }
  });
});
