import type { Comparator } from "./comparator.js";
import { compareDigits } from "./comparator.js";

// Maven's ComparableVersion (maven-artifact, Maven 4 line): items are numbers, qualifiers,
// letter+number combinations and nested lists; a "-" opens a sub-list.

type Item =
  | { readonly t: "num"; readonly v: string }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "combo"; readonly s: { readonly t: "str"; readonly v: string }; readonly d: Item }
  | { t: "list"; items: Item[] };

const QUALIFIERS = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const ALIASES: Record<string, string> = { ga: "", final: "", release: "", cr: "rc" };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(""));

const isDigit = (c: string): boolean => c >= "0" && c <= "9"; // ASCII only, as Maven 4

function strItem(value: string, followedByDigit: boolean): { t: "str"; v: string } {
  let v = value;
  if (followedByDigit && v.length === 1) {
    v = v === "a" ? "alpha" : v === "b" ? "beta" : v === "m" ? "milestone" : v;
  }
  return { t: "str", v: ALIASES[v] ?? v };
}

function comparableQualifier(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

function numItem(buf: string): Item {
  return { t: "num", v: buf.replace(/^0+(?=\d)/, "") };
}

function parseItem(isCombination: boolean, isDigitBuf: boolean, buf: string): Item {
  if (isCombination) {
    const b = buf.replace(/-/g, "");
    let index = 0;
    for (let i = 0; i < b.length; i++) {
      if (isDigit(b[i] as string)) {
        index = i;
        break;
      }
    }
    return { t: "combo", s: strItem(b.slice(0, index), true), d: numItem(b.slice(index)) };
  }
  return isDigitBuf ? numItem(buf) : strItem(buf, false);
}

function isNull(i: Item): boolean {
  switch (i.t) {
    case "num":
      return i.v === "0";
    case "str":
      return i.v === "";
    case "list":
      return i.items.length === 0;
    default:
      return false;
  }
}

function normalize(list: { items: Item[] }): void {
  for (let i = list.items.length - 1; i >= 0; i--) {
    const last = list.items[i] as Item;
    if (!isNull(last)) {
      continue;
    }
    const next = list.items[i + 1];
    if (i === list.items.length - 1 || next?.t === "str") {
      list.items.splice(i, 1);
    } else if (next?.t === "list" && last.t !== "str") {
      // a release qualifier ("final", "ga") before a sub-list stays: 1.0.final-x < 1.0-sp1-x (MNG-7714)
      const first = next.items[0];
      if (first?.t === "combo" || first?.t === "str") {
        list.items.splice(i, 1);
      }
    }
  }
}

/** Parses a Maven version into ComparableVersion's item tree. */
export function parseMavenVersion(version: string): Item {
  const v = version.toLowerCase();
  const root: Item & { t: "list" } = { t: "list", items: [] };
  let list = root;
  const stack: (Item & { t: "list" })[] = [root];
  let digit = false;
  let combination = false;
  let start = 0;
  const push = (): void => {
    const l: Item & { t: "list" } = { t: "list", items: [] };
    list.items.push(l);
    list = l;
    stack.push(l);
  };
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    if (c === ".") {
      list.items.push(
        i === start ? { t: "num", v: "0" } : parseItem(combination, digit, v.slice(start, i)),
      );
      combination = false;
      start = i + 1;
    } else if (c === "-") {
      if (i === start) {
        list.items.push({ t: "num", v: "0" });
      } else {
        // X-1 is treated as X1
        if (!digit && i !== v.length - 1 && isDigit(v[i + 1] as string)) {
          combination = true;
          continue;
        }
        list.items.push(parseItem(combination, digit, v.slice(start, i)));
      }
      start = i + 1;
      push();
      combination = false;
    } else if (isDigit(c)) {
      if (!digit && i > start) {
        // X1
        combination = true;
        if (list.items.length > 0) {
          push();
        }
      }
      digit = true;
    } else {
      if (digit && i > start) {
        list.items.push(parseItem(combination, true, v.slice(start, i)));
        start = i;
        push();
        combination = false;
      }
      digit = false;
    }
  }
  if (v.length > start) {
    // 1.0.0.X1 < 1.0.0-X2: treat .X as -X for any string qualifier X
    if (!digit && list.items.length > 0) {
      push();
    }
    list.items.push(parseItem(combination, digit, v.slice(start)));
  }
  while (stack.length > 0) {
    normalize(stack.pop() as { items: Item[] });
  }
  return root;
}

function cmpStr(a: { t: "str"; v: string }, b: Item | undefined): number {
  if (!b) {
    return sgn(comparableQualifier(a.v), RELEASE_INDEX); // 1-rc < 1, 1-sp > 1
  }
  if (b.t === "str") {
    return sgn(comparableQualifier(a.v), comparableQualifier(b.v));
  }
  if (b.t === "combo") {
    const r = cmpStr(a, b.s);
    return r === 0 ? -1 : r;
  }
  return -1; // 1.any < 1.1, 1.any < 1-1
}

function cmpCombo(a: Item & { t: "combo" }, b: Item | undefined): number {
  if (!b) {
    return cmpStr(a.s, undefined);
  }
  if (b.t === "str") {
    const r = cmpStr(a.s, b);
    return r === 0 ? 1 : r;
  }
  if (b.t === "combo") {
    const r = cmpStr(a.s, b.s);
    return r === 0 ? cmp(a.d, b.d) : r;
  }
  return -1;
}

function cmpList(a: Item & { t: "list" }, b: Item | undefined): number {
  if (!b) {
    for (const i of a.items) {
      const r = cmp(i, undefined);
      if (r !== 0) {
        return r;
      }
    }
    return 0;
  }
  if (b.t === "num") {
    return -1; // 1-1 < 1.0.x
  }
  if (b.t !== "list") {
    return 1; // 1-1 > 1-sp
  }
  for (let i = 0; i < Math.max(a.items.length, b.items.length); i++) {
    const l = a.items[i];
    const r = b.items[i];
    const res = l === undefined ? (r === undefined ? 0 : -cmp(r, l)) : cmp(l, r);
    if (res !== 0) {
      return res;
    }
  }
  return 0;
}

function cmp(a: Item, b: Item | undefined): number {
  switch (a.t) {
    case "num":
      if (!b) {
        return a.v === "0" ? 0 : 1;
      }
      return b.t === "num" ? compareDigits(a.v, b.v) : 1;
    case "str":
      return cmpStr(a, b);
    case "combo":
      return cmpCombo(a, b);
    case "list":
      return cmpList(a, b);
  }
}

function sgn(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Maven version order (ComparableVersion), which orders every string. `compare` does the same;
 * `isValid` refuses what is no version of an artifact at all: a blank string and an unresolved
 * property placeholder ("${project.version}", "${revision}"), which Maven would order as a
 * qualifier below every release (the matcher makes them "unknown" rather than ordering them).
 */
export const mavenComparator: Comparator = {
  ecosystem: "Maven",
  compare(a, b) {
    const r = cmp(parseMavenVersion(a), parseMavenVersion(b));
    return r < 0 ? -1 : r > 0 ? 1 : 0;
  },
  isValid: (v) => v.trim() !== "" && !v.includes("${"),
};
