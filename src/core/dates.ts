import { ToolError } from "./errors.js";

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses an ISO 8601 date (`2026-09-01`, midnight UTC) or date-time with a zone
 * (`2026-09-01T12:00:00Z`, `…+02:00`) strictly: no other forms (`1`, `Sep 1`), no dates that do
 * not exist (`2026-02-30`, hour 24). Returns epoch milliseconds, or undefined when not valid.
 */
export function parseIsoDate(s: string): number | undefined {
  const m = DATE.exec(s) ?? DATE_TIME.exec(s);
  if (!m) {
    return undefined;
  }
  const [y, mo, d, h = "0", mi = "0", sec = "0"] = m.slice(1).map((x) => x ?? "0");
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) {
    return undefined;
  }
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) {
    return undefined;
  }
  const zone = m[8];
  if (zone && zone.toUpperCase() !== "Z") {
    const [zh, zm] = zone.slice(1).split(":").map(Number) as [number, number];
    if (zh > 23 || zm > 59) {
      return undefined;
    }
  }
  const t = Date.parse(m[4] === undefined ? `${s}T00:00:00Z` : s.replace(" ", "T"));
  return Number.isNaN(t) ? undefined : t;
}

/**
 * parseIsoDate, or a usage error naming the option.
 * @throws ToolError CORE_INVALID_ARGUMENT
 */
export function requireIsoDate(s: string, what: string): number {
  const t = parseIsoDate(s);
  if (t === undefined) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `${what} "${s}" is not a date`, {
      hint: "use an ISO 8601 date that exists, e.g. 2026-09-01 or 2026-09-01T12:00:00Z",
    });
  }
  return t;
}
