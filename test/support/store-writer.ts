// Child process for the crash test: writes evidence (blob + link) in a loop until killed.
// Every 64 KiB blob's content encodes its sequence number, and "ready" is printed after the
// first commit so the parent kills mid-stream.
import { randomBytes } from "node:crypto";
import { sha256 } from "../../src/core/digest.js";
import { putEvidence, SqliteEvidenceStore } from "../../src/store/index.js";

const dir = process.argv[2] as string;
const store = SqliteEvidenceStore.open(dir);
const subject = sha256("crash-test-image");
for (let i = 0; ; i++) {
  const bytes = Buffer.concat([Buffer.from(`seq ${i}\n`), randomBytes(64 * 1024)]);
  await putEvidence(store, {
    bytes,
    mediaType: "application/octet-stream",
    subject,
    kind: "crash-test",
  });
  if (i === 0) {
    process.stdout.write("ready\n");
  }
}
