import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, generateSbom } from "../../src/app/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { buildRpmRoot, rpmQueryAll, writeBdbRpmdb } from "../support/rpm-fixture.js";
import { tempDir } from "../support/tmp.js";

/** The rpm packages cleanimg finds at a location, as "NAME EPOCH:VERSION-RELEASE ARCH". */
async function rpmPackagesAt(loc: string) {
  const ctx = createAppContext({ home: tempDir(), env: {} });
  const r = await generateSbom(ctx, loc, { record: false, created: new Date(0) });
  await ctx.close();
  const rpms = r.sbom.packages.filter((p) => p.type === "rpm");
  const got = new Set(
    rpms.map(
      (p) => `${p.name} ${p.version.includes(":") ? p.version : `0:${p.version}`} ${p.arch}`,
    ),
  );
  return { sbom: r.sbom, rpms, got };
}

/** An image whose one layer is the root filesystem `root`. */
async function imageOf(root: string, tag: string): Promise<string> {
  const tar = execFileSync("tar", ["-C", root, "-cf", "-", "."], { maxBuffer: 1024 ** 3 });
  const layout = join(tempDir(), "img");
  await buildImageLayout({ dir: layout, tag, layers: [{ kind: "raw", tar }] });
  return `oci:${layout}:${tag}`;
}

describe("rpm databases", () => {
  it("finds the packages rpm -qa lists, from the sqlite rpmdb (write-ahead log included)", async () => {
    const root = buildRpmRoot();
    writeFileSync(join(root, "etc-os-release"), "");
    execFileSync("mkdir", ["-p", join(root, "etc")]);
    writeFileSync(
      join(root, "etc/os-release"),
      'ID=fedora\nVERSION_ID="40"\nPRETTY_NAME="Fedora Linux 40"\n',
    );
    const truth = rpmQueryAll(root);
    expect(truth.size).toBe(3);
    for (const loc of [await imageOf(root, "rpm"), `dir:${root}`]) {
      const { sbom, rpms, got } = await rpmPackagesAt(loc);
      expect(got, loc).toEqual(truth);
      const hello = rpms.find((p) => p.name === "cleanimg-hello");
      expect(hello?.purl).toBe(
        "pkg:rpm/fedora/cleanimg-hello@1.2.3-4.fc40?arch=noarch&distro=fedora-40&epoch=2&upstream=cleanimg-hello-1.2.3-4.fc40.src.rpm",
      );
      expect(hello?.license).toBe("MIT OR Apache-2.0");
      expect(hello?.source).toEqual({ name: "cleanimg-hello", version: "1.2.3-4.fc40" });
      expect(hello?.files.map((f) => f.path)).toEqual(["/usr/share/cleanimg-hello/README"]);
      expect(rpms.find((p) => p.name === "cleanimg-tools")?.license).toBe("GPL-2.0-or-later");
      const data = rpms.find((p) => p.name === "cleanimg-data");
      expect(sbom.relationships).toContainEqual({
        from: hello?.id,
        to: data?.id,
        type: "depends-on",
      });
    }
  });

  it("reads the Berkeley DB Packages file of older rpm, as rpm's own bdb_ro backend does", async () => {
    // 4096 is rpm's page size; 512 puts every header on chains of overflow pages; a database
    // written on a big-endian machine (s390x) keeps its byte order
    for (const [pageSize, order] of [
      [4096, "little"],
      [512, "little"],
      [4096, "big"],
    ] as const) {
      const root = buildRpmRoot();
      mkdirSync(join(root, "etc"), { recursive: true });
      writeFileSync(join(root, "etc/os-release"), 'ID=centos\nVERSION_ID="7"\n');
      const file = writeBdbRpmdb(root, pageSize, "hash", order);
      // Berkeley DB records the byte order in the metadata page: the hash magic as written
      expect(readFileSync(file).readUInt32LE(12), order).toBe(
        order === "little" ? 0x061561 : 0x61150600,
      );
      const truth = rpmQueryAll(root, "bdb");
      expect(truth.size).toBe(3);
      for (const loc of [await imageOf(root, "bdb"), `dir:${root}`]) {
        const { sbom, rpms, got } = await rpmPackagesAt(loc);
        expect(got, `${loc} page size ${pageSize}, ${order}-endian`).toEqual(truth);
        expect(rpms.find((p) => p.name === "cleanimg-hello")?.purl).toMatch(
          /^pkg:rpm\/centos\/cleanimg-hello@1\.2\.3-4\.fc40\?arch=noarch&distro=centos-7&epoch=2/,
        );
        expect(sbom.issues.filter((i) => i.code.startsWith("SBOM_RPMDB"))).toEqual([]);
      }
    }
  });

  it("says what is wrong with a Berkeley DB file it cannot read, and names ndb as not read", async () => {
    const cases: [string, (root: string) => void, RegExp][] = [
      [
        "truncated",
        (root) => {
          const p = writeBdbRpmdb(root, 512);
          writeFileSync(p, readFileSync(p).subarray(0, 4096));
        },
        /overflow chain broken|not an overflow page/,
      ],
      ["btree", (root) => writeBdbRpmdb(root, 4096, "btree"), /btree/],
      [
        "zeros",
        (root) => writeFileSync(join(root, "var/lib/rpm/Packages"), Buffer.alloc(4096)),
        /not a Berkeley DB hash database/,
      ],
    ];
    for (const [what, make, reason] of cases) {
      const root = buildRpmRoot();
      make(root);
      const ctx = createAppContext({ home: tempDir(), env: {} });
      const r = await generateSbom(ctx, `dir:${root}`, { record: false, created: new Date(0) });
      await ctx.close();
      const issue = r.sbom.issues.find((i) => i.code === "SBOM_RPMDB_UNREADABLE");
      expect(issue?.path, what).toBe("/var/lib/rpm/Packages");
      expect(issue?.message, what).toMatch(reason);
    }
    const root = join(tempDir(), "rootfs");
    mkdirSync(join(root, "var/lib/rpm"), { recursive: true });
    writeFileSync(join(root, "var/lib/rpm/Packages.db"), Buffer.alloc(4096));
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const r = await generateSbom(ctx, `dir:${root}`, { record: false, created: new Date(0) });
    await ctx.close();
    expect(r.sbom.issues).toContainEqual(
      expect.objectContaining({ code: "SBOM_RPMDB_UNSUPPORTED", path: "/var/lib/rpm/Packages.db" }),
    );
  });
});
