import type { Digest } from "../core/digest.js";
import type { Issue } from "../core/issues.js";
import type { Sbom } from "../sbom/index.js";
import { type Affected, fixedAfter, isAffected } from "../versions/index.js";
import { compiledIn, inOwnersBuild } from "./built-using.js";
import { cvss3BaseScore, cvss4Score } from "./cvss.js";
import type { AdvisoryHit, VulnDb } from "./db.js";
import type { OsvRecord } from "./osv.js";
import type { KevEntry } from "./sources/index.js";

/** One vulnerability found in one package, with the evidence of the match. */
export interface Finding {
  /** Advisory id (DSA-5380-1, GO-2023-1234, PYSEC-…, CVE-… for Alpine). */
  readonly id: string;
  /** CVE and other aliases. */
  readonly aliases: readonly string[];
  readonly source: string;
  readonly summary?: string;
  readonly package: {
    readonly id: string;
    readonly name: string;
    readonly version: string;
    readonly purl: string;
    readonly type: string;
    /** The file that evidences the package (its metadata file, or the binary it is compiled into). */
    readonly location?: string;
  };
  /** Ecosystem and name the data was looked up under (Debian data is keyed by source package). */
  readonly matchedAs: { readonly ecosystem: string; readonly name: string };
  /** "affected", or "unknown" when the version could not be evaluated. */
  readonly status: "affected" | "unknown";
  /** Why: the range verdict, or the distribution's own status. */
  readonly reason: string;
  readonly fixedIn?: string;
  /** The distribution's status for this release when it gave one (unfixed, no-dsa, end-of-life). */
  readonly distroStatus?: string;
  readonly severity?: readonly { readonly type: string; readonly score: string }[];
  /** Severity derived from the record: a CVSS v4.0 or v3.x vector's computed score, else the source's rating. */
  readonly rating?: { readonly severity: string; readonly score?: number; readonly from: string };
  /** Known false-positive shapes flagged for the VEX analysis (e.g. "kernel-headers"). */
  readonly flags: readonly string[];
  /**
   * Known exploited: CISA's KEV entry for the finding's CVE (its id or an alias), with BOD
   * 22-01's due date, when the database holds the catalog.
   */
  readonly knownExploited?: KevEntry;
}

export interface MatchResult {
  readonly findings: readonly Finding[];
  readonly issues: readonly Issue[];
  readonly snapshot: Digest;
  /** Packages looked up in an ecosystem the database has data for. */
  readonly packagesMatched: number;
  /** Packages that could not be assessed: the database has no data for their ecosystem. */
  readonly unassessed: readonly { readonly ecosystem: string; readonly packages: number }[];
}

const LANGUAGE_ECOSYSTEMS: Readonly<Record<string, string>> = {
  pypi: "PyPI",
  npm: "npm",
  golang: "Go",
  maven: "Maven",
  gem: "RubyGems",
  cargo: "crates.io",
  nuget: "NuGet",
  composer: "Packagist",
};

/** Distribution ecosystem ("Debian:12", "Alpine:v3.19") of an SBOM, when it has one. */
export function distroEcosystem(sbom: Sbom): string | undefined {
  const d = sbom.distro;
  if (!d?.versionId) {
    return undefined;
  }
  switch (d.id) {
    case "debian":
      return `Debian:${d.versionId.split(".")[0]}`;
    case "ubuntu":
      return `Ubuntu:${d.versionId}`;
    case "alpine":
      return `Alpine:v${d.versionId.split(".").slice(0, 2).join(".")}`;
    default:
      return undefined;
  }
}

/**
 * The finding's rating: a CVSS v4.0 vector's score when the record has a valid one (the current
 * FIRST standard, as NVD shows it first), else a CVSS v3.x vector's base score, both computed
 * from the vector; else the source's own label.
 */
function ratingOf(hit: AdvisoryHit): { rating?: NonNullable<Finding["rating"]> } {
  const severities = [...(hit.affected.severity ?? []), ...(hit.record.severity ?? [])];
  for (const s of severities) {
    const r = s.type === "CVSS_V4" ? cvss4Score(s.score) : undefined;
    if (r) {
      return { rating: { severity: r.severity, score: r.score, from: s.score } };
    }
  }
  for (const s of severities) {
    const r = s.type === "CVSS_V3" ? cvss3BaseScore(s.score) : undefined;
    if (r) {
      return { rating: { severity: r.severity, score: r.baseScore, from: s.score } };
    }
  }
  const label = hit.record.database_specific?.["severity"];
  if (typeof label === "string" && /^(LOW|MODERATE|MEDIUM|HIGH|CRITICAL)$/i.test(label)) {
    const up = label.toUpperCase();
    return {
      rating: { severity: up === "MODERATE" ? "MEDIUM" : up, from: `${hit.source} rating` },
    };
  }
  return {};
}

