import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  buildImage,
  createAppContext,
  importVulnData,
  type ScanResult,
  scan,
} from "../../src/app/index.js";
import { GO_OSV, govulncheckFound, realGoBinaries } from "../support/go-binaries.js";
import { tempDir } from "../support/tmp.js";

/**
 * A Go program a Debian package ships (age, from bookworm) embeds the standard library of the
 * golang-1.19 build that compiled it. Debian's data tracks golang-1.19, never the programs built
 * with it, and no golang package is installed in the image: before, the binary's stdlib was "left
 * to the distribution's data" and the scan said nothing of it, while govulncheck, reading the same
 * binary, finds vulnerable stdlib code linked in. Now the binary is matched with Go's data at the
 * version its build info names, and the owner's Built-Using field (golang-1.19 (= 1.19.8-2)) says
 * which Debian build of the toolchain to hold the finding against.
 */
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");

async function scannedAge(extra: readonly string[] = []): Promise<ScanResult> {
  const dir = tempDir("cleanimg-debgo-ctx-");
  writeFileSync(join(dir, "cleanimg.yaml"), "image: debgo/app:1\npackages: [base-files, age]\n");
  const ctx: AppContext = createAppContext({
    home: tempDir("cleanimg-debgo-home-"),
    env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
  });
  try {
    await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") });
    await importVulnData(ctx, [GO_OSV, ...extra]);
    return await scan(ctx, "debgo/app:1");
  } finally {
    await ctx.close();
  }
}

/** A record in the OSV form Debian's tracker data takes here, for a Debian 12 golang-1.19 fix. */
function debianGolangRecord(cve: string, fixed: string): string {
  const file = join(tempDir(), "debian-golang.jsonl");
  writeFileSync(
    file,
    JSON.stringify({
      schema_version: "1.6.0",
      id: `DEBIAN-${cve}`,
      modified: "2026-01-01T00:00:00Z",
      aliases: [cve],
      affected: [
        {
          package: { ecosystem: "Debian:12", name: "golang-1.19" },
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }],
        },
      ],
    }),
  );
  return file;
}

describe("Go code compiled into a Debian package's binaries is assessed", () => {
  let plain: ScanResult;
  beforeAll(async () => {
    plain = await scannedAge();
  }, 600_000);

  const inAge = (r: ScanResult) =>
    r.findings.filter((f) => f.package.name === "stdlib" && f.package.location === "/usr/bin/age");

  it("matches /usr/bin/age's stdlib (go1.19.8) and finds every advisory govulncheck finds in it", () => {
    const found = inAge(plain);
    expect(found.length).toBeGreaterThan(0);
    expect(new Set(found.map((f) => f.package.version))).toEqual(new Set(["1.19.8"]));
    const age = realGoBinaries().find((b) => b.name.startsWith("age_") && b.name.endsWith("/age"));
    const theirs = govulncheckFound(age?.path as string);
    expect(typeof theirs, String(theirs)).toBe("object");
    const ours = new Set(found.map((f) => f.id));
    expect([...(theirs as Set<string>)].filter((id) => !ours.has(id))).toEqual([]);
    // and the VEX does not call what govulncheck finds linked in "not_affected"
    for (const id of theirs as Set<string>) {
      const s = plain.vex.filter((v) => v.vulnerability === id && v.subcomponent.name === "stdlib");
      expect(s.length, id).toBeGreaterThan(0);
      expect(
        s.filter((v) => v.status === "not_affected").map((v) => v.vulnerability),
        id,
      ).toEqual([]);
    }
  });

  it("names the owner and the toolchain build, and that no Debian 12 data can show a backport", () => {
    expect(inAge(plain).length).toBeGreaterThan(0);
    for (const f of inAge(plain)) {
      expect(f.reason).toMatch(
        /; compiled into age 1\.1\.1-1\+b3 by golang-1\.19 1\.19\.8-2 \(Built-Using\); no Debian:12 data to show whether that build carries a backported fix$/,
      );
    }
  });

  it("a fix Debian backported into the golang-1.19 build that compiled it resolves the finding; a later one does not", async () => {
    const target = inAge(plain).find((f) => f.aliases.some((a) => a.startsWith("CVE-")));
    expect(target).toBeDefined();
    const cve = target?.aliases.find((a) => a.startsWith("CVE-")) as string;
    const backported = await scannedAge([debianGolangRecord(cve, "1.19.8-1")]);
    expect(inAge(backported).map((f) => f.id)).not.toContain(target?.id);
    expect(inAge(backported).length).toBe(inAge(plain).length - 1);
    const later = await scannedAge([debianGolangRecord(cve, "1.19.8-2+deb12u1")]);
    const kept = inAge(later).find((f) => f.id === target?.id);
    expect(kept?.reason).toMatch(
      new RegExp(
        `by golang-1\\.19 1\\.19\\.8-2 \\(Built-Using\\), which Debian:12's DEBIAN-${cve} also finds affected: rebuild age with a fixed golang-1\\.19$`,
      ),
    );
  }, 600_000);
});
