import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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

/** What rpm itself lists: "NAME EPOCH:VERSION-RELEASE ARCH". */
export function rpmQueryAll(root: string): Set<string> {
  const out = execFileSync(
    "rpm",
    [
      "--root",
      root,
      "--dbpath",
      "/var/lib/rpm",
      "-qa",
      "--qf",
      "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\\n",
    ],
    { encoding: "utf8" },
  );
  return new Set(out.split("\n").filter(Boolean));
}
