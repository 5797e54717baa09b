import type { Issue } from "../../../core/issues.js";
import type { FileResolver } from "../../../source/index.js";
import type { Cataloger, CatalogResult } from "../../cataloger.js";
import type { Package } from "../../model.js";
import { text } from "../shared.js";
import { goPackage } from "./golang.js";

const GO_MOD = /\/go\.mod$/;

export interface GoModFile {
  readonly module?: string;
  readonly require: readonly { path: string; version: string; indirect: boolean }[];
  readonly replace: readonly {
    old: { path: string; version?: string };
    new: { path: string; version?: string };
  }[];
}

/** A go.mod token: a bare word or a Go string (interpreted or raw). */
function tokens(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    out.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : (m[2] ?? (m[3] as string)));
  }
  return out;
}

/**
 * Parses the directives of a go.mod that decide module versions: module, require and replace,
 * in their single-line and block forms, with `// indirect` markers. (exclude and retract do not
 * change what the build selects from this file's requirements, and are ignored.)
 */
export function parseGoMod(src: string): GoModFile {
  let module: string | undefined;
  const require: { path: string; version: string; indirect: boolean }[] = [];
  const replace: GoModFile["replace"][number][] = [];
  let block: string | undefined;
  const directive = (verb: string, rest: string, comment: string): void => {
    const t = tokens(rest);
    if (verb === "module" && t[0]) {
      module = t[0];
    } else if (verb === "require" && t[0] && t[1]) {
      require.push({ path: t[0], version: t[1], indirect: /\bindirect\b/.test(comment) });
    } else if (verb === "replace") {
      const arrow = t.indexOf("=>");
      if (arrow === 1 || arrow === 2) {
        const [op, ov] = t.slice(0, arrow);
        const [np, nv] = t.slice(arrow + 1);
        if (op && np) {
          replace.push({
            old: { path: op, ...(ov ? { version: ov } : {}) },
            new: { path: np, ...(nv ? { version: nv } : {}) },
          });
        }
      }
    }
  };
  for (const raw of src.split(/\r?\n/)) {
    const cut = raw.indexOf("//");
    const comment = cut >= 0 ? raw.slice(cut + 2) : "";
    const line = (cut >= 0 ? raw.slice(0, cut) : raw).trim();
    if (block) {
      if (line === ")") {
        block = undefined;
      } else if (line) {
        directive(block, line, comment);
      }
      continue;
    }
    const m = /^(\w+)\s*(.*)$/.exec(line);
    if (!m?.[1]) {
      continue;
    }
    if (m[2] === "(") {
      block = m[1];
    } else {
      directive(m[1], m[2] ?? "", comment);
    }
  }
  return { ...(module ? { module } : {}), require, replace };
}

/** h1: sums from the go.sum beside a go.mod, by "path version". */
function goSums(src: string | undefined): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of (src ?? "").split("\n")) {
    const [path, version, sum] = line.trim().split(/\s+/);
    if (path && version && sum && !version.endsWith("/go.mod")) {
      sums.set(`${path} ${version}`, sum);
    }
  }
  return sums;
}

/**
 * Go modules a go.mod requires (source trees and build stages left in an image), with replace
 * directives applied as the go command applies them: a replacement by another module version is
 * what would be built; a replacement by a local directory keeps the required version. Module
 * fixtures under testdata/ are not part of any build and are skipped.
 */
export const goModCataloger: Cataloger = {
  id: "go-mod-file-cataloger",
  declares: true,
  version: 1,
  interest: (path) => GO_MOD.test(path) || path.endsWith("/go.sum"),
  async catalog(resolver: FileResolver): Promise<CatalogResult> {
    const packages: Package[] = [];
    const issues: Issue[] = [];
    for (const node of resolver.files()) {
      if (node.type !== "file" || !GO_MOD.test(node.path) || node.path.includes("/testdata/")) {
        continue;
      }
      const bytes = await resolver.read(node.path);
      if (!bytes) {
        issues.push({
          code: "SBOM_FILE_UNREADABLE",
          message: "go.mod not readable",
          path: node.path,
        });
        continue;
      }
      const mod = parseGoMod(text(bytes));
      const sumBytes = await resolver.read(node.path.replace(/go\.mod$/, "go.sum"));
      const sums = goSums(sumBytes ? text(sumBytes) : undefined);
      for (const r of mod.require) {
        const rep =
          mod.replace.find((x) => x.old.path === r.path && x.old.version === r.version) ??
          mod.replace.find((x) => x.old.path === r.path && !x.old.version);
        const effective = rep?.new.version ? { path: rep.new.path, version: rep.new.version } : r;
        const h1 = sums.get(`${effective.path} ${effective.version}`);
        packages.push(
          goPackage(
            resolver,
            node,
            effective,
            {
              ...(mod.module ? { "go:requiredBy": mod.module } : {}),
              ...(r.indirect ? { "go:indirect": "true" } : {}),
              ...(h1 ? { "go:h1": h1 } : {}),
              ...(rep
                ? {
                    "go:replacedBy": `${rep.new.path}${rep.new.version ? `@${rep.new.version}` : ""}`,
                  }
                : {}),
            },
            "go-mod-file-cataloger",
          ),
        );
      }
    }
    return { packages, issues };
  },
};
