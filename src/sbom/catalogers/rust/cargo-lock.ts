import { lazyModule } from "../../../core/lazy.js";

const toml = lazyModule<typeof import("smol-toml")>("smol-toml");

import type { Cataloger } from "../../cataloger.js";
import { checksumOf, type LockEntry, lockfileCataloger } from "../lockfile.js";

type Json = Record<string, unknown>;

/**
 * Cargo.lock (format versions 1-4): one entry per `[[package]]`. A `checksum` is the SHA-256 of
 * the crate file; `dependencies` entries are "name", "name version" or "name version (source)".
 * Packages without a source are the workspace's own crates; they are reported too (they are
 * part of what is built), marked with the property `cargo:workspace`.
 */
export function parseCargoLock(src: string): LockEntry[] {
  const doc = toml().parse(src) as Json;
  const packages = Array.isArray(doc["package"]) ? (doc["package"] as Json[]) : [];
  // Format 1 kept checksums in [metadata] as "checksum NAME VERSION (SOURCE)" = "HEX".
  const legacy = (doc["metadata"] ?? {}) as Record<string, unknown>;
  const out: LockEntry[] = [];
  for (const p of packages) {
    const name = typeof p["name"] === "string" ? p["name"] : undefined;
    const version = typeof p["version"] === "string" ? p["version"] : undefined;
    if (!name || !version) {
      continue;
    }
    const source = typeof p["source"] === "string" ? p["source"] : undefined;
    const hex =
      p["checksum"] ?? (source ? legacy[`checksum ${name} ${version} (${source})`] : undefined);
    const sum = typeof hex === "string" ? checksumOf(`sha256:${hex}`) : undefined;
    const deps = Array.isArray(p["dependencies"]) ? (p["dependencies"] as unknown[]) : [];
    out.push({
      name,
      version,
      checksums: sum ? [sum] : [],
      dependsOn: deps
        .map((d) => (typeof d === "string" ? d.split(" ")[0] : undefined))
        .filter((d): d is string => !!d),
      properties: source ? { "cargo:source": source } : { "cargo:workspace": "true" },
    });
  }
  return out;
}

export const cargoLockCataloger: Cataloger = lockfileCataloger({
  id: "rust-cargo-lock-cataloger",
  version: 1,
  type: "cargo",
  file: /\/Cargo\.lock$/,
  invalidCode: "SBOM_CARGO_LOCK_INVALID",
  parse: (src) => parseCargoLock(src),
});
