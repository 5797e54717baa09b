import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../core/digest.js";
import { isToolError } from "../core/errors.js";
import { type EvidenceStore, PostgresEvidenceStore, SqliteEvidenceStore } from "../store/index.js";
import type { AppContext } from "./context.js";

/** One part of the evidence store, and why it is in that state. */
export interface StorePart {
  readonly ok: boolean;
  readonly detail: string;
}

/** Whether each part of the evidence store answers. */
export interface StoreHealth {
  readonly ok: boolean;
  /** "sqlite" or "postgres". */
  readonly store: string;
  /** The index: links, logs (audit trail, tokens), blob metadata. */
  readonly database: StorePart;
  /** The evidence documents themselves (files for SQLite, rows for PostgreSQL). */
  readonly blobs: StorePart;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Checks the evidence store part by part, reading only: the database answers a log-size and an
 * index query; the blobs answer when one indexed blob (the smallest of the first few) is read back
 * and re-hashed, and, for the embedded store, when its blobs directory is there and usable. A blob
 * whose bytes do not match its digest was read (the store answers; that evidence fails its own
 * checks wherever it is used).
 */
export async function storeHealth(ctx: AppContext): Promise<StoreHealth> {
  let store: EvidenceStore;
  try {
    store = ctx.evidence();
  } catch (e) {
    const why = `the store does not open: ${message(e)}`;
    return {
      ok: false,
      store: "unknown",
      database: { ok: false, detail: why },
      blobs: { ok: false, detail: why },
    };
  }
  const kind = store instanceof PostgresEvidenceStore ? "postgres" : "sqlite";
  let sample: { evidence: Digest; size: number } | undefined;
  let database: StorePart;
  try {
    const events = await store.size("audit");
    const links = await store.find({ limit: 20 });
    sample = [...links].sort((a, b) => a.size - b.size)[0];
    database = { ok: true, detail: `answers (audit log of ${events} events)` };
  } catch (e) {
    database = { ok: false, detail: message(e) };
  }
  const blobs = database.ok
    ? await blobsHealth(store, sample)
    : {
        ok: false,
        detail: `not checked: the database that indexes them does not answer${kind === "postgres" ? " (the blobs are in it)" : ""}`,
      };
  return { ok: database.ok && blobs.ok, store: kind, database, blobs };
}

async function blobsHealth(
  store: EvidenceStore,
  sample: { evidence: Digest; size: number } | undefined,
): Promise<StorePart> {
  if (store instanceof SqliteEvidenceStore) {
    const dir = join(store.dir, "blobs", "sha256");
    try {
      if (!(await stat(dir)).isDirectory()) {
        return { ok: false, detail: `the blobs directory ${dir} is not a directory` };
      }
      await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (e) {
      return { ok: false, detail: `the blobs directory is not usable: ${message(e)}` };
    }
  }
  if (!sample) {
    return { ok: true, detail: "no blob is indexed yet" };
  }
  try {
    await store.getBlob(sample.evidence);
    return { ok: true, detail: `read back and re-hashed ${sample.evidence}` };
  } catch (e) {
    if (isToolError(e) && e.code === "STORE_DIGEST_MISMATCH") {
      return { ok: true, detail: `read back ${sample.evidence} (its bytes were altered)` };
    }
    return {
      ok: false,
      detail: `the indexed blob ${sample.evidence} does not read: ${message(e)}`,
    };
  }
}

/** The store did not answer while a verdict was made: the verdict is not one. */
export class StoreUnavailable extends Error {
  constructor(readonly health: StoreHealth) {
    super(outageMessage(health));
  }
}

/** Why the webhook denies while the store is unhealthy, naming each failing part. */
export function outageMessage(h: StoreHealth): string {
  const parts = (["database", "blobs"] as const)
    .filter((p) => !h[p].ok)
    .map((p) => `${p}: ${h[p].detail}`);
  return `cleanimg cannot read its evidence store (${h.store}), so it denies (fail-closed): ${parts.join("; ")}`;
}
