// Negative test: one jar identified by its manifest alone, with no group id anywhere, made the
// whole Java cataloger fail ("Invalid purl: maven requires a namespace"), so an image of Debian's
// Java libraries (built with ant, no pom.properties) listed no Java package at all.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DirectoryResolver } from "../../../source/index.js";
import { javaArchiveCataloger } from "./java.js";

const made: string[] = [];
const scratch = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) {
    rmSync(d, { recursive: true, force: true });
  }
});

function jar(dir: string, name: string, files: Record<string, string>): void {
  const src = scratch("cleanimg-jar-");
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(join(src, path, ".."), { recursive: true });
    writeFileSync(join(src, path), body);
  }
  execFileSync("zip", ["-q", "-r", join(dir, name), "."], { cwd: src });
}

describe("java cataloger, negative: a jar without a group id", () => {
  it("is listed without a made-up maven group, and the other jars still are", async () => {
    const root = scratch("cleanimg-jars-");
    mkdirSync(join(root, "usr/share/java"), { recursive: true });
    const dir = join(root, "usr/share/java");
    jar(dir, "bsh-2.0b4.jar", {
      "META-INF/MANIFEST.MF":
        "Manifest-Version: 1.0\nImplementation-Title: bsh\nImplementation-Version: 2.0b4\n\n",
    });
    jar(dir, "commons-io.jar", {
      "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\n\n",
      "META-INF/maven/commons-io/commons-io/pom.properties":
        "groupId=commons-io\nartifactId=commons-io\nversion=2.11.0\n",
    });
    const r = await javaArchiveCataloger.catalog(await DirectoryResolver.open(root), {});
    const byName = new Map(r.packages.map((p) => [p.name, p]));
    expect(byName.get("commons-io:commons-io")?.purl).toBe(
      "pkg:maven/commons-io/commons-io@2.11.0",
    );
    const bsh = byName.get("bsh");
    expect(bsh?.version).toBe("2.0b4");
    expect(bsh?.type).toBe("maven");
    // no maven purl without a group: the purl spec requires one and guessing it is a claim
    expect(bsh?.purl).toBe("pkg:generic/bsh@2.0b4");
    expect(bsh?.properties?.["java:group"]).toBe("unknown");
  });
});
