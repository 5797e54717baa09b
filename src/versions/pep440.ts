import { VersionError } from "../core/errors.js";
import type { Comparator } from "./comparator.js";

/** A parsed PEP 440 version (as packaging.version.Version). */
export interface Pep440Version {
  readonly epoch: bigint;
  /** Numbers as bigint: packaging's are Python ints, of any size. */
  readonly release: readonly bigint[];
  readonly pre?: readonly [string, bigint];
  readonly post?: bigint;
  readonly dev?: bigint;
  readonly local?: readonly (string | bigint)[];
}

// Python's \s (str.isspace), not JavaScript's (which adds U+FEFF and lacks U+001C-U+001F, U+0085)
const WS =
  "[\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PATTERN = new RegExp(
  `^${WS}*v?` +
    "(?:(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\\.[0-9]+)*)" +
    "(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?" +
    "(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?" +
    "(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?)" +
    "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?" +
    `${WS}*$`,
  "i",
);

/**
 * Parses a PEP 440 version.
 * @throws VersionError VERSION_INVALID
 */
export function parsePep440(s: string): Pep440Version {
  const m = PATTERN.exec(s);
  const g = m?.groups;
  if (!g) {
    throw new VersionError("VERSION_INVALID", `invalid PEP 440 version "${s}"`);
  }
  const preL = g["pre_l"]?.toLowerCase();
  const pre: [string, bigint] | undefined = preL
    ? [
        preL === "alpha"
          ? "a"
          : preL === "beta"
            ? "b"
            : preL === "c" || preL === "pre" || preL === "preview"
              ? "rc"
              : preL,
        BigInt(g["pre_n"] ?? 0),
      ]
    : undefined;
  const post = g["post"] !== undefined ? BigInt(g["post_n1"] ?? g["post_n2"] ?? 0) : undefined;
  const dev = g["dev"] !== undefined ? BigInt(g["dev_n"] ?? 0) : undefined;
  const local = g["local"]
    ? g["local"]
        .toLowerCase()
        .split(/[-_.]/)
        .map((p) => (/^\d+$/.test(p) ? BigInt(p) : p))
    : undefined;
  return {
    epoch: BigInt(g["epoch"] ?? 0),
    release: (g["release"] as string).split(".").map(BigInt),
    ...(pre ? { pre } : {}),
    ...(post !== undefined ? { post } : {}),
    ...(dev !== undefined ? { dev } : {}),
    ...(local ? { local } : {}),
  };
}

const NEG = Number.NEGATIVE_INFINITY;
const POS = Number.POSITIVE_INFINITY;

function cmp(a: bigint | number | string, b: bigint | number | string): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** packaging's _cmpkey order. */
export function comparePep440(x: Pep440Version, y: Pep440Version): -1 | 0 | 1 {
  if (x.epoch !== y.epoch) {
    return cmp(x.epoch, y.epoch);
  }
  const trim = (r: readonly bigint[]): bigint[] => {
    const out = [...r];
    while (out.length > 1 && out[out.length - 1] === 0n) {
      out.pop();
    }
    return out;
  };
  const rx = trim(x.release);
  const ry = trim(y.release);
  for (let i = 0; i < Math.max(rx.length, ry.length); i++) {
    const c = cmp(rx[i] ?? NEG, ry[i] ?? NEG);
    if (c) {
      return c;
    }
  }
  const preKey = (v: Pep440Version): [number, bigint | string, bigint] => {
    if (!v.pre && v.post === undefined && v.dev !== undefined) {
      return [-1, 0n, 0n];
    }
    if (!v.pre) {
      return [1, 0n, 0n];
    }
    return [0, v.pre[0], v.pre[1]];
  };
  const px = preKey(x);
  const py = preKey(y);
  const pc = cmp(px[0], py[0]) || cmp(px[1], py[1]) || cmp(px[2], py[2]);
  if (pc) {
    return pc;
  }
  const pc2 = cmp(x.post ?? NEG, y.post ?? NEG) || cmp(x.dev ?? POS, y.dev ?? POS);
  if (pc2) {
    return pc2;
  }
  if (!x.local || !y.local) {
    return x.local ? 1 : y.local ? -1 : 0;
  }
  for (let i = 0; i < Math.max(x.local.length, y.local.length); i++) {
    const a = x.local[i];
    const b = y.local[i];
    if (a === undefined || b === undefined) {
      return a === undefined ? -1 : 1;
    }
    if (typeof a !== typeof b) {
      return typeof a === "bigint" ? 1 : -1; // numeric segments sort after alphanumeric ones
    }
    const c = cmp(a, b);
    if (c) {
      return c;
    }
  }
  return 0;
}

const isPre = (v: Pep440Version): boolean => v.pre !== undefined || v.dev !== undefined;
const publicOf = (v: Pep440Version): Pep440Version => {
  const { local: _local, ...rest } = v;
  return rest;
};
const baseOf = (v: Pep440Version): Pep440Version => ({ epoch: v.epoch, release: v.release });

/** str(Version) normalised form, used for prefix (wildcard) matching. */
export function formatPep440(v: Pep440Version): string {
  let s = `${v.epoch ? `${v.epoch}!` : ""}${v.release.join(".")}`;
  if (v.pre) {
    s += `${v.pre[0]}${v.pre[1]}`;
  }
  if (v.post !== undefined) {
    s += `.post${v.post}`;
  }
  if (v.dev !== undefined) {
    s += `.dev${v.dev}`;
  }
  if (v.local) {
    s += `+${v.local.join(".")}`;
  }
  return s;
}

