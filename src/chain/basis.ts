import type { Digest } from "../core/digest.js";
import type { BlobVersion } from "../store/index.js";
import type { ChainContext } from "./context.js";
import { ATTESTATION_KIND, type Stage, toRecorded } from "./links.js";

/**
 * What a verified result about one image rests on in the store: the index's attestation links
 * for the image (the stages a caller does not exclude) and the version of every blob they name
 * (bundle, envelope, evidence). A cache keeps a result only while its basis holds, so evidence
 * altered, removed or restored on disk, or links deleted from the index, are seen without an
 * audit event.
 */
export interface EvidenceBasis {
  /** The image's attestation links, one line each, sorted. */
  readonly rows: string;
  readonly blobs: ReadonlyMap<Digest, BlobVersion>;
}

/** The basis of a result about `image`, read now. */
export async function evidenceBasis(
  ctx: ChainContext,
  image: Digest,
  except: ReadonlySet<Stage> = new Set(),
): Promise<EvidenceBasis> {
  const store = ctx.evidence();
  const rows: string[] = [];
  const digests = new Set<Digest>();
  for (const l of await store.find({ subject: image, kind: ATTESTATION_KIND })) {
    const r = toRecorded(l);
    if (r && except.has(r.stage)) {
      continue;
    }
    rows.push(`${l.evidence} ${l.createdAt} ${l.annotations["stage"] ?? ""}`);
    digests.add(l.evidence);
    if (r) {
      digests.add(r.envelope);
      digests.add(r.evidence);
    }
  }
  const list = [...digests];
  const versions = await store.blobVersions(list);
  return {
    rows: rows.sort().join("\n"),
    blobs: new Map(list.map((d, i) => [d, versions[i] ?? { version: "", settled: true }])),
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
  opts: { readonly except?: ReadonlySet<Stage>; readonly good: boolean },
): Promise<EvidenceBasis | undefined> {
  const now = await evidenceBasis(ctx, image, opts.except);
  if (now.rows !== basis.rows || now.blobs.size !== basis.blobs.size) {
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
