import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { writeFileAtomic } from "../core/atomic-write.js";
import { ToolError } from "../core/errors.js";
import type { BuildSpec } from "./spec.js";

/**
 * The Debian archive as a build reads it: the InRelease file verified with gpgv against the
 * archive keyring (only the signed text is parsed), the Packages indexes checked against the
 * SHA256 list of that signed text, and dependencies resolved from them. Everything fetched is
 * cached by content; with `offline`, nothing is fetched.
 */

export interface DebPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
  readonly source?: string;
  readonly depends: string;
  readonly preDepends: string;
  readonly provides: string;
}

export interface ArchiveIndex {
  readonly uri: string;
  readonly suite: string;
  readonly architecture: string;
  /**
   * sha256 of the InRelease file, and the signed Release's own fields: Date, Version, and what
   * names the distribution (Origin, Label, Suite, Codename; "" when the Release has none).
   */
  readonly release: ReleaseFields & { readonly sha256: string; readonly date: string };
  readonly packages: ReadonlyMap<string, readonly DebPackage[]>;
  readonly providers: ReadonlyMap<string, readonly DebPackage[]>;
}

/** The fields of a signed Release file that name the distribution release. */
export interface ReleaseFields {
  readonly origin: string;
  readonly label: string;
  readonly suite: string;
  readonly version: string;
  readonly codename: string;
}

