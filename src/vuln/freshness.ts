import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../core/errors.js";
import type { Distro } from "../sbom/index.js";
import type { SourceStatus } from "./db.js";

/**
 * How old the vulnerability data is, and whether the scanned distribution release is still
 * supported. The data's build time is its newest record's modified time (what the data reaches
 * up to, as Grype's database "built" time); the import time is when it came into this database.
 */

const DAY = 86_400_000;
/** Grype's default maximum database age: 5 days. */
export const DEFAULT_MAX_DB_AGE_MS = 5 * DAY;

/** Parses a duration: 5d, 36h, 90m, 2w (whole numbers). @throws UsageError CLI_USAGE */
export function parseDuration(s: string, what = "--max-db-age"): number {
  const m = /^(\d+)([mhdw])$/.exec(s.trim());
  if (!m) {
    throw new UsageError("CLI_USAGE", `${what} "${s}" is not a duration`, {
      hint: "a whole number with a unit: 90m, 36h, 5d, 2w",
    });
  }
  const unit = { m: 60_000, h: 3_600_000, d: DAY, w: 7 * DAY }[m[2] as "m" | "h" | "d" | "w"];
  return Number(m[1]) * unit;
}

const days = (ms: number): number => Math.max(0, Math.floor(ms / DAY));

/** A source's age: of its newest record, and since its import (whole days). */
export interface SourceAge extends SourceStatus {
  readonly dataAgeDays?: number;
  readonly importedAgeDays?: number;
}

export function sourceAges(sources: readonly SourceStatus[], now: Date): SourceAge[] {
  return sources.map((s) => {
    const built = s.newestModified ? Date.parse(s.newestModified) : Number.NaN;
    const imported = s.importedAt ? Date.parse(s.importedAt) : Number.NaN;
    return {
      ...s,
      ...(Number.isNaN(built) ? {} : { dataAgeDays: days(now.getTime() - built) }),
      ...(Number.isNaN(imported) ? {} : { importedAgeDays: days(now.getTime() - imported) }),
    };
  });
}

export interface DataFreshness {
  /** The newest record's modified time across the database: when the data was built. */
  readonly built?: string;
  readonly importedAt?: string;
  /** Whole days from `built` to the scan. */
  readonly ageDays?: number;
  readonly maxAgeDays: number;
  /** Older than the maximum age, or with no date at all to tell. */
  readonly stale: boolean;
  /** Sources whose own newest record is older than the maximum age. */
  readonly staleSources: readonly string[];
}

export function dataFreshness(
  sources: readonly SourceStatus[],
  now: Date,
  maxAgeMs: number = DEFAULT_MAX_DB_AGE_MS,
): DataFreshness {
  const ages = sourceAges(sources, now);
  const newest = (xs: (string | undefined)[]): string | undefined =>
    xs
      .filter((x): x is string => x !== undefined && !Number.isNaN(Date.parse(x)))
      .sort((a, b) => Date.parse(a) - Date.parse(b))
      .at(-1);
  const built = newest(sources.map((s) => s.newestModified));
  const importedAt = newest(sources.map((s) => s.importedAt));
  const age = built ? now.getTime() - Date.parse(built) : undefined;
  return {
    ...(built ? { built } : {}),
    ...(importedAt ? { importedAt } : {}),
    ...(age !== undefined ? { ageDays: days(age) } : {}),
    maxAgeDays: maxAgeMs / DAY,
    stale: age === undefined || age > maxAgeMs,
    staleSources: ages
      .filter((a) => {
        const t = a.newestModified ? Date.parse(a.newestModified) : Number.NaN;
        return Number.isNaN(t) || now.getTime() - t > maxAgeMs;
      })
      .map((a) => a.source),
  };
}

/** One line about the data's age, for the scan and the status. */
export function freshnessText(f: DataFreshness): string {
  return f.built
    ? `vulnerability data built ${f.built} (${f.ageDays} days old${f.stale ? `, older than the maximum ${f.maxAgeDays} days` : ""}), imported ${f.importedAt ?? "-"}`
    : "vulnerability data has no record dates: its age is unknown";
}

/** Whether a distribution release is supported, from distro-info-data's CSV files. */
export interface DistroSupport {
  readonly distro: string;
  readonly state: "supported" | "regular support ended" | "end of life" | "unknown";
  /** End of regular (security) support, and of the extended (LTS/ESM) support, YYYY-MM-DD. */
  readonly eol?: string;
  readonly eolExtended?: string;
  readonly detail: string;
}

export const DISTRO_INFO_DIR = "/usr/share/distro-info";

/**
 * Reads distro-info-data's `debian.csv` / `ubuntu.csv` (at run time, when installed): the
 * release's eol column, and eol-lts (Debian LTS) or eol-esm (Ubuntu) for extended support. A
 * release is past its end of life when the last of those dates has passed. Without the file, or
 * for another distribution, the end of life is unknown, and said so.
 */
export function distroSupport(
  d: Distro | undefined,
  now: Date,
  dir: string = DISTRO_INFO_DIR,
): DistroSupport | undefined {
  if (!d) {
    return undefined;
  }
  const name = `${d.prettyName ?? `${d.id} ${d.versionId ?? ""}`.trim()}`;
  const file = join(dir, `${d.id}.csv`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return {
      distro: name,
      state: "unknown",
      detail: `end of life unknown: ${file} is not here (Debian's distro-info-data package ships it)`,
    };
  }
  const [head, ...rows] = text.trim().split("\n");
  const cols = (head ?? "").split(",");
  const at = (row: string[], c: string): string | undefined => {
    const i = cols.indexOf(c);
    return i >= 0 && row[i] ? row[i] : undefined;
  };
  const major = d.versionId?.split(".")[0];
  const row = rows
    .map((r) => r.split(","))
    .find(
      (r) =>
        (d.versionCodename && at(r, "series") === d.versionCodename) ||
        (d.id === "debian"
          ? at(r, "version") === major
          : at(r, "version")?.startsWith(d.versionId ?? "\0")),
    );
  if (!row) {
    return {
      distro: name,
      state: "unknown",
      detail: `end of life unknown: ${file} does not list ${name}`,
    };
  }
  const eol = at(row, "eol");
  const extended = at(row, "eol-lts") ?? at(row, "eol-esm");
  const extName = cols.includes("eol-lts") ? "LTS" : "ESM";
  const past = (x: string | undefined): boolean =>
    x !== undefined && Date.parse(`${x}T23:59:59Z`) < now.getTime();
  const base = {
    distro: name,
    ...(eol ? { eol } : {}),
    ...(extended ? { eolExtended: extended } : {}),
  };
  if (past(eol) && (extended === undefined || past(extended))) {
    return {
      ...base,
      state: "end of life",
      detail: `${name} is past its end of life: security support ended ${eol}${extended ? `, ${extName} ended ${extended}` : ""} (${file})`,
    };
  }
  if (past(eol)) {
    return {
      ...base,
      state: "regular support ended",
      detail: `${name}: regular security support ended ${eol}; ${extName} until ${extended} (${file})`,
    };
  }
  return {
    ...base,
    state: "supported",
    detail: `${name} is supported${eol ? ` until ${eol}` : ""}${extended ? ` (${extName} until ${extended})` : ""} (${file})`,
  };
}
