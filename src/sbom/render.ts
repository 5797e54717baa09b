import { assertNever } from "../core/errors.js";
import {
  CYCLONEDX_1_5,
  CYCLONEDX_1_6,
  CYCLONEDX_1_7,
  renderCycloneDx,
} from "./formats/cyclonedx.js";
import { renderSpdx3 } from "./formats/spdx3.js";
import { renderSpdx23 } from "./formats/spdx23.js";
import type { Sbom } from "./model.js";

export const SBOM_FORMATS = [
  "spdx-3",
  "spdx-2.3",
  "cyclonedx-1.7",
  "cyclonedx-1.6",
  "cyclonedx-1.5",
] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];

/**
 * The names Syft (`cyclonedx-json@1.7`, `spdx-json@2.3`) and Trivy (`cyclonedx`, `spdx-json`)
 * give the same documents. Without a version, CycloneDX is 1.6 (docs/adr/0015: the readers our
 * users feed, Trivy before 0.74 among them, refuse 1.7).
 */
export const SBOM_FORMAT_ALIASES: Readonly<Record<string, SbomFormat>> = {
  cyclonedx: "cyclonedx-1.6",
  "cyclonedx-json": "cyclonedx-1.6",
  "cyclonedx-json@1.5": "cyclonedx-1.5",
  "cyclonedx-json@1.6": "cyclonedx-1.6",
  "cyclonedx-json@1.7": "cyclonedx-1.7",
  "spdx-json": "spdx-2.3",
  "spdx-json@2.3": "spdx-2.3",
};

/** Renders an SBOM in one of the supported formats. */
export function renderSbom(sbom: Sbom, format: SbomFormat): string {
  switch (format) {
    case "spdx-3":
      return renderSpdx3(sbom);
    case "spdx-2.3":
      return renderSpdx23(sbom);
    case "cyclonedx-1.7":
      return renderCycloneDx(sbom, CYCLONEDX_1_7);
    case "cyclonedx-1.6":
      return renderCycloneDx(sbom, CYCLONEDX_1_6);
    case "cyclonedx-1.5":
      return renderCycloneDx(sbom, CYCLONEDX_1_5);
    default:
      return assertNever(format, "SBOM format");
  }
}

/** The media type an SBOM document is stored and served under. */
export function sbomMediaType(format: SbomFormat): string {
  switch (format) {
    case "spdx-3":
      return "application/spdx+json;version=3.0.1";
    case "spdx-2.3":
      return "application/spdx+json;version=2.3";
    case "cyclonedx-1.7":
      return "application/vnd.cyclonedx+json;version=1.7";
    case "cyclonedx-1.6":
      return "application/vnd.cyclonedx+json;version=1.6";
    case "cyclonedx-1.5":
      return "application/vnd.cyclonedx+json;version=1.5";
    default:
      return assertNever(format, "SBOM format");
  }
}
