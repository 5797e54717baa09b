import type { KeyObject } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { type DsseEnvelope, type Signer, signEnvelope, verifyEnvelope } from "../attest/index.js";
import { recordAuditEvent } from "../chain/index.js";
import { AttestError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { streamOf } from "../core/limits.js";
import { readTar, writeFileAtomic } from "../oci/index.js";
import {
  type ImportResult,
  type OsvRecord,
  type SourceAge,
  sourceAges,
  type Untar,
  VulnDb,
} from "../vuln/index.js";
import type { AppContext } from "./context.js";

/** Reads the regular files of an in-memory tar archive (the Debian tracker list bundle). */
export const untarMembers: Untar = async (b) => {
  const out: { name: string; data: Uint8Array }[] = [];
  await readTar(streamOf(b), {
    onEntry: (e) => {
      if (e.type !== "file") {
        return undefined;
      }
      const chunks: Uint8Array[] = [];
      return {
        write: (c) => {
          chunks.push(new Uint8Array(c));
        },
        close: () => {
          out.push({ name: e.name, data: Buffer.concat(chunks) });
        },
      };
    },
  });
  return out;
};

/** The vulnerability database under the home directory. */
export function openVulnDb(ctx: AppContext): VulnDb {
  return VulnDb.open(join(ctx.home, "vulndb"));
}

export const VULNDB_BUNDLE_TYPE = "application/vnd.cleanimg.vulndb.v1+jsonl+gzip";

interface BundleHeader {
  readonly cleanimgVulnDb: 1;
  readonly snapshot: string;
  readonly records: number;
  readonly created: string;
}

/** True when a file is a signed database export (a DSSE envelope of that payload type). */
export async function isExportBundle(path: string): Promise<boolean> {
  if (!(await stat(path).catch(() => undefined))?.isFile()) {
    return false;
  }
  const fh = await open(path, "r").catch(() => undefined);
  if (!fh) {
    return false;
  }
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0).catch(() => ({ bytesRead: 0 }));
    return head
      .subarray(0, bytesRead)
      .toString("utf8")
      .includes(`"payloadType":"${VULNDB_BUNDLE_TYPE}"`);
  } finally {
    await fh.close();
  }
}

export interface VulnImportResult extends ImportResult {
  readonly bundles: readonly {
    readonly path: string;
    readonly signedBy: readonly string[];
    readonly snapshot: string;
  }[];
}

/**
 * Imports vulnerability data. Signed database exports (`db export`) are accepted only when their
 * signature verifies with one of `keys`; an import into an empty database must then reproduce the
 * exporter's snapshot.
 * @throws AttestError ATTEST_SIGNATURE_INVALID for an unverified, wrongly signed or altered bundle
 */
