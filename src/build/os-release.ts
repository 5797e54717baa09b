import type { ReleaseFields } from "./debian.js";

/**
 * /etc/os-release for a built image, as distroless and apko write it when no base-files is
 * installed: generated from the archive's signed Release fields only (Origin or Label, Version,
 * Codename), so the same Release gives the same bytes. For Debian's archive it is what Debian's
 * own base-files ships (ID=debian, VERSION_ID=12, VERSION_CODENAME=bookworm, PRETTY_NAME
 * "Debian GNU/Linux 12 (bookworm)", the debian.org URLs).
 */

export const OS_RELEASE_PATH = "/etc/os-release";
/** The package that ships a Debian system's os-release (/usr/lib/os-release, /etc/os-release → it). */
export const BASE_FILES = "base-files";

/** Where the image's /etc/os-release comes from, as the provenance records it. */
export type OsReleaseSource =
  | {
      readonly from: "generated";
      readonly path: typeof OS_RELEASE_PATH;
      /** The signed Release fields it was generated from. */
      readonly release: ReleaseFields;
      readonly sha256: string;
    }
  | { readonly from: "package"; readonly path: string; readonly package: string }
  | { readonly from: "base image"; readonly path: string; readonly base: string }
  | { readonly from: "none"; readonly reason: string };

const quote = (v: string): string => `"${v.replace(/(["$`\\])/g, "\\$1")}"`;

/**
 * The os-release(5) text for a Release, or a reason when the Release does not say which
 * distribution it is (no Origin or Label).
 */
export function osReleaseFromRelease(r: ReleaseFields): { text: string } | { reason: string } {
  const origin = r.origin || r.label;
  if (!origin) {
    return { reason: "the archive's signed Release names no Origin or Label" };
  }
  const debian = origin === "Debian";
  const id = origin.toLowerCase().replace(/[^a-z0-9._-]+/g, "");
  if (!id) {
    return { reason: `the Release's Origin "${origin}" gives no os-release ID` };
  }
  const name = debian ? "Debian GNU/Linux" : origin;
  // Debian's VERSION_ID is the major release ("12"); the point release is in the Release only
  const versionId = debian ? r.version.split(".")[0] : r.version;
  const codename = r.codename;
  const version = versionId ? `${versionId}${codename ? ` (${codename})` : ""}` : "";
  const lines: [string, string | undefined][] = [
    ["PRETTY_NAME", `${name}${version ? ` ${version}` : codename ? ` ${codename}` : ""}`],
    ["NAME", name],
    ["VERSION_ID", versionId || undefined],
    ["VERSION", version || undefined],
    ["VERSION_CODENAME", codename || undefined],
    ["ID", id],
    ["HOME_URL", debian ? "https://www.debian.org/" : undefined],
    ["SUPPORT_URL", debian ? "https://www.debian.org/support" : undefined],
    ["BUG_REPORT_URL", debian ? "https://bugs.debian.org/" : undefined],
  ];
  return {
    text: lines
      .filter((l): l is [string, string] => l[1] !== undefined)
      // quoted as Debian's own file quotes them: all but ID and VERSION_CODENAME
      .map(([k, v]) => `${k}=${k === "ID" || k === "VERSION_CODENAME" ? v : quote(v)}\n`)
      .join(""),
  };
}
