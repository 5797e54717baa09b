import { SbomError } from "../../core/errors.js";
import { assertJsonDepth } from "../../core/json.js";
import { readCycloneDx } from "./cyclonedx.js";
import { isObj, type ReadResult } from "./shared.js";
import { readSpdx2 } from "./spdx2.js";
import { readSpdx3 } from "./spdx3.js";

export type { ImportedFormat, ReadResult } from "./shared.js";

/**
 * Reads an SBOM made by any tool (CycloneDX 1.4-1.6 JSON, SPDX 2.2/2.3 JSON, SPDX 3.0.1
 * JSON-LD) into the model, so that later steps (scan, VEX, reports) work on it. What cannot be
 * mapped becomes an issue.
 * @throws SbomError SBOM_FORMAT_UNKNOWN when the document is none of those, SBOM_INVALID
 */
export function readSbom(bytes: Uint8Array, path: string): ReadResult {
  let doc: unknown;
  const text = new TextDecoder().decode(bytes);
  assertJsonDepth(text, path);
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SbomError("SBOM_FORMAT_UNKNOWN", `${path} is not JSON`, {
      cause: e,
      hint: "SBOMs are read in CycloneDX JSON, SPDX 2.x JSON or SPDX 3 JSON-LD; convert tag-value or XML first",
    });
  }
  if (!isObj(doc)) {
    throw new SbomError("SBOM_FORMAT_UNKNOWN", `${path} is not a JSON object`);
  }
  if (doc["bomFormat"] === "CycloneDX") {
    return readCycloneDx(doc, path);
  }
  if (typeof doc["spdxVersion"] === "string") {
    return readSpdx2(doc, path);
  }
  if (Array.isArray(doc["@graph"])) {
    return readSpdx3(doc, path);
  }
  throw new SbomError("SBOM_FORMAT_UNKNOWN", `${path} is not CycloneDX, SPDX 2 or SPDX 3 JSON`, {
    hint: "an in-toto attestation must be unwrapped first (its predicate is the SBOM)",
  });
}