export async function importVulnData(
  ctx: AppContext,
  paths: readonly string[],
  opts: { keys?: readonly KeyObject[] } = {},
): Promise<VulnImportResult> {
  const db = openVulnDb(ctx);
  try {
    const plain: string[] = [];
    const bundles: { path: string; signedBy: readonly string[]; snapshot: string }[] = [];
    const fromBundles: ImportResult["sources"][number][] = [];
    for (const p of paths) {
      if (!(await isExportBundle(p))) {
        plain.push(p);
        continue;
      }
      if (!opts.keys?.length) {
        throw new AttestError(
          "ATTEST_SIGNATURE_INVALID",
          `${p} is a signed database export, and no key was given to verify it`,
          {
            hint: "pass the exporter's public key with --key",
          },
        );
      }
      const env = parseJson(await readFile(p, "utf8"), p) as DsseEnvelope;
      const verified = verifyEnvelope(env, opts.keys);
      if (verified.payloadType !== VULNDB_BUNDLE_TYPE) {
        throw new AttestError(
          "ATTEST_SIGNATURE_INVALID",
          `${p}: unexpected payload type ${verified.payloadType}`,
        );
      }
      const lines = gunzipSync(verified.payload).toString("utf8").split("\n").filter(Boolean);
      const header = parseJson(lines[0] ?? "{}", `${p}'s header`) as BundleHeader;
      if (header.cleanimgVulnDb !== 1) {
        throw new AttestError("ATTEST_SIGNATURE_INVALID", `${p}: not a cleanimg database export`);
      }
      const empty = db.count() === 0;
      const bySource = new Map<string, OsvRecord[]>();
      for (const line of lines.slice(1)) {
        const { source, record } = parseJson(line, `a record of ${p}`) as {
          source: string;
          record: OsvRecord;
        };
        const list = bySource.get(source) ?? [];
        list.push(record);
        bySource.set(source, list);
      }
      const r = db.apply(
        [...bySource.entries()].map(([source, records]) => ({ source, records, paths: [p] })),
      );
      if (empty && r.snapshot !== header.snapshot) {
        throw new AttestError(
          "ATTEST_SIGNATURE_INVALID",
          `${p}: imported data has snapshot ${r.snapshot}, the export says ${header.snapshot}`,
        );
      }
      fromBundles.push(...r.sources);
      bundles.push({ path: p, signedBy: verified.keyids, snapshot: header.snapshot });
    }
    const r = plain.length ? await db.import(plain, untarMembers) : { sources: [], issues: [] };
    const result = {
      sources: [...fromBundles, ...r.sources],
      snapshot: db.snapshot(),
      issues: r.issues,
      bundles,
    };
    await recordAuditEvent(ctx, {
      action: "db-import",
      evidence: { dbSnapshot: result.snapshot },
      details: {
        paths: paths.join(" "),
        records: String(result.sources.reduce((n, s) => n + s.records, 0)),
        ...(bundles.length ? { signedBy: bundles.flatMap((b) => b.signedBy).join(" ") } : {}),
      },
    });
    return result;
  } finally {
    db.close();
  }
}

/**
 * The whole database as one signed envelope (DSSE over gzipped JSON lines with a header naming
 * the snapshot): what `db export` writes and `db push` sends.
 */
export async function signedVulnDbExport(
  ctx: AppContext,
  signer: Signer,
): Promise<{ bytes: Uint8Array; records: number; snapshot: string; created: string }> {
  const db = openVulnDb(ctx);
  try {
    const lines = [...db.exportLines()];
    const header: BundleHeader = {
      cleanimgVulnDb: 1,
      snapshot: db.snapshot(),
      records: lines.length,
      created: new Date().toISOString(),
    };
    const payload = gzipSync(`${JSON.stringify(header)}\n${lines.join("\n")}\n`);
    const env = await signEnvelope(VULNDB_BUNDLE_TYPE, payload, [signer]);
    return {
      bytes: new TextEncoder().encode(JSON.stringify(env)),
      records: lines.length,
      snapshot: header.snapshot,
      created: header.created,
    };
  } finally {
    db.close();
  }
}

/**
 * Writes the whole database as one signed file that `db import --key` accepts on an air-gapped
 * machine. Side effects: writes `out` atomically.
 */
export async function exportVulnDb(
  ctx: AppContext,
  out: string,
  signer: Signer,
): Promise<{ output: string; records: number; snapshot: string; keyid: string }> {
  const e = await signedVulnDbExport(ctx, signer);
  await writeFileAtomic(out, e.bytes);
  return { output: out, records: e.records, snapshot: e.snapshot, keyid: signer.keyid };
}

/** Sources with record counts, dates and ages (of the newest record, and since the import). */
export function vulnDbStatus(
  ctx: AppContext,
  now: Date = new Date(),
): {
  sources: SourceAge[];
  snapshot: string;
  records: number;
} {
  const db = openVulnDb(ctx);
  try {
    return { sources: sourceAges(db.status(), now), snapshot: db.snapshot(), records: db.count() };
  } finally {
    db.close();
  }
}
