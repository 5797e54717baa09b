import type { Descriptor } from "./types.js";

/**
 * The read side of a place images are kept (OCI layout, archive, registry, local store).
 * Every implementation verifies what it returns against the descriptor's digest and size:
 * manifests before returning, blobs while they stream.
 */
export interface ImageSource {
  /** Names the source in messages, e.g. `oci layout ./img (tag 1.0)`. */
  readonly description: string;
  /** The descriptor and raw bytes of the referenced manifest or index. */
  resolve(): Promise<{ readonly descriptor: Descriptor; readonly bytes: Uint8Array }>;
  /** A manifest or index by descriptor (children of an index), verified. */
  fetchManifest(desc: Descriptor): Promise<Uint8Array>;
  /** A blob's bytes as a stream, verified while it streams (throws at the end on mismatch). */
  openBlob(desc: Descriptor): AsyncIterable<Uint8Array>;
  /** Releases resources (open archives, temporary directories). */
  close(): Promise<void>;
}

/** The write side. Writes become visible only at {@link ImageDestination.commit}. */
export interface ImageDestination {
  readonly description: string;
  hasBlob(desc: Descriptor): Promise<boolean>;
  /** Stores a blob, verifying its digest and size while it streams. */
  putBlob(desc: Descriptor, data: AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * Optional: makes a blob available without copying it, from another repository of the same
   * registry (cross-repository mount). Returns false when the mount did not happen.
   */
  mountBlob?(desc: Descriptor, fromRepository: string): Promise<boolean>;
  /** Stores a manifest or index; `root` marks the one the destination reference names. */
  putManifest(desc: Descriptor, bytes: Uint8Array, root: boolean): Promise<void>;
  /** Makes the written image visible (writes index.json, finishes the archive). */
  commit(): Promise<void>;
  /** Discards anything not committed and releases resources. */
  close(): Promise<void>;
}
