import { ToolError } from "../core/errors.js";

/**
 * The canonical JSON of securesystemslib (OLPC canonical JSON), over which in-toto metadata is
 * signed: no whitespace, object keys sorted, strings with only `"` and `\` escaped (every other
 * character as is, in UTF-8), integers only. Not RFC 8785.
 * @throws ToolError INTOTO_METADATA_INVALID for a float or a value JSON cannot hold
 */
export function canonicalJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(encode(value, "$"));
}

function encode(v: unknown, at: string): string {
  if (v === null) {
    return "null";
  }
  if (v === true) {
    return "true";
  }
  if (v === false) {
    return "false";
  }
  if (typeof v === "string") {
    return `"${v.replace(/(["\\])/g, "\\$1")}"`;
  }
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) {
      throw new ToolError(
        "INTOTO_METADATA_INVALID",
        `${at}: ${v} cannot be encoded in canonical JSON (integers only)`,
      );
    }
    return String(v);
  }
  if (Array.isArray(v)) {
    return `[${v.map((x, i) => encode(x, `${at}[${i}]`)).join(",")}]`;
  }
  if (typeof v === "object") {
    const keys = Object.keys(v as object).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys
      .map((k) => `${encode(k, at)}:${encode((v as Record<string, unknown>)[k], `${at}.${k}`)}`)
      .join(",")}}`;
  }
  throw new ToolError("INTOTO_METADATA_INVALID", `${at}: a ${typeof v} cannot be encoded in JSON`);
}
