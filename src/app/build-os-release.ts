import {
  BASE_FILES,
  type BuildSpec,
  cachedReleaseFields,
  OS_RELEASE_PATH,
  type OsReleaseSource,
  osReleaseFromRelease,
  type ReleaseFields,
} from "../build/index.js";
import { sha256 } from "../core/digest.js";
import type { BuildLock, OpenBase } from "./build-inputs.js";
import { cacheDir } from "./build-inputs.js";
import type { AppContext } from "./context.js";

/**
 * Where the image's /etc/os-release comes from: the base image when it has one, else the
 * base-files package when the lock installs it (it ships /usr/lib/os-release and /etc/os-release
 * pointing there), else generated from the signed Release fields the lock records.
 */
export function osReleasePlan(
  lock: BuildLock,
  base: { name: string; hasOsRelease: boolean } | undefined,
  /** The Release fields, when the lock predates recording them (from the pinned InRelease). */
  fromCache?: ReleaseFields,
): { source: OsReleaseSource; bytes?: Uint8Array } {
  if (base?.hasOsRelease) {
    return { source: { from: "base image", path: OS_RELEASE_PATH, base: base.name } };
  }
  const bf = lock.packages.find((p) => p.name === BASE_FILES);
  if (bf) {
    return {
      source: { from: "package", path: "/usr/lib/os-release", package: `${bf.name} ${bf.version}` },
    };
  }
  const release =
    lock.archive.codename !== undefined
      ? {
          origin: lock.archive.origin ?? "",
          label: lock.archive.label ?? "",
          suite: lock.archive.releaseSuite ?? "",
          version: lock.archive.version,
          codename: lock.archive.codename,
        }
      : fromCache;
  if (!release) {
    return {
      source: {
        from: "none",
        reason:
          "the lock file does not record the Release's Origin and Codename and the InRelease it pins is not cached; delete the lock to resolve again",
      },
    };
  }
  const g = osReleaseFromRelease(release);
  if ("reason" in g) {
    return { source: { from: "none", reason: g.reason } };
  }
  const bytes = new TextEncoder().encode(g.text);
  return {
    source: { from: "generated", path: OS_RELEASE_PATH, release, sha256: sha256(bytes).slice(7) },
    bytes,
  };
}

/** Where /etc/os-release comes from (see osReleasePlan), said in the build log. */
export async function planOsRelease(
  ctx: AppContext,
  spec: BuildSpec,
  lock: BuildLock,
  base: OpenBase | undefined,
  say: (m: string) => void,
): Promise<{ source: OsReleaseSource; bytes?: Uint8Array }> {
  const osRelease = osReleasePlan(
    lock,
    base ? { name: base.name, hasOsRelease: base.hasOsRelease } : undefined,
    lock.archive.codename === undefined
      ? await cachedReleaseFields(spec, cacheDir(ctx), lock.archive.inRelease)
      : undefined,
  );
  const s = osRelease.source;
  say(
    s.from === "none"
      ? `no /etc/os-release: ${s.reason}`
      : `/etc/os-release: ${s.from === "generated" ? `generated from the signed Release (${lock.archive.origin} ${lock.archive.version} ${lock.archive.codename})` : s.from === "package" ? `from ${s.package}` : `from the base image`}`,
  );
  return osRelease;
}
