import { lazyModule } from "../../../core/lazy.js";

const toml = lazyModule<typeof import("smol-toml")>("smol-toml");

import type { Cataloger } from "../../cataloger.js";
import type { Checksum } from "../../model.js";
import { asArray, asObject, checksumOf, type LockEntry, lockfileCataloger } from "../lockfile.js";
import { normalizePypiName } from "./python.js";

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function sums(values: readonly unknown[]): Checksum[] {
  const out = new Map<string, Checksum>();
  for (const v of values) {
    const c = checksumOf(v);
    if (c) {
      out.set(`${c.algorithm}:${c.value}`, c);
    }
  }
  return [...out.values()];
}

function pypi(name: string, version: string, extra: Partial<LockEntry> = {}): LockEntry {
  return { name, version, purlName: normalizePypiName(name), ...extra };
}

const PINNED =
  /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*===?\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)\s*(?:;.*)?$/;

/**
 * Pinned requirements of a pip requirements file (`name==version` or `name===version`, with
 * extras, environment markers and `--hash` options). Ranges, URLs, editable installs and
 * nested `-r` files name no single version and are not reported.
 */
export function parseRequirements(src: string): LockEntry[] {
  const out: LockEntry[] = [];
  const logical = src.replace(/\\\r?\n/g, " ").split(/\r?\n/);
  for (const raw of logical) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (!line || line.startsWith("-")) {
      continue;
    }
    const hashes = [...line.matchAll(/--hash[=\s]+(\S+)/g)].map((m) => m[1]);
    const req = line.replace(/\s--\S+(?:[=\s]+\S+)?/g, "").trim();
    const m = PINNED.exec(req);
    if (!m?.[1] || !m[2] || m[2].includes("*")) {
      continue;
    }
    out.push(pypi(m[1], m[2], { checksums: sums(hashes) }));
  }
  return out;
}

/** Pipfile.lock: the `default` section (what `pipenv install` installs; `develop` is not). */
export function parsePipfileLock(src: string): LockEntry[] {
  const doc = asObject(JSON.parse(src));
  if (!doc["_meta"]) {
    throw new Error("no _meta section");
  }
  const out: LockEntry[] = [];
  for (const [name, raw] of Object.entries(asObject(doc["default"]))) {
    const v = str(asObject(raw)["version"])?.replace(/^===?/, "");
    if (v) {
      out.push(pypi(name, v, { checksums: sums(asArray(asObject(raw)["hashes"])) }));
    }
  }
  return out;
}

/**
 * poetry.lock and uv.lock: `[[package]]` tables. Packages poetry marks `category = "dev"` (lock
 * format 1.x) are left out; uv's project itself (a virtual or editable source at ".") is not a
 * dependency.
 */
export function parseTomlLock(src: string): LockEntry[] {
  const doc = toml().parse(src) as Record<string, unknown>;
  const out: LockEntry[] = [];
  for (const raw of asArray(doc["package"])) {
    const p = asObject(raw);
    const name = str(p["name"]);
    const version = str(p["version"]);
    const source = asObject(p["source"]);
    if (!name || !version || p["category"] === "dev") {
      continue;
    }
    if (source["virtual"] === "." || source["editable"] === ".") {
      continue;
    }
    const files = [...asArray(p["files"]), ...asArray(p["wheels"]), p["sdist"]];
    const deps = Array.isArray(p["dependencies"])
      ? asArray(p["dependencies"]).map((d) => str(asObject(d)["name"]))
      : Object.keys(asObject(p["dependencies"]));
    out.push(
      pypi(name, version, {
        checksums: sums(files.map((f) => asObject(f)["hash"])),
        dependsOn: deps.filter((d): d is string => !!d).map(normalizePypiName),
      }),
    );
  }
  return out;
}

export const pythonRequirementsCataloger: Cataloger = lockfileCataloger({
  id: "python-requirements-cataloger",
  version: 1,
  type: "pypi",
  // development and test requirement sets are not what the software runs with
  file: /\/(?!(?:[^/]*[-_.])?(?:dev|test|tests|testing|docs?|lint)[-_.])[^/]*requirements[^/]*\.txt$/,
  invalidCode: "SBOM_PYTHON_LOCK_INVALID",
  parse: (src) => parseRequirements(src),
});

export const pipfileLockCataloger: Cataloger = lockfileCataloger({
  id: "python-pipfile-lock-cataloger",
  version: 1,
  type: "pypi",
  file: /\/Pipfile\.lock$/,
  invalidCode: "SBOM_PYTHON_LOCK_INVALID",
  parse: (src) => parsePipfileLock(src),
});

export const poetryLockCataloger: Cataloger = lockfileCataloger({
  id: "python-poetry-lock-cataloger",
  version: 1,
  type: "pypi",
  file: /\/poetry\.lock$/,
  invalidCode: "SBOM_PYTHON_LOCK_INVALID",
  parse: (src) => parseTomlLock(src),
});

export const uvLockCataloger: Cataloger = lockfileCataloger({
  id: "python-uv-lock-cataloger",
  version: 1,
  type: "pypi",
  file: /\/uv\.lock$/,
  invalidCode: "SBOM_PYTHON_LOCK_INVALID",
  parse: (src) => parseTomlLock(src),
});
