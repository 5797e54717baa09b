import { type Digest, sha256 } from "../core/digest.js";
import type { BlobVersion } from "../store/index.js";
import { AUDIT_EVENT_KIND } from "./audit.js";
import type { ChainContext } from "./context.js";
import { type Stage, toRecorded } from "./links.js";
import { TLOG } from "./tlog.js";

/**
 * What a verified result about one image rests on in the store: the index's links for the image
 * (every kind but its audit events; chain links of the stages a caller does not exclude), the
 * version of every blob they name (bundle, envelope, evidence, image signature), and the
 * transparency log entries the result's links were logged at. A cache keeps a result only while
 * its basis holds, so evidence altered, removed or restored on disk, links deleted from the index
 * and log entries cut or rewritten are seen without an audit event.
 */
export interface EvidenceBasis {
  /** The image's links, one line each, sorted. */
  readonly rows: string;
  readonly blobs: ReadonlyMap<Digest, BlobVersion>;
  /** sha256 of the transparency log entries at the result's log indexes ("" for none). */
  readonly log: string;
}

/** The basis of a result about `image`, read now. */
export async function evidenceBasis(
  ctx: ChainContext,
  image: Digest,
  except: ReadonlySet<Stage> = new Set(),
  logIndexes: readonly number[] = [],
): Promise<EvidenceBasis> {
  const store = ctx.evidence();
  const rows: string[] = [];
  const digests = new Set<Digest>();
  for (const l of await store.find({ subject: image })) {
    const r = toRecorded(l);
    if (l.kind === AUDIT_EVENT_KIND || (r && except.has(r.stage))) {
      continue;
    }
    rows.push(`${l.evidence} ${l.kind} ${l.createdAt} ${l.annotations["stage"] ?? ""}`);
    digests.add(l.evidence);
    if (r) {
      digests.add(r.envelope);
      digests.add(r.evidence);
    }
  }
  const list = [...digests];
  const versions = await store.blobVersions(list);
  const entries = await Promise.all(
    [...new Set(logIndexes)]
      .sort((a, b) => a - b)
      .map(async (i) => {
        const [e] = await store.entries(TLOG, i, i + 1);
        return `${i}:${e ? sha256(e) : "none"}`;
      }),
  );
  return {
    rows: rows.sort().join("\n"),
    blobs: new Map(list.map((d, i) => [d, versions[i] ?? { version: "", settled: true }])),
    log: entries.length > 0 ? sha256(entries.join("\n")) : "",
  };
}

/**
 * Whether a result taken on `basis` still holds, and the basis to keep with it: undefined when
 * the index changed or a blob did. A blob whose version moved, or was not settled, is re-hashed
 * when the result was a good one (it relied on the blob's bytes, and they are content-addressed:
 * the right bytes are the same evidence); for any other result (made while a blob was missing or
 * unreadable, say) a moved blob means the result is re-made.
 */
export async function basisHolds(
  ctx: ChainContext,
  image: Digest,
  basis: EvidenceBasis,
  opts: {
    readonly except?: ReadonlySet<Stage>;
    readonly logIndexes?: readonly number[];
    readonly good: boolean;
  },
): Promise<EvidenceBasis | undefined> {
  const now = await evidenceBasis(ctx, image, opts.except, opts.logIndexes);
  if (now.rows !== basis.rows || now.log !== basis.log || now.blobs.size !== basis.blobs.size) {
    return undefined;
  }
  const moved: Digest[] = [];
  for (const [d, v] of now.blobs) {
    const was = basis.blobs.get(d);
    if (!was) {
      return undefined;
    }
    if (was.version !== v.version || !was.settled || !v.settled) {
      moved.push(d);
    }
  }
  if (moved.length === 0) {
    return basis;
  }
  if (!opts.good) {
    return undefined;
  }
  const store = ctx.evidence();
  for (const d of moved) {
    if ((basis.blobs.get(d)?.version ?? "") === "") {
      return undefined; // a good result never rested on a missing blob
    }
    try {
      await store.getBlob(d);
    } catch {
      return undefined;
    }
  }
  return now;
}

/**
 * Whether nothing `before` recorded changed by the time `after` was read, other than the links
 * of the attestations in `added` (made by the caller meanwhile): a result made between the two is
 * kept only then.
 */
export function unchangedBetween(
  before: EvidenceBasis,
  after: EvidenceBasis,
  added: ReadonlySet<Digest> = new Set(),
): boolean {
  const rows = after.rows
    .split("\n")
    .filter((line) => !added.has(line.split(" ")[0] as Digest))
    .join("\n");
  if (rows !== before.rows) {
    return false;
  }
  for (const [d, v] of before.blobs) {
    if (after.blobs.get(d)?.version !== v.version) {
      return false;
    }
  }
  return true;
}
