import type { Issue } from "../core/issues.js";
import type { FileResolver, Sniffer } from "../source/index.js";
import type { Distro, Package } from "./model.js";

/** What every cataloger gets besides the filesystem. */
export interface CatalogContext {
  readonly distro?: Distro;
}

export interface CatalogResult {
  readonly packages: readonly Package[];
  /** Unreadable files, corrupt entries: collected, never thrown. */
  readonly issues: readonly Issue[];
}

/**
 * Finds packages of one kind. Catalogers depend on a {@link FileResolver}, never on images,
 * so the same cataloger reads an image, a directory or an unpacked root.
 */
export interface Cataloger {
  /** Stable id that appears in SBOMs: `<ecosystem>-<what>-cataloger`. */
  readonly id: string;
  /** Bumped whenever the output for the same input changes (part of cache keys). */
  readonly version: number;
  /** Paths whose content the cataloger reads; the image source keeps exactly those. */
  interest(path: string): boolean;
  /**
   * The packages it reports are declared (a lockfile) rather than installed: one an installed
   * package cataloger also found is reported once, as installed.
   */
  readonly declares?: boolean;
  /** Optional: byte patterns to find inside files as they stream (embedded metadata). */
  readonly sniffers?: readonly Sniffer[];
  /**
   * Optional: what of a file it reads (a path `interest` selects) it needs, kept in memory in the
   * file's place while the layers stream. `catalog` must give the same result from either.
   */
  reduce?(path: string, bytes: Uint8Array): Uint8Array;
  catalog(resolver: FileResolver, ctx: CatalogContext): Promise<CatalogResult>;
}
