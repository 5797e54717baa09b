import { ToolError } from "../core/errors.js";
import { debComparator } from "../versions/index.js";
import type { ArchiveIndex, DebPackage } from "./debian.js";
import type { SpecPackage } from "./spec.js";

/**
 * Dependency resolution over a verified archive index: the requested packages and their
 * Depends/Pre-Depends closure, as distroless and apko install them (no Recommends).
 */

interface Relation {
  readonly name: string;
  readonly op?: string;
  readonly version?: string;
}

/** Parses a Depends value into groups of alternatives. */
export function parseRelations(value: string): Relation[][] {
  return value
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean)
    .map((g) =>
      g.split("|").map((alt) => {
        const m =
          /^\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|=|>=|>>)\s*([^)\s]+)\s*\))?\s*(?:\[.*\])?\s*(?:<.*>)?\s*$/.exec(
            alt,
          );
        if (!m) {
          throw new ToolError("BUILD_ARCHIVE_INVALID", `cannot read the relation "${alt.trim()}"`);
        }
        return { name: m[1] as string, ...(m[2] ? { op: m[2], version: m[3] as string } : {}) };
      }),
    );
}

function satisfies(version: string, r: Relation): boolean {
  if (!r.op || !r.version) {
    return true;
  }
  const c = debComparator.compare(version, r.version);
  switch (r.op) {
    case "<<":
      return c < 0;
    case "<=":
      return c <= 0;
    case "=":
      return c === 0;
    case ">=":
      return c >= 0;
    default:
      return c > 0;
  }
}

/**
 * Resolves the requested packages and their Depends/Pre-Depends closure (first satisfiable
 * alternative, preferring what is already chosen; virtual packages through Provides).
 * Recommends are not installed, as in distroless and apko.
 * @throws ToolError BUILD_UNSATISFIABLE naming what cannot be satisfied and what needs it
 */
export function resolvePackages(
  index: ArchiveIndex,
  requested: readonly SpecPackage[],
  /** Packages the base image already has: they satisfy dependencies and are not installed again. */
  installed: readonly { readonly name: string; readonly version: string }[] = [],
): DebPackage[] {
  const chosen = new Map<string, DebPackage>();
  const preinstalled = new Set<string>();
  for (const i of installed) {
    preinstalled.add(i.name);
    chosen.set(i.name, {
      name: i.name,
      version: i.version,
      architecture: "",
      filename: "",
      size: 0,
      sha256: "",
      depends: "",
      preDepends: "",
      provides: "",
    });
  }
  const where = `${index.suite} (${index.uri}, ${index.architecture})`;
  const best = (name: string, r?: Relation): DebPackage | undefined =>
    [...(index.packages.get(name) ?? [])]
      .filter((p) => !r || satisfies(p.version, r))
      .sort((a, b) => debComparator.compare(b.version, a.version))[0];
  const queue: { pkg: DebPackage; by: string }[] = [];
  const choose = (p: DebPackage, by: string): void => {
    const have = chosen.get(p.name);
    if (have) {
      if (have.version !== p.version) {
        throw new ToolError(
          "BUILD_UNSATISFIABLE",
          `${p.name} is needed at ${p.version} by ${by} and at ${have.version} by another package`,
        );
      }
      return;
    }
    chosen.set(p.name, p);
    queue.push({ pkg: p, by });
  };
  for (const r of requested) {
    const base = chosen.get(r.name);
    if (base && preinstalled.has(r.name) && (!r.version || r.version === base.version)) {
      continue; // the base image has it
    }
    const p = r.version
      ? index.packages.get(r.name)?.find((x) => x.version === r.version)
      : best(r.name);
    if (!p) {
      const avail = (index.packages.get(r.name) ?? []).map((x) => x.version);
      throw new ToolError(
        "BUILD_UNSATISFIABLE",
        `package ${r.name}${r.version ? ` ${r.version}` : ""} is not in ${where}${avail.length ? ` (it has ${avail.join(", ")})` : ""}`,
        { hint: "check the name and version (apt-cache policy NAME shows what the archive has)" },
      );
    }
    choose(p, "the spec");
  }
  while (queue.length > 0) {
    const { pkg } = queue.shift() as { pkg: DebPackage; by: string };
    const by = `${pkg.name} ${pkg.version}`;
    for (const group of [...parseRelations(pkg.preDepends), ...parseRelations(pkg.depends)]) {
      const done = group.some((r) => {
        const c = chosen.get(r.name);
        if (c && satisfies(c.version, r)) {
          return true;
        }
        return (
          !r.op &&
          [...chosen.values()].some((p) =>
            p.provides.split(",").some((v) => v.trim().split(/[\s(]/)[0] === r.name),
          )
        );
      });
      if (done) {
        continue;
      }
      let picked: DebPackage | undefined;
      for (const r of group) {
        picked =
          best(r.name, r) ??
          (!r.op
            ? [...(index.providers.get(r.name) ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1))[0]
            : undefined);
        if (picked) {
          break;
        }
      }
      if (!picked) {
        throw new ToolError(
          "BUILD_UNSATISFIABLE",
          `${by} needs ${group.map((r) => `${r.name}${r.op ? ` (${r.op} ${r.version})` : ""}`).join(" | ")}, which ${where} cannot satisfy`,
          { hint: "add a suitable package to the spec, or use a suite that has it" },
        );
      }
      choose(picked, by);
    }
  }
  return [...chosen.values()]
    .filter((p) => !preinstalled.has(p.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
