/** A function name of a pclntab as govulncheck reads it: the package path and the symbol. */
export interface GoSymbol {
  /** The import path, with the linker's escaping (`%2e` for a dot in the last element) undone. */
  readonly pkg: string;
  /** `F`, `T.M` (for both `T.M` and `(*T).M`), `F.func1`, `T.M-fm`: as advisories spell them. */
  readonly symbol: string;
}

/** Removes bracketed type-argument lists (`[...]`, nested ones too). */
function withoutInstantiation(name: string): string {
  let out = "";
  let depth = 0;
  for (const c of name) {
    if (c === "[") {
      depth++;
    } else if (c === "]" && depth > 0) {
      depth--;
    } else if (depth === 0) {
      out += c;
    }
  }
  return out;
}

/**
 * Splits a pclntab function name the way govulncheck's binary mode does (debug/gosym's
 * PackageName, ReceiverName and BaseName, then `(*T)` read as `T` and the package path
 * unescaped): the package is the name up to the first dot after the last slash, the symbol the
 * rest. Generic instantiations name their generic function (`F[...]` is `F`, `(*T[...]).M` is
 * `T.M`). Closures and method values keep their suffix (`F.func1`, `T.M-fm`): they are not `F` or
 * `M`. Compiler-generated names (`go:`, `type:`, before Go 1.20 `type..`) and names whose escaping
 * is broken belong to no package.
 */
export function goSymbolOf(name: string): GoSymbol | undefined {
  const plain = withoutInstantiation(name);
  if (/^(go:|type:|type\.\.)/.test(plain)) {
    return undefined;
  }
  const slash = plain.lastIndexOf("/");
  const dot = plain.indexOf(".", slash + 1);
  if (dot <= 0 || dot === plain.length - 1) {
    return undefined;
  }
  let pkg: string;
  try {
    pkg = decodeURIComponent(plain.slice(0, dot));
  } catch {
    return undefined;
  }
  const rest = plain.slice(dot + 1);
  const last = rest.lastIndexOf(".");
  if (last < 0) {
    return { pkg, symbol: rest };
  }
  const receiver = rest.slice(0, last).replace(/^\(\*(.*)\)$/, "$1");
  return { pkg, symbol: `${receiver}.${rest.slice(last + 1)}` };
}

/** Indexes built, by name table (a binary's packages share one table). */
const symbolIndexes = new WeakMap<readonly string[], ReadonlyMap<string, ReadonlySet<string>>>();

/** The symbols of a function name table, by package path. */
export function goSymbolIndex(names: readonly string[]): ReadonlyMap<string, ReadonlySet<string>> {
  const known = symbolIndexes.get(names);
  if (known) {
    return known;
  }
  const index = new Map<string, Set<string>>();
  for (const n of names) {
    const s = goSymbolOf(n);
    if (s) {
      let set = index.get(s.pkg);
      if (!set) {
        set = new Set();
        index.set(s.pkg, set);
      }
      set.add(s.symbol);
    }
  }
  symbolIndexes.set(names, index);
  return index;
}
