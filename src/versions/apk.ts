import type { Comparator } from "./comparator.js";

// Alpine package versions (apk-tools 3): digit{.digit}...{letter}{_suffix{#}}...{~hash}{-r#}
enum T {
  InitialDigit = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  CommitHash = 5,
  RevisionNo = 6,
  End = 7,
  Invalid = 8,
}

// Pre-release suffixes sort before "no suffix", post-release ones after.
const SUFFIXES: Record<string, number> = {
  alpha: 1,
  beta: 2,
  pre: 3,
  rc: 4,
  cvs: 6,
  svn: 7,
  git: 8,
  hg: 9,
  p: 10,
};
const SUFFIX_NONE = 5;

interface Tok {
  t: T;
  /** digits, letter, suffix name or hash as written */
  text: string;
  suffix: number;
}

/** Splits a version into tokens; the last token is End, or Invalid where the grammar breaks. */
export function apkTokens(v: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const digits = (): string => {
    const s = i;
    while (
      i < v.length &&
      v[i] !== undefined &&
      (v[i] as string) >= "0" &&
      (v[i] as string) <= "9"
    ) {
      i++;
    }
    return v.slice(s, i);
  };
  const first = digits();
  if (!first) {
    return [{ t: T.Invalid, text: v, suffix: 0 }];
  }
  out.push({ t: T.InitialDigit, text: first, suffix: 0 });
  let prev = T.InitialDigit;
  while (i < v.length) {
    const c = v[i] as string;
    let tok: Tok | undefined;
    if (c === "." && (prev === T.InitialDigit || prev === T.Digit)) {
      i++;
      const d = digits();
      tok = d ? { t: T.Digit, text: d, suffix: 0 } : undefined;
    } else if (c >= "a" && c <= "z" && (prev === T.InitialDigit || prev === T.Digit)) {
      i++;
      tok = { t: T.Letter, text: c, suffix: 0 };
    } else if (c === "_" && prev <= T.SuffixNo) {
      i++;
      const s = i;
      while (i < v.length && (v[i] as string) >= "a" && (v[i] as string) <= "z") {
        i++;
      }
      const name = v.slice(s, i);
      const n = SUFFIXES[name];
      if (n !== undefined) {
        out.push({ t: T.Suffix, text: name, suffix: n });
        prev = T.Suffix;
        const d = digits();
        if (d) {
          out.push({ t: T.SuffixNo, text: d, suffix: 0 });
          prev = T.SuffixNo;
        }
        continue;
      }
    } else if (c === "~" && prev < T.CommitHash) {
      i++;
      const s = i;
      while (i < v.length && /[0-9a-f]/.test(v[i] as string)) {
        i++;
      }
      tok = i > s ? { t: T.CommitHash, text: v.slice(s, i), suffix: 0 } : undefined;
    } else if (c === "-" && v[i + 1] === "r" && prev < T.RevisionNo) {
      i += 2;
      const d = digits();
      tok = d ? { t: T.RevisionNo, text: d, suffix: 0 } : undefined;
    }
    if (!tok) {
      out.push({ t: T.Invalid, text: v.slice(i), suffix: 0 });
      return out;
    }
    out.push(tok);
    prev = tok.t;
  }
  out.push({ t: T.End, text: "", suffix: 0 });
  return out;
}

/** True when apk would accept the version. */
export function isValidApkVersion(v: string): boolean {
  const t = apkTokens(v);
  return t[t.length - 1]?.t === T.End;
}

function cmpNum(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function tokenCmp(a: Tok, b: Tok): number {
  switch (a.t) {
    case T.Digit:
      // a leading zero makes the component compare as text (1.01 < 1.1)
      if (a.text.startsWith("0") || b.text.startsWith("0")) {
        return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
      }
      return cmpNum(a.text, b.text);
    case T.InitialDigit:
    case T.SuffixNo:
    case T.RevisionNo:
      return cmpNum(a.text, b.text);
    case T.Letter:
      return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
    case T.Suffix:
      return a.suffix - b.suffix;
    default:
      return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }
}

/**
 * apk version comparison; with `fuzzy`, a version that matches all of b's components is equal
 * to it (the "~" operator).
 */
export function compareApk(a: string, b: string, fuzzy = false): -1 | 0 | 1 {
  const ta = apkTokens(a);
  const tb = apkTokens(b);
  let i = 0;
  for (;;) {
    const x = ta[i] as Tok;
    const y = tb[i] as Tok;
    if (x.t !== y.t) {
      if (fuzzy && y.t === T.End) {
        return 0;
      }
      // the non-terminating version is greater, unless what follows is a pre-release suffix
      if (x.t === T.Suffix && x.suffix < SUFFIX_NONE) {
        return -1;
      }
      if (y.t === T.Suffix && y.suffix < SUFFIX_NONE) {
        return 1;
      }
      return x.t > y.t ? -1 : 1;
    }
    if (x.t === T.End) {
      return 0;
    }
    if (x.t === T.Invalid) {
      return x.text < y.text ? -1 : x.text > y.text ? 1 : 0;
    }
    const c = tokenCmp(x, y);
    if (c !== 0) {
      return c < 0 ? -1 : 1;
    }
    i++;
  }
}

/** Alpine (apk) version order. */
export const apkComparator: Comparator = {
  ecosystem: "Alpine",
  compare: (a, b) => compareApk(a, b),
  isValid: isValidApkVersion,
};
