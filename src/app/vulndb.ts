import { join } from "node:path";
import { streamOf } from "../core/limits.js";
import { readTar } from "../oci/index.js";
import { type ImportResult, type SourceStatus, type Untar, VulnDb } from "../vuln/index.js";
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

export async function importVulnData(
  ctx: AppContext,
  paths: readonly string[],
): Promise<ImportResult> {
  const db = openVulnDb(ctx);
  try {
    return await db.import(paths, untarMembers);
  } finally {
    db.close();
  }
}

export function vulnDbStatus(ctx: AppContext): {
  sources: SourceStatus[];
  snapshot: string;
  records: number;
} {
  const db = openVulnDb(ctx);
  try {
    return { sources: db.status(), snapshot: db.snapshot(), records: db.count() };
  } finally {
    db.close();
  }
}
