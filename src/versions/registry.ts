import { VersionError } from "../core/errors.js";
import { apkComparator } from "./apk.js";
import type { Comparator } from "./comparator.js";
import { composerComparator } from "./composer.js";
import { debComparator } from "./deb.js";
import { goComparator } from "./go.js";
import { mavenComparator } from "./maven.js";
import { cratesComparator, npmComparator } from "./npm-semver.js";
import { nugetComparator } from "./nuget.js";
import { pep440Comparator } from "./pep440.js";
import { rpmComparator } from "./rpm.js";
import { rubygemsComparator } from "./rubygems.js";

// OSV ecosystem names (the part before ":"), each with the version scheme it uses.
const BY_ECOSYSTEM: ReadonlyMap<string, Comparator> = new Map<string, Comparator>([
  ["Debian", debComparator],
  ["Ubuntu", debComparator],
  ["Alpine", apkComparator],
  ["Red Hat", rpmComparator],
  ["Rocky Linux", rpmComparator],
  ["AlmaLinux", rpmComparator],
  ["SUSE", rpmComparator],
  ["openSUSE", rpmComparator],
  ["Mageia", rpmComparator],
  ["PyPI", pep440Comparator],
  ["npm", npmComparator],
  ["Go", goComparator],
  ["Maven", mavenComparator],
  ["RubyGems", rubygemsComparator],
  ["NuGet", nugetComparator],
  ["crates.io", cratesComparator],
  ["Packagist", composerComparator],
]);

/** The ecosystems with a comparator, in their OSV spelling. */
export const ECOSYSTEMS: readonly string[] = [...BY_ECOSYSTEM.keys()];

/**
 * The comparator for an OSV ecosystem name ("Debian", "Debian:12", "Alpine:v3.19", "PyPI", …).
 * @throws VersionError VERSION_UNSUPPORTED_ECOSYSTEM
 */
export function comparatorFor(ecosystem: string): Comparator {
  const base = ecosystem.split(":")[0]?.trim() ?? "";
  const c =
    BY_ECOSYSTEM.get(base) ??
    [...BY_ECOSYSTEM.entries()].find(([k]) => k.toLowerCase() === base.toLowerCase())?.[1];
  if (!c) {
    throw new VersionError(
      "VERSION_UNSUPPORTED_ECOSYSTEM",
      `no version comparator for ecosystem "${ecosystem}"`,
      {
        hint: `supported: ${ECOSYSTEMS.join(", ")}`,
      },
    );
  }
  return c;
}

/** Compares two versions, turning a comparator's throw into a clear error naming the ecosystem. */
export function compareVersions(ecosystem: string, a: string, b: string): -1 | 0 | 1 {
  return comparatorFor(ecosystem).compare(a, b);
}
