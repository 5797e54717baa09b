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
  catalog(resolver: FileResolver, ctx: CatalogContext): Promise<CatalogResult>;
}
