import { sha256 } from "../core/digest.js";
import { MediaType } from "./media-types.js";
import type { Descriptor } from "./types.js";

/** The OCI image spec's empty JSON blob, `{}`: the config of artifacts that have none. */
export const EMPTY_JSON: Uint8Array = new TextEncoder().encode("{}");

/** The descriptor of {@link EMPTY_JSON} (image spec, "Guidance for an Empty Descriptor"). */
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: MediaType.OciEmpty,
  digest: sha256(EMPTY_JSON),
  size: EMPTY_JSON.length,
};

/** Bytes in memory as the one-chunk stream that blob writers and the tar reader take. */
export async function* streamOf(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}
