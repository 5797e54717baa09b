import type { Cataloger } from "../../cataloger.js";
import { asObject, checksumOf, type LockEntry, lockfileCataloger } from "../lockfile.js";

/**
 * A .NET application's `*.deps.json` (what the host loads): the `libraries` of type `package`
 * (NuGet packages) and `project` (the application and its projects), with their SHA-512 and
 * dependencies from the runtime target. Framework references are part of the runtime, not of
 * the application, and are not reported.
 */
export function parseDepsJson(src: string): LockEntry[] {
  const doc = asObject(JSON.parse(src));
  const libraries = asObject(doc["libraries"]);
  if (!doc["libraries"] || !doc["targets"]) {
    throw new Error("no libraries and targets (not a .NET dependency manifest)");
  }
  const targets = asObject(doc["targets"]);
  const runtime = asObject(doc["runtimeTarget"])["name"];
  const target = asObject(
    typeof runtime === "string" && targets[runtime] ? targets[runtime] : Object.values(targets)[0],
  );
  const out: LockEntry[] = [];
  for (const [key, raw] of Object.entries(libraries)) {
    const lib = asObject(raw);
    const type = lib["type"];
    const slash = key.lastIndexOf("/");
    if ((type !== "package" && type !== "project") || slash <= 0) {
      continue;
    }
    const name = key.slice(0, slash);
    const version = key.slice(slash + 1);
    const sum = checksumOf(lib["sha512"]);
    out.push({
      name,
      version,
      checksums: sum ? [sum] : [],
      dependsOn: Object.keys(asObject(asObject(target[key])["dependencies"])),
      properties: {
        "dotnet:libraryType": String(type),
        ...(typeof lib["path"] === "string" ? { "dotnet:path": lib["path"] } : {}),
      },
    });
  }
  return out;
}

export const dotnetDepsCataloger: Cataloger = lockfileCataloger({
  id: "dotnet-deps-cataloger",
  version: 1,
  type: "nuget",
  installed: true,
  file: /\/[^/]+\.deps\.json$/,
  invalidCode: "SBOM_DOTNET_DEPS_INVALID",
  parse: (src) => parseDepsJson(src),
});

/**
 * NuGet's lockfile (`packages.lock.json`, RestorePackagesWithLockFile): per target framework,
 * the Direct and Transitive packages with their resolved version and content hash. Project
 * references (`Project`) are the build's own projects, not packages.
 */
export function parseNugetLock(src: string): LockEntry[] {
  const doc = asObject(JSON.parse(src));
  if (typeof doc["version"] !== "number" || !doc["dependencies"]) {
    throw new Error("no version and dependencies (not a NuGet lock file)");
  }
  const out: LockEntry[] = [];
  for (const framework of Object.values(asObject(doc["dependencies"]))) {
    for (const [name, raw] of Object.entries(asObject(framework))) {
      const p = asObject(raw);
      const version = p["resolved"];
      if (p["type"] === "Project" || typeof version !== "string") {
        continue;
      }
      const sum = checksumOf(`sha512-${String(p["contentHash"] ?? "")}`);
      out.push({
        name,
        version,
        checksums: sum ? [sum] : [],
        dependsOn: Object.keys(asObject(p["dependencies"])),
        properties: { "nuget:dependencyType": String(p["type"] ?? "") },
      });
    }
  }
  return out;
}

export const nugetLockCataloger: Cataloger = lockfileCataloger({
  id: "dotnet-packages-lock-cataloger",
  version: 1,
  type: "nuget",
  file: /\/packages\.lock\.json$/,
  invalidCode: "SBOM_DOTNET_DEPS_INVALID",
  parse: (src) => parseNugetLock(src),
});
