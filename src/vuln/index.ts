export {
  type Cvss4Result,
  type CvssResult,
  cvss3BaseScore,
  cvss4Score,
  severityOf,
} from "./cvss.js";
export { type AdvisoryHit, type ImportResult, type SourceStatus, VulnDb } from "./db.js";
export {
  ALPINE_BRANCHES,
  allFeeds,
  checkDownload,
  conditionalHeaders,
  DEFAULT_BASE_URLS,
  type Feed,
  type FeedFamily,
  type FeedValidators,
  OSV_ECOSYSTEMS,
  publishedDigests,
  selectFeeds,
} from "./feeds.js";
export { renderCycloneDxVulnerabilities, renderSarif } from "./formats.js";
export {
  type DataFreshness,
  DEFAULT_MAX_DB_AGE_MS,
  DISTRO_INFO_DIR,
  type DistroSupport,
  dataFreshness,
  distroSupport,
  freshnessText,
  parseDuration,
  type SourceAge,
  sourceAges,
} from "./freshness.js";
export { distroEcosystem, type Finding, type MatchResult, matchSbom } from "./match.js";
export {
  DEBIAN_RELEASES,
  normalizePackageName,
  type OsvAffectedEntry,
  type OsvRecord,
} from "./osv.js";
export {
  alpineToOsv,
  debianEntryToOsv,
  KEV_SOURCE,
  type KevEntry,
  kevToRecords,
  parseDebianList,
  parseVulnInput,
  type Untar,
} from "./sources/index.js";
