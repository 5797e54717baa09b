import type { Cataloger } from "../../cataloger.js";
import { asObject, checksumOf, type LockEntry, lockfileCataloger } from "../lockfile.js";

/** A platform requirement (php, ext-*, lib-*, composer-*) is not a package. */
function isPlatform(name: string): boolean {
  return !name.includes("/");
}

function entry(raw: unknown): LockEntry | undefined {
  const p = asObject(raw);
  const name = typeof p["name"] === "string" ? p["name"] : undefined;
  const version = typeof p["version"] === "string" ? p["version"] : undefined;
  if (!name || !version || !name.includes("/")) {
    return undefined;
  }
  const [vendor, bare] = name.split("/", 2) as [string, string];
  const licenses = Array.isArray(p["license"])
    ? (p["license"] as unknown[]).filter((l): l is string => typeof l === "string")
    : typeof p["license"] === "string"
      ? [p["license"]]
      : [];
  const authors = (Array.isArray(p["authors"]) ? (p["authors"] as unknown[]) : [])
    .map((a) => asObject(a)["name"])
    .filter((a): a is string => typeof a === "string");
  const sum = checksumOf(`sha1:${String(asObject(p["dist"])["shasum"] ?? "")}`);
  const reference = asObject(p["source"])["reference"] ?? asObject(p["dist"])["reference"];
  return {
    name,
    version,
    purlNamespace: vendor,
    purlName: bare,
    licenses,
    ...(authors.length ? { author: authors.join(", ") } : {}),
    checksums: sum ? [sum] : [],
    dependsOn: Object.keys(asObject(p["require"])).filter((d) => !isPlatform(d)),
    ...(typeof reference === "string" && reference
      ? { properties: { "composer:reference": reference } }
      : {}),
  };
}

/**
 * vendor/composer/installed.json as Composer 1 (an array) and Composer 2 (`packages`, with the
 * development packages named in `dev-package-names`) write it: what is installed.
 */
export function parseComposerInstalled(src: string): LockEntry[] {
  const doc = JSON.parse(src) as unknown;
  const list = Array.isArray(doc) ? doc : asObject(doc)["packages"];
  if (!Array.isArray(list)) {
    throw new Error("neither a package array nor an object with packages");
  }
  const dev = new Set(
    Array.isArray(asObject(doc)["dev-package-names"])
      ? (asObject(doc)["dev-package-names"] as string[])
      : [],
  );
  return list.flatMap((p) => {
    const e = entry(p);
    return e && !dev.has(e.name) ? [e] : [];
  });
}

/** composer.lock: `packages` (what a production install gets; `packages-dev` is not). */
export function parseComposerLock(src: string): LockEntry[] {
  const doc = asObject(JSON.parse(src));
  if (!Array.isArray(doc["packages"])) {
    throw new Error("no packages array");
  }
  return (doc["packages"] as unknown[]).flatMap((p) => {
    const e = entry(p);
    return e ? [e] : [];
  });
}

export const composerInstalledCataloger: Cataloger = lockfileCataloger({
  id: "php-composer-installed-cataloger",
  version: 1,
  type: "composer",
  installed: true,
  file: /\/vendor\/composer\/installed\.json$/,
  invalidCode: "SBOM_COMPOSER_INVALID",
  parse: (src) => parseComposerInstalled(src),
});

/** A composer.lock whose project has an installed vendor tree is described by that tree. */
export const composerLockCataloger: Cataloger = lockfileCataloger({
  id: "php-composer-lock-cataloger",
  version: 1,
  type: "composer",
  file: /\/composer\.lock$/,
  invalidCode: "SBOM_COMPOSER_INVALID",
  parse: (src) => parseComposerLock(src),
  superseded: (resolver, dir, e) =>
    e === undefined && resolver.lstat(`${dir}/vendor/composer/installed.json`) !== undefined,
});
