/** PAX extended headers (POSIX.1-2001): records parsed with bounds, and applied to header fields. */
import { OciError, ToolError } from "../core/errors.js";

const decoder = new TextDecoder("utf-8");

/** Records one PAX header may hold: real archives carry a handful (path, times, xattrs). */
export const MAX_PAX_RECORDS = 4096;
/** Global PAX headers one archive may hold (git archive writes one). */
export const MAX_PAX_GLOBAL_HEADERS = 64;

/**
 * Parses PAX records `"%d %s=%s\n"`.
 * @throws ToolError CORE_LIMIT_EXCEEDED past `maxRecords` records
 */
export function parsePax(
  data: Uint8Array,
  what: string,
  maxRecords = MAX_PAX_RECORDS,
): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  let records = 0;
  while (off < data.length) {
    if (++records > maxRecords) {
      throw new ToolError(
        "CORE_LIMIT_EXCEEDED",
        `${what}: PAX header with more than ${maxRecords} records`,
        { hint: "the layer is hostile or corrupt; real archives carry a few records per header" },
      );
    }
    let sp = off;
    while (sp < data.length && data[sp] !== 0x20) {
      sp++;
    }
    const len = Number.parseInt(decoder.decode(data.subarray(off, sp)), 10);
    if (!Number.isFinite(len) || len <= 0 || off + len > data.length) {
      if (data.subarray(off).every((b) => b === 0)) {
        break;
      }
      throw new OciError("OCI_TAR_INVALID", `${what}: malformed PAX record`);
    }
    const rec = decoder.decode(data.subarray(sp + 1, off + len - 1));
    const eq = rec.indexOf("=");
    if (eq > 0) {
      out[rec.slice(0, eq)] = rec.slice(eq + 1);
    }
    off += len;
  }
  return out;
}

/** The header fields PAX records may override. */
export interface PaxFields {
  name: string;
  linkname: string;
  size: number;
  uid: number;
  gid: number;
  mtime: number;
  uname: string;
  gname: string;
}

/** Applies PAX records to header fields; returns the records that are not header fields. */
export function applyPax(
  f: Partial<PaxFields>,
  pax: Readonly<Record<string, string>>,
  what: string,
): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(pax)) {
    switch (k) {
      case "path":
        f.name = v;
        break;
      case "linkpath":
        f.linkname = v;
        break;
      case "size":
        f.size = parsePaxInt(v, "size", what);
        break;
      case "uid":
        f.uid = parsePaxInt(v, "uid", what);
        break;
      case "gid":
        f.gid = parsePaxInt(v, "gid", what);
        break;
      case "mtime":
        f.mtime = parsePaxTime(v, what);
        break;
      case "uname":
        f.uname = v;
        break;
      case "gname":
        f.gname = v;
        break;
      default:
        extra[k] = v;
    }
  }
  return extra;
}

/** The latest time a Date can hold, in seconds (ECMAScript: 8.64e15 ms either side of 1970). */
const MAX_TIME_SECONDS = 8.64e12;

/**
 * A PAX time (POSIX: decimal seconds, optionally signed, with an optional fraction), floored to
 * whole seconds; one that is not such a number, or lies outside what a Date can hold, is invalid.
 */
export function parsePaxTime(v: string, what: string): number {
  const n = /^-?\d{1,20}(\.\d{0,30})?$/.test(v) ? Math.floor(Number(v)) : Number.NaN;
  if (!(Math.abs(n) <= MAX_TIME_SECONDS)) {
    throw new OciError("OCI_TAR_INVALID", `${what}: invalid PAX mtime "${v.slice(0, 40)}"`);
  }
  return n;
}

export function parsePaxInt(v: string, field: string, what: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new OciError("OCI_TAR_INVALID", `${what}: invalid PAX ${field} "${v.slice(0, 40)}"`);
  }
  return n;
}
