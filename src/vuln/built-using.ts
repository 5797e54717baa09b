import { DEBIAN_BUILT_USING, type Package } from "../sbom/index.js";
import { isAffected } from "../versions/index.js";
import type { VulnDb } from "./db.js";
import type { Finding } from "./match.js";

/**
 * Code compiled into a distribution's binaries. A Go program a Debian package ships embeds the
 * standard library of the Go toolchain that built it: Debian's data tracks that toolchain
 * (golang-1.19, …) as its own source package, never the programs built with it, so a stdlib
 * flaw in /usr/bin/age is in neither Debian's record for age nor in an installed golang package.
 * The binary is matched with Go's own data at the version its build info names, as govulncheck
 * does; the package's Built-Using field (the exact Debian source versions compiled in) then says
 * whether Debian's build of that toolchain carried the fix as a backported patch.
 */

/** Packages found compiled into a binary (Go build info), not installed by a package manager. */
const COMPILED_IN = new Set(["go-module-binary-cataloger"]);

/** Whether a package owned by an OS package is code compiled into one of its binaries. */
export function compiledIn(p: Package): boolean {
  return COMPILED_IN.has(p.foundBy);
}

/** A Built-Using field's entries: `golang-1.19 (= 1.19.8-2), golang-x-sys (= 0.3.0-1)`. */
export function builtUsing(owner: Package): { name: string; version: string }[] {
  const field = owner.properties?.[DEBIAN_BUILT_USING];
  if (!field) {
    return [];
  }
  return field.split(",").flatMap((part) => {
    const m = /^\s*([a-z0-9][a-z0-9+.-]*)\s*\(\s*=\s*([^\s)]+)\s*\)\s*$/.exec(part);
    return m ? [{ name: m[1] as string, version: m[2] as string }] : [];
  });
}

/** The Go toolchain a Debian package was built with, from its Built-Using field. */
export function goToolchainOf(owner: Package): { name: string; version: string } | undefined {
  return builtUsing(owner).find((b) => /^golang-(1\.\d+|go)$/.test(b.name));
}

/**
 * What the distribution's data says of one advisory (by id or alias) for the toolchain build a
 * binary was compiled with: "fixed" when a record for that source package names the advisory and
 * the build's version is not affected by it (a backported fix), "affected" when such a record
 * says the build is affected, undefined when no record of the release names it.
 */
export function toolchainVerdict(
  db: VulnDb,
  distro: string,
  toolchain: { name: string; version: string },
  ids: readonly string[],
): { verdict: "fixed" | "affected"; record: string } | undefined {
  const wanted = new Set(ids);
  for (const hit of db.lookup(distro, toolchain.name)) {
    const names = [hit.record.id, ...(hit.record.aliases ?? []), ...(hit.record.upstream ?? [])];
    if (hit.record.withdrawn || !names.some((n) => wanted.has(n))) {
      continue;
    }
    const status = hit.affected.database_specific?.["status"] as string | undefined;
    if (status === "not-affected") {
      return { verdict: "fixed", record: hit.record.id };
    }
    const v = isAffected(
      toolchain.version,
      hit.affected as Parameters<typeof isAffected>[1],
      distro,
    );
    if (v.kind === "not-affected") {
      return { verdict: "fixed", record: hit.record.id };
    }
    return { verdict: "affected", record: hit.record.id };
  }
  return undefined;
}

/**
 * A Go finding on code compiled into an OS package's binary, read against the toolchain build
 * that compiled it: dropped when the distribution's data shows that build carries the fix,
 * otherwise kept with the owner and the toolchain build named in its reason.
 */
export function inOwnersBuild(
  f: Finding,
  p: Package,
  owner: Package,
  db: VulnDb,
  distro: string | undefined,
): Finding | undefined {
  const into = `compiled into ${owner.name} ${owner.version}`;
  const tc = p.name === "stdlib" ? goToolchainOf(owner) : undefined;
  if (!tc) {
    return { ...f, reason: `${f.reason}; ${into}` };
  }
  const by = `${into} by ${tc.name} ${tc.version} (Built-Using)`;
  if (!distro || !db.covers(distro)) {
    return {
      ...f,
      reason: `${f.reason}; ${by}; no ${distro ?? "distribution"} data to show whether that build carries a backported fix`,
    };
  }
  const v = toolchainVerdict(db, distro, tc, [f.id, ...f.aliases]);
  if (v?.verdict === "fixed") {
    return undefined;
  }
  return {
    ...f,
    reason: v
      ? `${f.reason}; ${by}, which ${distro}'s ${v.record} also finds affected: rebuild ${owner.name} with a fixed ${tc.name}`
      : `${f.reason}; ${by}; ${distro}'s data names no fix of it in ${tc.name}`,
  };
}