/**
 * A Debian advisory (DSA, DLA, DTSA) whose every CVE already has a finding on the same package
 * (from the tracker's per-CVE data) is the same vulnerability counted again: it is folded into
 * those findings as an alias. An advisory with a CVE the per-CVE data does not confirm is kept.
 */
function foldDebianAdvisories(list: Finding[]): Finding[] {
  const byPackage = new Map<string, Map<string, Finding>>();
  for (const f of list) {
    const m = byPackage.get(f.package.id) ?? new Map<string, Finding>();
    m.set(f.id, f);
    byPackage.set(f.package.id, m);
  }
  const folded = new Set<Finding>();
  const extra = new Map<Finding, string[]>();
  for (const f of list) {
    if (!/^debian:(DSA|DLA|DTSA)$/.test(f.source)) {
      continue;
    }
    const same = byPackage.get(f.package.id) as Map<string, Finding>;
    const cves = f.aliases.filter((a) => a.startsWith("CVE-"));
    const targets = cves.map((c) => same.get(c));
    if (cves.length === 0 || targets.some((t) => t === undefined)) {
      continue;
    }
    folded.add(f);
    for (const t of targets as Finding[]) {
      extra.set(t, [...(extra.get(t) ?? []), f.id]);
    }
  }
  return list
    .filter((f) => !folded.has(f))
    .map((f) => {
      const add = extra.get(f);
      return add ? { ...f, aliases: [...new Set([...f.aliases, ...add])].sort() } : f;
    });
}

function aliasesOf(r: OsvRecord): string[] {
  return [...new Set([...(r.aliases ?? []), ...(r.upstream ?? [])])].sort();
}

/** The finding of one advisory hit on one package. */
function findingOf(
  p: Sbom["packages"][number],
  hit: AdvisoryHit,
  matchedAs: Finding["matchedAs"],
  verdict: { kind: Finding["status"]; reason: string },
  status: string | undefined,
): Finding {
  const flags: string[] = [];
  if (
    p.type === "deb" &&
    matchedAs.name === "linux" &&
    /^(linux-libc-dev|linux-headers-|linux-kbuild-)/.test(p.name)
  ) {
    flags.push("kernel-headers");
  }
  const fixed = fixedAfter(
    p.version,
    hit.affected as Parameters<typeof fixedAfter>[1],
    matchedAs.ecosystem,
  );
  return {
    id: hit.record.id,
    aliases: aliasesOf(hit.record),
    source: hit.source,
    ...(hit.record.summary ? { summary: hit.record.summary } : {}),
    package: {
      id: p.id,
      name: p.name,
      version: p.version,
      purl: p.purl,
      type: p.type,
      ...(p.locations[0] ? { location: p.locations[0].path } : {}),
    },
    matchedAs,
    status: verdict.kind,
    reason: verdict.reason,
    ...(fixed ? { fixedIn: fixed } : {}),
    ...(status ? { distroStatus: status } : {}),
    ...(hit.record.severity ? { severity: hit.record.severity } : {}),
    ...ratingOf(hit),
    flags,
  };
}

/** Marks the findings CISA's KEV catalog lists (by id or alias; the earliest due date wins). */
function markKnownExploited(list: readonly Finding[], db: VulnDb): Finding[] {
  const kev = db.knownExploited(list.flatMap((f) => [f.id, ...f.aliases]));
  return list.map((f) => {
    const entry = [f.id, ...f.aliases]
      .flatMap((id) => kev.get(id) ?? [])
      .sort((a, b) => (a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : 0))[0];
    return entry ? { ...f, knownExploited: entry } : f;
  });
}

/** The OS package that owns each package an OS package contains, by package id. */
function ownersOf(sbom: Sbom): Map<string, Sbom["packages"][number] | undefined> {
  const byId = new Map(sbom.packages.map((p) => [p.id, p]));
  return new Map(
    sbom.relationships
      .filter((r) => r.type === "contains" && r.from !== "root")
      .map((r) => [r.to, byId.get(r.from)]),
  );
}