/** packaging.specifiers._version_split */
function versionSplit(v: string): string[] {
  const bang = v.lastIndexOf("!");
  const out = [bang >= 0 ? v.slice(0, bang) || "0" : "0"];
  for (const item of (bang >= 0 ? v.slice(bang + 1) : v).split(".")) {
    const m = /^([0-9]+)((?:a|b|c|rc)[0-9]+)$/.exec(item);
    if (m?.[1] && m[2]) {
      out.push(m[1], m[2]);
    } else {
      out.push(item);
    }
  }
  return out;
}

function padVersion(left: string[], right: string[]): [string[], string[]] {
  const digits = (xs: string[]): string[] => {
    const out: string[] = [];
    for (const x of xs) {
      if (!/^\d+$/.test(x)) {
        break;
      }
      out.push(x);
    }
    return out;
  };
  const l0 = digits(left);
  const r0 = digits(right);
  const l = [
    ...l0,
    ...Array(Math.max(0, r0.length - l0.length)).fill("0"),
    ...left.slice(l0.length),
  ];
  const r = [
    ...r0,
    ...Array(Math.max(0, l0.length - r0.length)).fill("0"),
    ...right.slice(r0.length),
  ];
  return [l, r];
}

function compareEqual(prospective: Pep440Version, spec: string): boolean {
  if (spec.endsWith(".*")) {
    const np = formatPep440(publicOf(prospective));
    const ns = formatPep440(parsePep440(spec.slice(0, -2)));
    const splitSpec = versionSplit(ns);
    const [padded] = padVersion(versionSplit(np), splitSpec);
    return padded.slice(0, splitSpec.length).join("\u0000") === splitSpec.join("\u0000");
  }
  const sv = parsePep440(spec);
  return comparePep440(sv.local ? prospective : publicOf(prospective), sv) === 0;
}

/** One specifier's prerelease default (packaging.specifiers.Specifier.prereleases). */
function specAllowsPre(op: string, version: string): boolean {
  if (op === "==" || op === ">=" || op === "<=" || op === "~=" || op === "===") {
    const v = op === "==" && version.endsWith(".*") ? version.slice(0, -2) : version;
    try {
      return isPre(parsePep440(v));
    } catch {
      return false;
    }
  }
  return false;
}

function specMatches(item: Pep440Version, raw: string, op: string, version: string): boolean {
  switch (op) {
    case "===":
      return raw.trim().toLowerCase() === version.toLowerCase();
    case "==":
      return compareEqual(item, version);
    case "!=":
      return !compareEqual(item, version);
    case "~=": {
      const parts = versionSplit(formatPep440(parsePep440(version)));
      // the release components before any suffix, less the last one, as a prefix match
      const head: string[] = [];
      for (const p of parts.slice(1)) {
        if (/^(dev|a|b|rc|post)/.test(p)) {
          break;
        }
        head.push(p);
      }
      const prefix = `${parts[0] !== "0" ? `${parts[0]}!` : ""}${head.slice(0, -1).join(".")}.*`;
      return comparePep440(publicOf(item), parsePep440(version)) >= 0 && compareEqual(item, prefix);
    }
    case "<=":
      return comparePep440(publicOf(item), parsePep440(version)) <= 0;
    case ">=":
      return comparePep440(publicOf(item), parsePep440(version)) >= 0;
    case "<": {
      const spec = parsePep440(version);
      if (comparePep440(item, spec) >= 0) {
        return false;
      }
      return !(!isPre(spec) && isPre(item) && comparePep440(baseOf(item), baseOf(spec)) === 0);
    }
    case ">": {
      const spec = parsePep440(version);
      if (comparePep440(item, spec) <= 0) {
        return false;
      }
      if (
        spec.post === undefined &&
        item.post !== undefined &&
        comparePep440(baseOf(item), baseOf(spec)) === 0
      ) {
        return false;
      }
      // a local version of the very version named is not "greater" than it
      return !(item.local && comparePep440(publicOf(item), spec) === 0);
    }
    default:
      throw new VersionError("VERSION_INVALID_RANGE", `unknown PEP 440 operator "${op}"`);
  }
}

/**
 * packaging.specifiers.SpecifierSet.contains: comma-separated specifiers, all must match.
 * Prereleases match only when asked for, or when a specifier names a prerelease.
 * @throws VersionError VERSION_INVALID, VERSION_INVALID_RANGE
 */
export function pep440Satisfies(
  version: string,
  specifiers: string,
  opts: { prereleases?: boolean } = {},
): boolean {
  const item = parsePep440(version);
  const specs = specifiers
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(~=|===|==|!=|<=|>=|<|>)\s*(\S+)$/.exec(s);
      if (!m?.[1] || !m[2]) {
        throw new VersionError("VERSION_INVALID_RANGE", `invalid PEP 440 specifier "${s}"`);
      }
      return { op: m[1], version: m[2] };
    });
  const prereleases = opts.prereleases ?? specs.some((s) => specAllowsPre(s.op, s.version));
  if (isPre(item) && !prereleases) {
    return false;
  }
  return specs.every((s) => specMatches(item, version, s.op, s.version));
}

/** PyPI version order (PEP 440). */
export const pep440Comparator: Comparator = {
  ecosystem: "PyPI",
  compare: (a, b) => comparePep440(parsePep440(a), parsePep440(b)),
  isValid: (v) => PATTERN.test(v),
};
