import { constants, inflateSync } from "node:zlib";
import type { Issue } from "../../../core/issues.js";
import type { FileNode, FileResolver, Sniffer } from "../../../source/index.js";
import type { Cataloger, CatalogResult } from "../../cataloger.js";
import type { Package } from "../../model.js";
import { asArray, asObject } from "../lockfile.js";
import { locationOf, packageId, purl, text } from "../shared.js";

/**
 * `cargo auditable` embeds the crate graph of a Rust binary as zlib-compressed JSON
 * (`{"packages":[{"name","version","source","kind","dependencies":[indices],"root"}]}`) in a
 * section named `.dep-v0`. Where the section lies depends on the linker, so the compressed data
 * is found as layers stream: a zlib header (one sniffer per compression-level byte), accepted
 * only when the first bytes it inflates to are that JSON.
 */
const ZLIB_LEVEL_BYTES = [0x01, 0x5e, 0x9c, 0xda] as const;
// enough compressed bytes for a dynamic Huffman block header and the first literals
const LOOKAHEAD = 510;
const MAX_COMPRESSED = 4 * 1024 * 1024;
const MAX_JSON = 64 * 1024 * 1024;

/** Reads a deflate stream's bits, least significant first (RFC 1951 §3.1.1). */
function bitReader(b: Uint8Array, startByte: number): (n: number) => number {
  let pos = startByte * 8;
  return (n) => {
    let v = 0;
    for (let i = 0; i < n; i++, pos++) {
      v |= (((b[pos >> 3] ?? 0) >> (pos & 7)) & 1) << i;
    }
    return v;
  };
}

const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A cheap first judgement of a zlib header match, before inflating (a real inflate costs tens of
 * microseconds and a large executable holds thousands of such byte pairs): the first deflate
 * block must be stored with a consistent length, fixed-Huffman starting with the literal "{",
 * or dynamic-Huffman with a complete code-length code, as zlib itself requires.
 */
export function plausibleDeflateStart(head: Uint8Array): boolean {
  const bits = bitReader(head, 2);
  bits(1); // BFINAL
  const type = bits(2);
  if (type === 0) {
    const len = (head[3] ?? 0) | ((head[4] ?? 0) << 8);
    const nlen = (head[5] ?? 0) | ((head[6] ?? 0) << 8);
    return (len ^ 0xffff) === nlen && head[7] === 0x7b;
  }
  if (type === 1) {
    // fixed Huffman: literals 0-143 are the 8-bit codes 0x30-0xbf, most significant bit first
    let code = 0;
    for (let i = 0; i < 8; i++) {
      code = (code << 1) | bits(1);
    }
    return code === 0x30 + 0x7b;
  }
  if (type !== 2) {
    return false;
  }
  const hlit = bits(5);
  bits(5); // HDIST
  const hclen = bits(4) + 4;
  if (hlit > 29) {
    return false;
  }
  const lengths = new Array<number>(19).fill(0);
  for (let i = 0; i < hclen; i++) {
    lengths[CODE_LENGTH_ORDER[i] as number] = bits(3);
  }
  let kraft = 0;
  for (const l of lengths) {
    if (l > 0) {
      kraft += 1 << (7 - l);
    }
  }
  return kraft === 128;
}

function startsAsAuditJson(head: Uint8Array): boolean {
  if (!plausibleDeflateStart(head)) {
    return false;
  }
  try {
    const out = inflateSync(head, {
      finishFlush: constants.Z_SYNC_FLUSH,
      maxOutputLength: 4096,
    }).toString("latin1");
    return /^\{"(packages|format)":/.test(out);
  } catch {
    return false;
  }
}

function auditSniffer(levelByte: number): Sniffer {
  return {
    id: `rust-audit-data-${levelByte.toString(16)}`,
    magic: Uint8Array.from([0x78, levelByte]),
    capture: MAX_COMPRESSED,
    lookahead: LOOKAHEAD,
    accept: startsAsAuditJson,
    match: (node: FileNode) => (node.mode & 0o111) !== 0 && node.size >= 4096,
    // keep the inflated JSON, not the compressed bytes and what follows them
    trim: (b) => {
      try {
        return inflateSync(b, {
          finishFlush: constants.Z_SYNC_FLUSH,
          maxOutputLength: MAX_JSON,
        });
      } catch {
        return new Uint8Array(0);
      }
    },
  };
}

export const RUST_AUDIT_SNIFFERS: readonly Sniffer[] = ZLIB_LEVEL_BYTES.map(auditSniffer);

export interface AuditPackage {
  readonly name: string;
  readonly version: string;
  readonly source: string;
  readonly kind: "runtime" | "build";
  readonly root: boolean;
  readonly dependencies: readonly number[];
}

/** The crate list of cargo-auditable's JSON, or why it is not that JSON. */
export function parseAuditData(json: string): AuditPackage[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    return `audit data is not complete JSON (${(e as Error).message})`;
  }
  const list = asObject(doc)["packages"];
  if (!Array.isArray(list)) {
    return "audit data has no packages array";
  }
  const out: AuditPackage[] = [];
  for (const raw of list) {
    const p = asObject(raw);
    if (typeof p["name"] !== "string" || typeof p["version"] !== "string") {
      return "an audit data package lacks a name or version";
    }
    out.push({
      name: p["name"],
      version: p["version"],
      source: typeof p["source"] === "string" ? p["source"] : "crates.io",
      kind: p["kind"] === "build" ? "build" : "runtime",
      root: p["root"] === true,
      dependencies: asArray(p["dependencies"]).filter((d): d is number => Number.isInteger(d)),
    });
  }
  return out;
}

/**
 * Crates compiled into Rust binaries built with `cargo auditable`. Build-time crates (build
 * scripts, proc macros: `kind: "build"`) are not in the binary and are not reported.
 */
export const rustAuditCataloger: Cataloger = {
  id: "rust-cargo-auditable-cataloger",
  version: 1,
  sniffers: RUST_AUDIT_SNIFFERS,
  interest: () => false,
  async catalog(resolver: FileResolver): Promise<CatalogResult> {
    const packages: Package[] = [];
    const issues: Issue[] = [];
    for (const node of resolver.files()) {
      if (node.type !== "file" || !(RUST_AUDIT_SNIFFERS[0] as Sniffer).match(node)) {
        continue;
      }
      let data: Uint8Array | undefined;
      for (const sn of RUST_AUDIT_SNIFFERS) {
        data = await resolver.sniffed(node.path, sn);
        if (data) {
          break;
        }
      }
      if (!data) {
        continue;
      }
      const crates = parseAuditData(text(data));
      if (typeof crates === "string") {
        issues.push({ code: "SBOM_RUST_AUDIT_UNREAD", message: crates, path: node.path });
        continue;
      }
      const location = locationOf(resolver, node, node.path);
      for (const c of crates) {
        if (c.kind === "build") {
          continue;
        }
        const p = purl("cargo", undefined, c.name, c.version);
        packages.push({
          id: packageId(p, node.path),
          name: c.name,
          version: c.version,
          type: "cargo",
          purl: p,
          cpes: [],
          licenseDeclared: [],
          foundBy: "rust-cargo-auditable-cataloger",
          locations: [location],
          checksums: [],
          files: [],
          dependsOn: [
            ...new Set(
              c.dependencies
                .map((i) => crates[i])
                .filter((d): d is AuditPackage => d !== undefined && d.kind !== "build")
                .map((d) => d.name),
            ),
          ].sort(),
          properties: { "cargo:source": c.source, ...(c.root ? { "cargo:root": "true" } : {}) },
        });
      }
    }
    return { packages, issues };
  },
};