/**
 * Matches every package of an SBOM against the database. OS packages are matched with their
 * distribution's data by source package and release, honouring the distribution's statuses;
 * language packages by ecosystem and name; a language package that an OS package owns is left to
 * the distribution's data, except code compiled into its binaries (a Go program's standard library
 * and modules), matched and read against the owner's Built-Using (built-using.ts). Unparsable
 * versions give "unknown" findings, never silence.
 */
export function matchSbom(sbom: Sbom, db: VulnDb): MatchResult {
  const issues: Issue[] = [];
  const findings = new Map<string, Finding>();
  const distro = distroEcosystem(sbom);
  const ownerOf = ownersOf(sbom);
  let matched = 0;
  const coverage = new Map<string, boolean>();
  const unassessed = new Map<string, number>();
  for (const p of sbom.packages) {
    let ecosystem: string | undefined;
    let name = p.name;
    if (p.type === "deb" || p.type === "apk" || p.type === "rpm") {
      if (!distro) {
        issues.push({
          code: "VULN_DISTRO_UNKNOWN",
          message: `no distribution release known: ${p.name} not matched`,
          subject: p.purl,
        });
        // not assessed, and said so: an image without /etc/os-release is not "clean"
        const key = `${p.type} (no distribution release known: no /etc/os-release)`;
        unassessed.set(key, (unassessed.get(key) ?? 0) + 1);
        continue;
      }
      ecosystem = distro;
      name = p.source?.name ?? p.name;
    } else {
      ecosystem = LANGUAGE_ECOSYSTEMS[p.type];
      // an OS package's language packages are the distribution's to assess; code compiled into
      // its binaries is not (see built-using.ts)
      if (ownerOf.has(p.id) && !compiledIn(p)) {
        continue;
      }
      if (!ecosystem) {
        // not assessed, and said so
        const key = `${p.type} (no vulnerability data ecosystem for this package type)`;
        unassessed.set(key, (unassessed.get(key) ?? 0) + 1);
        continue;
      }
    }
    let covered = coverage.get(ecosystem);
    if (covered === undefined) {
      covered = db.covers(ecosystem);
      coverage.set(ecosystem, covered);
    }
    if (!covered) {
      unassessed.set(ecosystem, (unassessed.get(ecosystem) ?? 0) + 1);
      continue;
    }
    matched++;
    for (const hit of db.lookup(ecosystem, name)) {
      if (hit.record.withdrawn) {
        continue;
      }
      const status = hit.affected.database_specific?.["status"] as string | undefined;
      let verdict: Affected;
      if (status === "not-affected") {
        continue; // the distribution says this release is not affected
      }
      if (status === "undetermined") {
        verdict = { kind: "unknown", reason: `${ecosystem} status: undetermined` };
      } else if (status) {
        verdict = { kind: "affected", reason: `${ecosystem} status: ${status}` };
      } else {
        verdict = isAffected(
          p.version,
          hit.affected as Parameters<typeof isAffected>[1],
          ecosystem,
        );
      }
      if (verdict.kind === "not-affected") {
        continue;
      }
      const key = `${p.id}\n${hit.record.id}`;
      if (findings.has(key)) {
        continue; // the same advisory from another source (derived OSV and list)
      }
      const f = findingOf(
        p,
        hit,
        { ecosystem, name },
        verdict as Affected & { kind: Finding["status"] },
        status,
      );
      const owner = ownerOf.get(p.id);
      const kept = owner ? inOwnersBuild(f, p, owner, db, distro) : f;
      if (kept) {
        findings.set(key, kept);
      }
    }
  }
  const list = foldDebianAdvisories([...findings.values()]).sort((a, b) =>
    a.package.name < b.package.name
      ? -1
      : a.package.name > b.package.name
        ? 1
        : a.id < b.id
          ? -1
          : a.id > b.id
            ? 1
            : 0,
  );
  const marked = markKnownExploited(list, db);
  for (const [ecosystem, n] of unassessed) {
    issues.push({
      code: "VULN_NO_DATA",
      message: `the database has no ${ecosystem} data: ${n} packages were not assessed`,
      subject: ecosystem,
    });
  }
  return {
    findings: marked,
    issues,
    snapshot: db.snapshot(),
    packagesMatched: matched,
    unassessed: [...unassessed.entries()].map(([ecosystem, packages]) => ({ ecosystem, packages })),
  };
}
