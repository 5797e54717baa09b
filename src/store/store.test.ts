import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { digestHex } from "../core/digest.js";
import {
  describeEvidenceStoreContract,
  MemoryEvidenceStore,
  SqliteEvidenceStore,
} from "./index.js";

describeEvidenceStoreContract(
  "memory",
  {
    create: async (now) => new MemoryEvidenceStore(now),
    corrupt: async (s, d) => (s as MemoryEvidenceStore).corruptForTest(d),
  },
  { describe, it, expect },
);

describeEvidenceStoreContract(
  "sqlite",
  {
    create: async (now) =>
      SqliteEvidenceStore.open(mkdtempSync(join(tmpdir(), "cleanimg-store-")), { now }),
    corrupt: async (s, d) => {
      const p = join((s as SqliteEvidenceStore).dir, "blobs", "sha256", digestHex(d));
      const b = readFileSync(p);
      b[0] = (b[0] ?? 0) ^ 0xff;
      writeFileSync(p, b);
    },
  },
  { describe, it, expect },
);
