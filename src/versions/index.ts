export { apkComparator, compareApk, isValidApkVersion } from "./apk.js";
export type { Comparator } from "./comparator.js";
export { composerComparator, normalizeComposerVersion, phpVersionCompare } from "./composer.js";
export { type ComparatorSample, describeComparatorContract } from "./contract.js";
export { debComparator, parseDebVersion } from "./deb.js";
export { goComparator } from "./go.js";
export { mavenComparator } from "./maven.js";
export { compareNpm, cratesComparator, npmComparator, semverSatisfies } from "./npm-semver.js";
export { nugetComparator } from "./nuget.js";
export { parsePep440, pep440Comparator, pep440Satisfies } from "./pep440.js";
export {
  type Affected,
  fixedAfter,
  isAffected,
  type OsvAffected,
  type OsvEvent,
  type OsvRange,
} from "./range.js";
export { comparatorFor, compareVersions, ECOSYSTEMS } from "./registry.js";
export { rpmComparator, rpmvercmp } from "./rpm.js";
export { gemSatisfies, rubygemsComparator } from "./rubygems.js";
