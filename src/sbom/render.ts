import { assertNever } from "../core/errors.js";
import { CYCLONEDX_1_5, CYCLONEDX_1_6, renderCycloneDx } from "./formats/cyclonedx.js";
import { renderSpdx3 } from "./formats/spdx3.js";
import { renderSpdx23 } from "./formats/spdx23.js";
import type { Sbom } from "./model.js";

export const SBOM_FORMATS = ["spdx-3", "spdx-2.3", "cyclonedx-1.6", "cyclonedx-1.5"] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];

/** Renders an SBOM in one of the supported formats. */
export function renderSbom(sbom: Sbom, format: SbomFormat): string {
  switch (format) {
    case "spdx-3":
      return renderSpdx3(sbom);
    case "spdx-2.3":
      return renderSpdx23(sbom);
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
    case "cyclonedx-1.6":
      return "application/vnd.cyclonedx+json;version=1.6";
    case "cyclonedx-1.5":
      return "application/vnd.cyclonedx+json;version=1.5";
    default:
      return assertNever(format, "SBOM format");
  }
}
