/** The parts of an OSV record (schema 1.x) this tool reads; the raw record is kept as well. */
export interface OsvRecord {
  readonly id: string;
  readonly modified?: string;
  readonly published?: string;
  readonly withdrawn?: string;
  readonly aliases?: readonly string[];
  readonly upstream?: readonly string[];
  readonly related?: readonly string[];
  readonly summary?: string;
  readonly details?: string;
  readonly severity?: readonly { readonly type: string; readonly score: string }[];
  readonly affected?: readonly OsvAffectedEntry[];
  readonly references?: readonly { readonly type: string; readonly url: string }[];
  readonly database_specific?: Readonly<Record<string, unknown>>;
}

export interface OsvAffectedEntry {
  readonly package?: { readonly ecosystem: string; readonly name: string; readonly purl?: string };
  readonly severity?: readonly { readonly type: string; readonly score: string }[];
  readonly ranges?: readonly {
    readonly type: string;
    readonly events: readonly Record<string, string>[];
  }[];
  readonly versions?: readonly string[];
  readonly ecosystem_specific?: Readonly<Record<string, unknown>>;
  readonly database_specific?: Readonly<Record<string, unknown>>;
}

/** Debian release code names and the OSV ecosystem suffix they use ("Debian:12"). */
export const DEBIAN_RELEASES: Readonly<Record<string, string>> = {
  woody: "3.0",
  sarge: "3.1",
  etch: "4",
  lenny: "5",
  squeeze: "6",
  wheezy: "7",
  jessie: "8",
  stretch: "9",
  buster: "10",
  bullseye: "11",
  bookworm: "12",
  trixie: "13",
  forky: "14",
};

/** Normalises a package name the way the ecosystem's index does (PEP 503 for PyPI). */
export function normalizePackageName(ecosystemBase: string, name: string): string {
  switch (ecosystemBase) {
    case "PyPI":
      return name.toLowerCase().replace(/[-_.]+/g, "-");
    case "npm":
    case "crates.io":
    case "NuGet":
      return ecosystemBase === "NuGet" ? name.toLowerCase() : name;
    default:
      return name;
  }
}
