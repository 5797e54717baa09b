import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { tempDir } from "./tmp.js";

/**
 * A root filesystem with packages built by rpmbuild and installed by rpm into an sqlite rpmdb
 * at /var/lib/rpm (Debian's rpm 4.18). Returns the root.
 */
export function buildRpmRoot(): string {
  const top = tempDir("cleanimg-rpmbuild-");
  const root = join(tempDir("cleanimg-rpmroot-"), "rootfs");
  mkdirSync(join(top, "SPECS"), { recursive: true });
  mkdirSync(root, { recursive: true });
  const specs: { name: string; epoch?: number; requires?: string; license: string }[] = [
    { name: "cleanimg-data", license: "MIT" },
    { name: "cleanimg-hello", epoch: 2, requires: "cleanimg-data", license: "MIT or Apache-2.0" },
    { name: "cleanimg-tools", license: "GPLv2+" },
  ];
  for (const s of specs) {
    writeFileSync(
      join(top, "SPECS", `${s.name}.spec`),
      [
        `Name: ${s.name}`,
        "Version: 1.2.3",
        "Release: 4.fc40",
        ...(s.epoch ? [`Epoch: ${s.epoch}`] : []),
        `Summary: ${s.name} for cleanimg tests`,
        `License: ${s.license}`,
        "Vendor: Cleanimg Test Vendor",
        "BuildArch: noarch",
        ...(s.requires ? [`Requires: ${s.requires}`] : []),
        "%description",
        "A package built for tests.",
        "%install",
        `mkdir -p %{buildroot}/usr/share/${s.name}`,
        `echo ${s.name} > %{buildroot}/usr/share/${s.name}/README`,
        "%files",
        `/usr/share/${s.name}/README`,
        "",
      ].join("\n"),
    );
    execFileSync(
      "rpmbuild",
      ["-bb", "--nodeps", "--define", `_topdir ${top}`, join(top, "SPECS", `${s.name}.spec`)],
      { stdio: "ignore" },
    );
  }
  const rpm = (...a: string[]) =>
    execFileSync("rpm", ["--root", root, "--dbpath", "/var/lib/rpm", ...a], {
      stdio: ["ignore", "pipe", "ignore"],
    }).toString();
  rpm("--initdb");
  const rpms = execFileSync("find", [join(top, "RPMS"), "-name", "*.rpm"], { encoding: "utf8" })
    .trim()
    .split("\n");
  rpm("-i", "--nodeps", "--noscripts", ...rpms);
  return root;
}

/**
 * What rpm itself lists: "NAME EPOCH:VERSION-RELEASE ARCH", from the sqlite rpmdb or, with
 * `bdb`, a Berkeley DB one (rpm's read-only bdb_ro backend).
 */
export function rpmQueryAll(root: string, backend: "sqlite" | "bdb" = "sqlite"): Set<string> {
  const out = execFileSync(
    "rpm",
    [
      "--root",
      root,
      "--dbpath",
      "/var/lib/rpm",
      ...(backend === "bdb" ? ["--define", "_db_backend bdb_ro"] : []),
      "-qa",
      "--qf",
      "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\\n",
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return new Set(out.split("\n").filter(Boolean));
}

/**
 * Turns the sqlite rpmdb of `root` into the Berkeley DB Packages file rpm used before 4.16: the
 * same header blobs under 4-byte instance keys (key 0: the next instance counter), written by
 * Berkeley DB itself (db5.3_load). rpm's bdb_ro backend reads it back (rpmQueryAll(root, "bdb")).
 */
export function writeBdbRpmdb(
  root: string,
  pageSize = 4096,
  type: "hash" | "btree" = "hash",
  byteOrder: "little" | "big" = "little",
): string {
  const db = new Database(join(root, "var/lib/rpm/rpmdb.sqlite"), { readonly: true });
  const rows = db.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum").all() as {
    hnum: number;
    blob: Buffer;
  }[];
  db.close();
  const key = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b.toString("hex");
  };
  const dump = [
    "VERSION=3",
    "format=bytevalue",
    `type=${type}`,
    `db_pagesize=${pageSize}`,
    `db_lorder=${byteOrder === "big" ? 4321 : 1234}`,
    "HEADER=END",
    ` ${key(0)}`,
    ` ${key(Math.max(...rows.map((r) => r.hnum)) + 1)}`,
    ...rows.flatMap((r) => [` ${key(r.hnum)}`, ` ${Buffer.from(r.blob).toString("hex")}`]),
    "DATA=END",
    "",
  ].join("\n");
  const out = join(root, "var/lib/rpm/Packages");
  execFileSync("db5.3_load", [out], { input: dump });
  rmSync(join(root, "var/lib/rpm/rpmdb.sqlite"));
  return out;
}