const sha256hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/**
 * Fetches a URL of the archive.
 * @throws ToolError BUILD_FETCH_FAILED on a network error or an HTTP error status
 */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ToolError("BUILD_FETCH_FAILED", `cannot fetch ${url}: ${(e as Error).message}`, {
      hint: "check the network, or build --offline with a complete lock file and cache",
    });
  }
  if (!res.ok) {
    throw new ToolError("BUILD_FETCH_FAILED", `cannot fetch ${url}: HTTP ${res.status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** Runs gpgv on a clearsigned file; returns the signed text only. */
function gpgvVerify(keyring: string, signed: Uint8Array, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = execFile(
      "gpgv",
      ["--keyring", keyring, "--output", "-", "-"],
      { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new ToolError(
              "ATTEST_SIGNATURE_INVALID",
              `${what}: the signature does not verify with ${keyring}: ${stderr.toString().trim().split("\n").pop()}`,
              {
                hint: "the index may have been tampered with, or the keyring is not the archive's; nothing was built",
              },
            ),
          );
        } else {
          resolve(stdout.toString("utf8"));
        }
      },
    );
    p.stdin?.end(Buffer.from(signed));
  });
}

/** Parses deb822 stanzas (only the fields asked for), calling `each` per stanza. */
export function parseStanzas(
  text: string,
  each: (fields: Map<string, string>) => void,
  wanted?: ReadonlySet<string>,
): void {
  let cur = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split("\n")) {
    if (line === "") {
      if (cur.size > 0) {
        each(cur);
      }
      cur = new Map();
      last = undefined;
    } else if (line[0] === " " || line[0] === "\t") {
      if (last !== undefined) {
        cur.set(last, `${cur.get(last)}\n${line}`);
      }
    } else {
      const i = line.indexOf(":");
      const k = line.slice(0, i);
      if (!wanted || wanted.has(k)) {
        cur.set(k, line.slice(i + 1).trim());
        last = k;
      } else {
        last = undefined;
      }
    }
  }
  if (cur.size > 0) {
    each(cur);
  }
}

const PKG_FIELDS = new Set([
  "Package",
  "Version",
  "Architecture",
  "Filename",
  "Size",
  "SHA256",
  "Source",
  "Depends",
  "Pre-Depends",
  "Provides",
]);

const indexDir = (cacheDir: string, uri: string, suite: string): string =>
  join(cacheDir, "index", sha256hex(new TextEncoder().encode(`${uri} ${suite}`)).slice(0, 16));

const releaseFieldsOf = (release: ReadonlyMap<string, string>): ReleaseFields => ({
  version: release.get("Version") ?? "",
  origin: release.get("Origin") ?? "",
  label: release.get("Label") ?? "",
  suite: release.get("Suite") ?? "",
  codename: release.get("Codename") ?? "",
});

/**
 * The Release fields of the cached InRelease whose sha256 is `sha256` (the one a lock file
 * pins), verified again with gpgv; undefined when the cache no longer holds that file.
 * @throws ToolError ATTEST_SIGNATURE_INVALID when it does not verify
 */
export async function cachedReleaseFields(
  spec: BuildSpec,
  cacheDir: string,
  sha256: string,
): Promise<ReleaseFields | undefined> {
  const { uri, suite, keyring } = spec.archive;
  const path = join(indexDir(cacheDir, uri, suite), "InRelease");
  if (!existsSync(path) || !existsSync(keyring)) {
    return undefined;
  }
  const bytes = new Uint8Array(await readFile(path));
  if (`sha256:${sha256hex(bytes)}` !== sha256) {
    return undefined;
  }
  const release = new Map<string, string>();
  parseStanzas(await gpgvVerify(keyring, bytes, path), (f) => {
    for (const [k, v] of f) {
      release.set(k, v);
    }
  });
  return releaseFieldsOf(release);
}

/** Adds one Packages stanza to the index: by name, and under every name it Provides. */
function addPackage(
  f: ReadonlyMap<string, string>,
  packages: Map<string, DebPackage[]>,
  providers: Map<string, DebPackage[]>,
): void {
  const p: DebPackage = {
    name: f.get("Package") ?? "",
    version: f.get("Version") ?? "",
    architecture: f.get("Architecture") ?? "",
    filename: f.get("Filename") ?? "",
    size: Number(f.get("Size") ?? 0),
    sha256: f.get("SHA256") ?? "",
    ...(f.get("Source") ? { source: f.get("Source") as string } : {}),
    depends: f.get("Depends") ?? "",
    preDepends: f.get("Pre-Depends") ?? "",
    provides: f.get("Provides") ?? "",
  };
  const list = packages.get(p.name) ?? [];
  list.push(p);
  packages.set(p.name, list);
  for (const v of p.provides.split(",")) {
    const name = v.trim().split(/[\s(]/)[0];
    if (name) {
      const pl = providers.get(name) ?? [];
      pl.push(p);
      providers.set(name, pl);
    }
  }
}

/** The SHA256 list of a signed Release: path -> sha256 and size. */
function signedHashes(
  release: ReadonlyMap<string, string>,
): Map<string, { sha256: string; size: number }> {
  const hashes = new Map<string, { sha256: string; size: number }>();
  for (const l of (release.get("SHA256") ?? "").split("\n")) {
    const m = /^\s*([0-9a-f]{64})\s+(\d+)\s+(\S+)$/.exec(l);
    if (m) {
      hashes.set(m[3] as string, { sha256: m[1] as string, size: Number(m[2]) });
    }
  }
  return hashes;
}

/**
 * Fetches (or reads from the cache) and verifies the archive index for a spec.
 * @throws ToolError ATTEST_SIGNATURE_INVALID when InRelease does not verify;
 *   CORE_DIGEST_MISMATCH when a Packages file is not the one the signed Release lists
 */
export async function loadArchiveIndex(
  spec: BuildSpec,
  cacheDir: string,
  opts: { offline?: boolean } = {},
): Promise<ArchiveIndex> {
  const { uri, suite, components, keyring } = spec.archive;
  const arch = spec.architecture;
  if (!existsSync(keyring)) {
    throw new ToolError("BUILD_ARCHIVE_INVALID", `the archive keyring ${keyring} does not exist`, {
      hint: "install debian-archive-keyring (apt-get install debian-archive-keyring)",
    });
  }
  const dir = indexDir(cacheDir, uri, suite);
  await mkdir(dir, { recursive: true });
  const inReleasePath = join(dir, "InRelease");
  let inRelease: Uint8Array;
  if (opts.offline) {
    if (!existsSync(inReleasePath)) {
      throw new ToolError(
        "BUILD_NOT_CACHED",
        `offline, and no cached index of ${uri} ${suite}: the packages cannot be resolved`,
        { hint: "resolve once online (writing the lock file), or give a complete lock file" },
      );
    }
    inRelease = new Uint8Array(await readFile(inReleasePath));
  } else {
    inRelease = await fetchBytes(`${uri}/dists/${suite}/InRelease`);
  }
  const text = await gpgvVerify(keyring, inRelease, `${uri}/dists/${suite}/InRelease`);
  if (!opts.offline) {
    await writeFileAtomic(inReleasePath, inRelease);
  }
  const release = new Map<string, string>();
  parseStanzas(text, (f) => {
    for (const [k, v] of f) {
      release.set(k, v);
    }
  });
  const hashes = signedHashes(release);
  const byHash = release.get("Acquire-By-Hash") === "yes";
  const packages = new Map<string, DebPackage[]>();
  const providers = new Map<string, DebPackage[]>();
  for (const comp of components) {
    const path = `${comp}/binary-${arch}/Packages.gz`;
    const want = hashes.get(path);
    if (!want) {
      throw new ToolError(
        "BUILD_ARCHIVE_INVALID",
        `${uri} ${suite} has no ${path} in its signed Release`,
        { hint: "check archive.components and architecture in the spec" },
      );
    }
    const cached = join(dir, want.sha256);
    let gz: Uint8Array;
    if (existsSync(cached)) {
      gz = new Uint8Array(await readFile(cached));
    } else if (opts.offline) {
      throw new ToolError("BUILD_NOT_CACHED", `offline, and ${path} of ${suite} is not cached`);
    } else {
      gz = await fetchBytes(
        byHash
          ? `${uri}/dists/${suite}/${comp}/binary-${arch}/by-hash/SHA256/${want.sha256}`
          : `${uri}/dists/${suite}/${path}`,
      );
    }
    if (sha256hex(gz) !== want.sha256 || gz.length !== want.size) {
      throw new ToolError(
        "CORE_DIGEST_MISMATCH",
        `${path} of ${uri} ${suite} is not the file the signed Release lists (sha256 ${want.sha256})`,
        { hint: "the index was altered in transit or in the cache; nothing was built" },
      );
    }
    if (!existsSync(cached)) {
      await writeFileAtomic(cached, gz);
    }
    parseStanzas(
      gunzipSync(gz).toString("utf8"),
      (f) => addPackage(f, packages, providers),
      PKG_FIELDS,
    );
  }
  return {
    uri,
    suite,
    architecture: arch,
    release: {
      sha256: sha256hex(inRelease),
      date: release.get("Date") ?? "",
      ...releaseFieldsOf(release),
    },
    packages,
    providers,
  };
}
