import { lazyModule } from "../core/lazy.js";

// loaded on first use (core/lazy.ts): together about 15 ms, and most commands normalise no license
const parse = lazyModule<(s: string) => unknown>("spdx-expression-parse");
const correct = lazyModule<(s: string, o?: { upgrade?: boolean }) => string | null>("spdx-correct");

/**
 * Normalises declared license strings into one SPDX license expression (AND of the parts),
 * correcting common spellings ("Apache 2.0" -> Apache-2.0, "GPL-2+" -> GPL-2.0-or-later).
 * Returns undefined when a part cannot be made valid: the license is then unknown, not guessed.
 */
export function normalizeLicenses(declared: readonly string[]): string | undefined {
  const parts: string[] = [];
  for (const raw of declared) {
    const s = raw.trim();
    if (!s) {
      continue;
    }
    const norm = normalizeOne(s);
    if (norm === undefined) {
      return undefined;
    }
    if (!parts.includes(norm)) {
      parts.push(norm);
    }
  }
  if (parts.length === 0) {
    return undefined;
  }
  parts.sort();
  return parts.length === 1
    ? parts[0]
    : parts
        .map((p) => (/\s(OR|AND|WITH)\s/.test(p) && !/^\(.*\)$/.test(p) ? `(${p})` : p))
        .join(" AND ");
}

function valid(s: string): boolean {
  try {
    parse()(s);
    return true;
  } catch {
    return false;
  }
}

// Spellings common in Debian copyright files (DEP-5) and package metadata.
const ALIASES: Readonly<Record<string, string>> = {
  expat: "MIT",
  artistic: "Artistic-1.0",
  "artistic-1": "Artistic-1.0",
  "artistic-2": "Artistic-2.0",
  "psf-2": "PSF-2.0",
  python: "PSF-2.0",
  zlib: "Zlib",
  "bsd-2-clause": "BSD-2-Clause",
  "bsd-3-clause": "BSD-3-Clause",
  isc: "ISC",
  "apache-2": "Apache-2.0",
  "mpl-2": "MPL-2.0",
};

// License ids that have -only / -or-later forms (the bare and "+" forms are deprecated).
const ONLY_OR_LATER = /^(A?GPL|LGPL|GFDL)-\d(\.\d)?$/;

function normalizeId(token: string): string {
  let t = token;
  let orLater = false;
  if (t.endsWith("+")) {
    orLater = true;
    t = t.slice(0, -1);
  }
  const alias = ALIASES[t.toLowerCase()];
  if (alias) {
    t = alias;
  }
  // "GPL-2" -> "GPL-2.0"
  const short = /^(A?GPL|LGPL|GFDL)-(\d)$/i.exec(t);
  if (short?.[1] && short[2]) {
    t = `${short[1].toUpperCase()}-${short[2]}.0`;
  }
  if (ONLY_OR_LATER.test(t)) {
    return `${t}${orLater ? "-or-later" : "-only"}`;
  }
  let id = valid(t) ? t : (correct()(t, { upgrade: true }) ?? undefined);
  if (id && ONLY_OR_LATER.test(id)) {
    id = `${id}${orLater ? "-or-later" : "-only"}`;
  } else if (id && orLater && id.endsWith("-only")) {
    id = `${id.slice(0, -"-only".length)}-or-later`; // "GPLv2+": corrected to -only, the + says or-later
  } else if (id && orLater && !id.endsWith("-or-later")) {
    id = `${id}+`;
  }
  if (id && valid(id)) {
    return id;
  }
  // Not an SPDX license: keep it, named, rather than guess.
  return `LicenseRef-${token.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "") || "unknown"}`;
}

function normalizeOne(s: string): string | undefined {
  const tokens = s
    .replace(/\s+or\s+/gi, " OR ")
    .replace(/\s+and\s+/gi, " AND ")
    .replace(/\s+with\s+/gi, " WITH ")
    .replace(/,\s*/g, " AND ")
    .split(/(\s+(?:OR|AND|WITH)\s+|[()])/)
    .map((t) => t.trim())
    .filter(Boolean);
  const out: string[] = [];
  let afterWith = false;
  for (const t of tokens) {
    if (t === "OR" || t === "AND" || t === "WITH" || t === "(" || t === ")") {
      out.push(t);
      afterWith = t === "WITH";
      continue;
    }
    // an exception named in words ("OpenSSL exception") is tried in its SPDX id form
    out.push(afterWith ? t.replace(/\s+/g, "-") : normalizeId(t));
    afterWith = false;
  }
  const joined = out.join(" ").replace(/\( /g, "(").replace(/ \)/g, ")");
  return valid(joined) ? joined : undefined;
}
