import type { Artifacts, Link, Rule } from "./metadata.js";

/**
 * Artifact rules as the in-toto specification and its reference implementation apply them:
 * each step's materials (or products) form a queue; rules are applied in order, each consuming
 * the artifacts it authorizes (MATCH, ALLOW, CREATE, DELETE, MODIFY) or failing on what it
 * forbids (DISALLOW) or misses (REQUIRE). What no rule consumes is not an error (layouts end
 * with DISALLOW * to forbid it). Patterns are fnmatch patterns: `*` also matches `/`.
 */

/** Python's fnmatch.translate, anchored. */
export function fnmatchRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") {
      re += ".*";
    } else if (c === "?") {
      re += ".";
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        re += "\\[";
      } else {
        let set = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (set.startsWith("!")) {
          set = `^${set.slice(1)}`;
        } else if (set.startsWith("^")) {
          set = `\\${set}`;
        }
        re += `[${set}]`;
        i = end;
      }
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
  }
  return new RegExp(`^${re}$`, "s");
}

const fnfilter = (names: Iterable<string>, pattern: string): string[] => {
  const re = fnmatchRegExp(pattern);
  return [...names].filter((n) => re.test(n));
};

export class RuleError extends Error {}

interface ParsedRule {
  readonly type: "match" | "allow" | "disallow" | "require" | "create" | "delete" | "modify";
  readonly pattern: string;
  readonly srcPrefix?: string;
  readonly destType?: "materials" | "products";
  readonly destPrefix?: string;
  readonly destName?: string;
}

/** Parses a rule in the layout's list form. @throws RuleError for a malformed rule */
export function parseRule(r: Rule): ParsedRule {
  const [t, ...rest] = r;
  const type = (t ?? "").toLowerCase();
  const bad = (): never => {
    throw new RuleError(`malformed rule ${JSON.stringify(r)}`);
  };
  if (["allow", "disallow", "require", "create", "delete", "modify"].includes(type)) {
    if (rest.length !== 1) {
      bad();
    }
    return { type: type as ParsedRule["type"], pattern: rest[0] as string };
  }
  if (type !== "match") {
    return bad();
  }
  // MATCH pattern [IN src-prefix] WITH (MATERIALS|PRODUCTS) [IN dst-prefix] FROM step
  const u = rest.map((x, i) => (i === 0 ? x : x.toUpperCase()));
  let i = 1;
  const pattern = rest[0] ?? bad();
  let srcPrefix: string | undefined;
  if (u[i] === "IN") {
    srcPrefix = rest[i + 1] ?? bad();
    i += 2;
  }
  if (u[i] !== "WITH") {
    bad();
  }
  const dt = u[i + 1];
  if (dt !== "MATERIALS" && dt !== "PRODUCTS") {
    bad();
  }
  i += 2;
  let destPrefix: string | undefined;
  if (u[i] === "IN") {
    destPrefix = rest[i + 1] ?? bad();
    i += 2;
  }
  if (u[i] !== "FROM" || rest.length !== i + 2) {
    bad();
  }
  return {
    type: "match",
    pattern,
    ...(srcPrefix ? { srcPrefix } : {}),
    destType: dt === "MATERIALS" ? "materials" : "products",
    ...(destPrefix ? { destPrefix } : {}),
    destName: rest[i + 1] as string,
  };
}

const sameHashes = (
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean => {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
};

const withSlash = (p: string): string => (p.endsWith("/") ? p : `${p}/`);

/**
 * Applies an item's rules to its materials or products.
 * @throws RuleError naming the item, the rule and the artifacts that failed it
 */
export function verifyItemRules(
  item: string,
  kind: "materials" | "products",
  rules: readonly Rule[],
  links: ReadonlyMap<string, Link>,
): void {
  const link = links.get(item);
  if (!link) {
    throw new RuleError(`no link for ${item}`);
  }
  const artifacts: Artifacts = link[kind] ?? {};
  const materials = link.materials ?? {};
  const products = link.products ?? {};
  const queue = new Set(Object.keys(artifacts));
  for (const raw of rules) {
    const r = parseRule(raw);
    const filtered = fnfilter(queue, r.pattern);
    let consumed: string[] = [];
    switch (r.type) {
      case "match": {
        const dest = links.get(r.destName as string);
        if (!dest) {
          break; // the reference implementation skips a MATCH against a step without a link
        }
        const destArtifacts: Artifacts = dest[r.destType as "materials" | "products"] ?? {};
        const src = r.srcPrefix ? withSlash(r.srcPrefix) : "";
        const candidates = [...queue]
          .filter((p) => p.startsWith(src))
          .map((p) => p.slice(src.length));
        for (const rel of fnfilter(candidates, r.pattern)) {
          const destPath = r.destPrefix ? `${withSlash(r.destPrefix)}${rel}` : rel;
          const d = destArtifacts[destPath];
          const s = artifacts[`${src}${rel}`];
          if (d && s && sameHashes(s, d)) {
            consumed.push(`${src}${rel}`);
          }
        }
        break;
      }
      case "allow":
        consumed = filtered;
        break;
      case "create":
        consumed = filtered.filter((p) => p in products && !(p in materials));
        break;
      case "delete":
        consumed = filtered.filter((p) => p in materials && !(p in products));
        break;
      case "modify":
        consumed = filtered.filter(
          (p) =>
            p in materials &&
            p in products &&
            !sameHashes(
              materials[p] as Record<string, string>,
              products[p] as Record<string, string>,
            ),
        );
        break;
      case "disallow":
        if (filtered.length > 0) {
          throw new RuleError(
            `${item} ${kind}: artifact${filtered.length > 1 ? "s" : ""} ${filtered.sort().join(", ")} disallowed by rule ${JSON.stringify(raw)}`,
          );
        }
        break;
      case "require":
        if (!queue.has(r.pattern)) {
          throw new RuleError(
            `${item} ${kind}: ${r.pattern} required by rule ${JSON.stringify(raw)} is missing`,
          );
        }
        break;
    }
    for (const c of consumed) {
      queue.delete(c);
    }
  }
}
