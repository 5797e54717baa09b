import type { Digest } from "../core/digest.js";
import type { Issue } from "../core/issues.js";
import type { ExecutionClosure } from "./elf.js";

/** Where a package's evidence was found. */
export interface Location {
  readonly path: string;
  /** Diff id of the layer the file came from (images only). */
  readonly layer?: Digest;
}

export interface Checksum {
  readonly algorithm: "MD5" | "SHA1" | "SHA256" | "SHA512";
  readonly value: string;
}

/** One software package found in a filesystem. Plain data; sorted lists. */
export interface Package {
  /** Stable id inside one SBOM (derived from purl and first location). */
  readonly id: string;
  readonly name: string;
  readonly version: string;
  /** purl type: deb, apk, rpm, npm, pypi, golang, maven, cargo, gem, composer, nuget. */
  readonly type: string;
  readonly purl: string;
  readonly cpes: readonly string[];
  /** Normalised SPDX license expression, when one could be derived. */
  readonly license?: string;
  /** License strings as the package declares them (before normalisation). */
  readonly licenseDeclared: readonly string[];
  readonly supplier?: string;
  readonly author?: string;
  /** Id of the cataloger that found it. */
  readonly foundBy: string;
  /** The files that evidence the package (its database entry, its metadata file). */
  readonly locations: readonly Location[];
  readonly checksums: readonly Checksum[];
  /** For OS packages: the source package (vulnerability data is keyed by it). */
  readonly source?: { readonly name: string; readonly version: string };
  readonly arch?: string;
  /** Files the package owns (OS package databases), sorted. */
  readonly files: readonly { readonly path: string; readonly md5?: string }[];
  /**
   * For OS packages: how many of the regular files the package database lists (dpkg entries with
   * an md5sum, apk R: entries) exist in the final filesystem, and the first missing ones.
   * Absent when the database does not say which entries are regular files (rpm, status.d).
   */
  readonly presence?: {
    readonly checked: number;
    readonly present: number;
    readonly missing: readonly string[];
    /**
     * When none are present: regular files elsewhere with the basename of a missing one (the
     * package may have been moved rather than removed). Documentation paths are not compared.
     */
    readonly elsewhere?: readonly string[];
  };
  /**
   * For code compiled into a binary: the function names its symbol table holds (Go: the pclntab's
   * function name table, which stripping keeps, inlined functions included). One array shared
   * by every package of the same binary.
   */
  readonly symbols?: { readonly table: string; readonly names: readonly string[] };
  /** Names this package depends on, as the ecosystem records them (resolved to ids later). */
  readonly dependsOn: readonly string[];
  /** Ecosystem facts worth keeping (Go module sums, build settings), sorted by key when rendered. */
  readonly properties?: Readonly<Record<string, string>>;
}

export type RelationshipType = "contains" | "depends-on";

export interface Relationship {
  readonly from: string;
  readonly to: string;
  readonly type: RelationshipType;
}

export interface Distro {
  readonly id: string;
  readonly versionId?: string;
  readonly versionCodename?: string;
  readonly prettyName?: string;
  readonly idLike?: readonly string[];
}

export type SbomSubject =
  | {
      readonly kind: "image";
      readonly name: string;
      readonly manifestDigest: Digest;
      readonly configDigest: Digest;
      readonly layers: readonly Digest[];
      readonly architecture?: string;
      readonly os?: string;
    }
  | { readonly kind: "directory"; readonly path: string }
  /** An SBOM document made elsewhere and read in. */
  | {
      readonly kind: "document";
      readonly path: string;
      readonly format: string;
      readonly name: string;
      readonly version?: string;
      readonly manifestDigest?: Digest;
    };

/** The format-independent SBOM every writer renders and every reader produces. */
export interface Sbom {
  readonly subject: SbomSubject;
  readonly distro?: Distro;
  readonly packages: readonly Package[];
  readonly relationships: readonly Relationship[];
  readonly issues: readonly Issue[];
  /** Creation time (ISO 8601 UTC, seconds), from SOURCE_DATE_EPOCH or the caller. */
  readonly created: string;
  readonly tool: { readonly name: string; readonly version: string };
  /** For images: how the image runs, as context for VEX (never a verdict on its own). */
  readonly runtime?: RuntimeContext;
  /** When the SBOM was made by the build that produced the image: that build. */
  readonly build?: BuildInfo;
}

/** The build an SBOM comes from (the SPDX 3 Build profile; the same build as the provenance). */
export interface BuildInfo {
  /** The build type URI (as in the SLSA provenance). */
  readonly buildType: string;
  /** The build's invocation id (as in the SLSA provenance). */
  readonly buildId: string;
  readonly startTime: string;
  readonly endTime: string;
  /** The build description the build ran from. */
  readonly configSource: { readonly uri: string; readonly sha256: string };
  readonly parameters: Readonly<Record<string, string>>;
}

/** What an image's config and filesystem say about how it runs. */
export interface RuntimeContext {
  /** The config's User; empty when unset (the container runs as root). */
  readonly user: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly exposedPorts: readonly string[];
  /** Shells present in the final filesystem. */
  readonly shells: readonly string[];
  /** Package managers present in the final filesystem. */
  readonly packageManagers: readonly string[];
  /** What the entrypoint's process loads (ELF interpreter and DT_NEEDED closure). */
  readonly closure?: ExecutionClosure;
}
