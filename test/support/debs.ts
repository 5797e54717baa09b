import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

/** Cache of .deb files fetched with apt-get download (git-ignored). */
export const DEB_CACHE = resolve(import.meta.dirname, "../../.cache/debs");

/**
 * Returns paths of the named Debian packages' .deb files, downloading the candidate versions
 * (or `name=version`) with `apt-get download` into the cache on first use. Needs apt lists
 * (`apt-get update`).
 */
export function fetchDebs(names: readonly string[]): string[] {
  mkdirSync(DEB_CACHE, { recursive: true });
  const have = (n: string): string | undefined => {
    const [name, version] = n.split("=");
    // a .deb's file name spells the epoch's colon as %3a
    const prefix = version ? `${name}_${version.replace(":", "%3a")}_` : `${name}_`;
    return readdirSync(DEB_CACHE).find((f) => f.startsWith(prefix) && f.endsWith(".deb"));
  };
  const missing = names.filter((n) => !have(n));
  if (missing.length > 0) {
    // downloaded aside, then renamed in: test files run in parallel and may fetch the same
    // package at once; a rename is atomic, a download into the shared directory is not
    const tmp = mkdtempSync(join(DEB_CACHE, ".download-"));
    try {
      execFileSync("apt-get", ["download", "-q", ...missing], {
        cwd: tmp,
        stdio: ["ignore", "ignore", "pipe"],
      });
      for (const f of readdirSync(tmp).filter((x) => x.endsWith(".deb"))) {
        renameSync(join(tmp, f), join(DEB_CACHE, f));
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return names.map((n) => {
    const f = have(n);
    if (!f || !existsSync(join(DEB_CACHE, f))) {
      throw new Error(`apt-get download did not produce ${n}`);
    }
    return join(DEB_CACHE, f);
  });
}

/** The data tar of a .deb (`dpkg-deb --fsys-tarfile`), as bytes. */
export function debDataTar(deb: string): Buffer {
  return execFileSync("dpkg-deb", ["--fsys-tarfile", deb], { maxBuffer: 2 * 1024 ** 3 });
}

/** A dpkg status stanza for an installed package, from the .deb's control file. */
export function debStatusStanza(deb: string): string {
  const control = execFileSync("dpkg-deb", ["-f", deb], { encoding: "utf8" }).trimEnd();
  const lines = control.split("\n");
  const out: string[] = [];
  for (const l of lines) {
    out.push(l);
    if (l.startsWith("Package:")) {
      out.push("Status: install ok installed");
    }
  }
  return `${out.join("\n")}\n`;
}

/** The package name in a .deb's control file. */
export function debPackageName(deb: string): string {
  return execFileSync("dpkg-deb", ["-f", deb, "Package"], { encoding: "utf8" }).trim();
}

/** The md5sums control file of a .deb ("" when it has none). */
export function debMd5sums(deb: string): string {
  try {
    return execFileSync("dpkg-deb", ["-I", deb, "md5sums"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return "";
  }
}
