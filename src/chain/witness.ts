import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { sha256 } from "../core/digest.js";
import { type EvidenceStore, PostgresEvidenceStore, SqliteEvidenceStore } from "../store/index.js";
import type { ChainContext } from "./context.js";

/*
 * The witness: what this home has seen the store's logs hold, kept where the log rows are not
 * (docs/adr/0005, "the logs' heads kept outside them"). After each append, the newest signed
 * checkpoint of the transparency log and the newest audit entry (itself signed) are written as
 * files `KIND-SIZE` in a directory beside the embedded store (`evidence/witness/`), or under
 * `$CLEANIMG_HOME/witness/` for a PostgreSQL store (keyed by its server and database). A file is
 * written to a temporary name, fsynced, renamed and its directory fsynced; then the files of
 * smaller sizes are removed. Writers never replace a file, so concurrent ones cannot lower the
 * largest size: the witness only ever rises.
 */

export type WitnessKind = "tlog" | "audit";

/** Where the witness of this context's store is kept (undefined for a store in memory). */
export function witnessDir(ctx: ChainContext): string | undefined {
  const store: EvidenceStore = ctx.evidence();
  if (store instanceof SqliteEvidenceStore) {
    return join(store.dir, "witness");
  }
  if (store instanceof PostgresEvidenceStore) {
    let where = store.url;
    try {
      const u = new URL(store.url);
      u.username = "";
      u.password = "";
      where = u.toString();
    } catch {
      // not a URL the WHATWG parser reads: the whole string names the store
    }
    return join(ctx.home, "witness", sha256(where).slice(7, 23));
  }
  return undefined;
}

const witnessFile = (kind: WitnessKind, size: number): string =>
  `${kind}-${String(size).padStart(16, "0")}`;

async function witnessSizes(dir: string, kind: WitnessKind): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const re = new RegExp(`^${kind}-(\\d{16})$`);
  return names.flatMap((n) => {
    const m = re.exec(n);
    return m ? [Number(m[1])] : [];
  });
}

/**
 * Records that the log `kind` held `size` entries, with `bytes` proving it (the signed checkpoint,
 * the signed last audit entry). Best effort once the entry is appended: a witness left lower is
 * still true, only less strict.
 */
export async function raiseWitness(
  ctx: ChainContext,
  kind: WitnessKind,
  size: number,
  bytes: Uint8Array,
): Promise<void> {
  const dir = witnessDir(ctx);
  if (!dir) {
    return;
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const sizes = await witnessSizes(dir, kind);
    if (sizes.some((s) => s >= size)) {
      return;
    }
    const path = join(dir, witnessFile(kind, size));
    const tmp = join(dir, `.${witnessFile(kind, size)}.tmp-${randomBytes(6).toString("hex")}`);
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const d = await open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    await Promise.all(
      sizes
        .filter((s) => s < size)
        .map((s) => rm(join(dir, witnessFile(kind, s)), { force: true })),
    );
  } catch {
    // an unwritable home: the evidence is recorded; the witness stays where it was
  }
}

/** The largest size the witness records for a log, with its proof and where it is kept. */
export async function readWitness(
  ctx: ChainContext,
  kind: WitnessKind,
): Promise<{ size: number; bytes: Uint8Array; path: string } | undefined> {
  const dir = witnessDir(ctx);
  if (!dir) {
    return undefined;
  }
  for (const size of (await witnessSizes(dir, kind)).sort((a, b) => b - a)) {
    const path = join(dir, witnessFile(kind, size));
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes) {
      return { size, bytes: new Uint8Array(bytes), path };
    }
  }
  return undefined;
}
