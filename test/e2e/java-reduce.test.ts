import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { javaArchiveCataloger } from "../../src/sbom/catalogers/java/index.js";
import { reduceJavaArchive } from "../../src/sbom/catalogers/java/java.js";
import { DirectoryResolver } from "../../src/source/index.js";
import { fetchDebs } from "../support/debs.js";
import { tempDir } from "../support/tmp.js";

/**
 * Java archives are kept in memory, while the layers stream, cut down to what the cataloger
 * reads (reduceJavaArchive). The cataloger must find exactly what it finds in the whole archives:
 * real Debian jars, a WAR of them (deflated) and a fat JAR holding the WAR (stored, as Spring
 * Boot stores nested archives).
 */
describe("java archives cut down to what the cataloger reads", { timeout: 300_000 }, () => {
  const work = tempDir();
  const unpacked = join(work, "unpacked");
  for (const deb of fetchDebs([
    "libcommons-lang3-java",
    "libjackson2-core-java",
    "libguava-java",
    "libbcprov-java",
    "libasm-java",
  ])) {
    execFileSync("dpkg-deb", ["-x", deb, unpacked]);
  }
  const jars = join(unpacked, "usr/share/java");
  const app = join(work, "app");
  mkdirSync(join(app, "WEB-INF/lib"), { recursive: true });
  for (const f of readdirSync(jars, { withFileTypes: true })) {
    if (f.isFile() && f.name.endsWith(".jar")) {
      writeFileSync(join(app, "WEB-INF/lib", f.name), readFileSync(join(jars, f.name)));
    }
  }
  execFileSync("zip", ["-q", "-r", join(work, "app.war"), "WEB-INF"], { cwd: app });
  mkdirSync(join(work, "fat/BOOT-INF/lib"), { recursive: true });
  execFileSync("cp", [join(work, "app.war"), join(work, "fat/BOOT-INF/lib/")]);
  execFileSync("zip", ["-q", "-0", "-r", join(work, "fat.jar"), "BOOT-INF"], {
    cwd: join(work, "fat"),
  });

  async function catalogued(reduce: boolean) {
    const root = tempDir();
    mkdirSync(join(root, "app"));
    for (const name of ["app.war", "fat.jar"]) {
      const bytes = new Uint8Array(readFileSync(join(work, name)));
      writeFileSync(join(root, "app", name), reduce ? reduceJavaArchive(bytes) : bytes);
    }
    const r = await javaArchiveCataloger.catalog(await DirectoryResolver.open(root), {});
    return {
      packages: r.packages.map((p) => ({ ...p, locations: p.locations.map((l) => l.path) })),
      issues: r.issues,
    };
  }

  it("finds the same packages and issues in the cut-down archives, which are far smaller", async () => {
    const whole = await catalogued(false);
    const reduced = await catalogued(true);
    // the nested jars are found at both depths: in the WAR and in the WAR inside the fat JAR
    expect(whole.packages.filter((p) => p.purl.includes("commons-lang3")).length).toBe(2);
    expect(whole.packages.length).toBeGreaterThan(8);
    expect(reduced).toEqual(whole);
    for (const name of ["app.war", "fat.jar"]) {
      const bytes = new Uint8Array(readFileSync(join(work, name)));
      expect(reduceJavaArchive(bytes).length).toBeLessThan(bytes.length / 20);
    }
  });

  it("keeps an archive whole when a member name would not read back as written", async () => {
    // a nested jar whose name starts with two BOMs (zip readers drop one when decoding)
    const dir = tempDir();
    execFileSync("python3", [
      "-c",
      `import zipfile, io
inner = io.BytesIO()
with zipfile.ZipFile(inner, "w") as z:
    z.writestr("META-INF/maven/org.example/inner/pom.properties", "groupId=org.example\\nartifactId=inner\\nversion=1.0\\n")
with zipfile.ZipFile("${dir}/outer.jar", "w") as z:
    z.writestr("\\ufeff\\ufefflib/inner.jar", inner.getvalue())`,
    ]);
    const bytes = new Uint8Array(readFileSync(join(dir, "outer.jar")));
    const reduced = reduceJavaArchive(bytes);
    expect(reduced).toBe(bytes);
    const root = tempDir();
    writeFileSync(join(root, "outer.jar"), reduced);
    const r = await javaArchiveCataloger.catalog(await DirectoryResolver.open(root), {});
    expect(r.packages.map((p) => p.properties?.["java:archive"])).toEqual([
      "/outer.jar:\uFEFFlib/inner.jar",
    ]);
  });

  it("keeps bytes that are not a readable zip as they are, so the cataloger says why", () => {
    const junk = new TextEncoder().encode("not a zip at all");
    expect(reduceJavaArchive(junk)).toBe(junk);
  });
});
