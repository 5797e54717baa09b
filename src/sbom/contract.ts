import { type ContractTestApi, codeOf, thrownBy } from "../core/contract.js";
import type { FileResolver } from "../source/index.js";
import type { CatalogContext, Cataloger, CatalogResult } from "./cataloger.js";

/** What a cataloger's contract run is given. */
export interface CatalogerCase {
  readonly cataloger: Cataloger;
  /** A filesystem holding files the cataloger reads (real ones: a package database, a lockfile). */
  readonly fixture?: () => Promise<FileResolver>;
  /** Packages it must find in the fixture (name and version as an oracle gives them). */
  readonly expected?: readonly { readonly name: string; readonly version: string }[];
  readonly context?: CatalogContext;
}

/** A filesystem with nothing in it. */
export const EMPTY_RESOLVER: FileResolver = {
  files: () => [],
  lstat: () => undefined,
  realpath: () => undefined,
  read: async () => undefined,
  sniffed: async () => undefined,
  layerDigest: () => undefined,
  issues: [],
};

/** The fixture, with every read recorded. */
function recording(r: FileResolver, reads: string[]): FileResolver {
  return {
    files: () => r.files(),
    lstat: (p) => r.lstat(p),
    realpath: (p) => r.realpath(p),
    read: (p) => {
      reads.push(p);
      return r.read(p);
    },
    sniffed: (p, s) => r.sniffed(p, s),
    layerDigest: (l) => r.layerDigest(l),
    issues: r.issues,
  };
}

/** The fixture with every file it gives damaged: cut in half, its first bytes inverted. */
function damaged(r: FileResolver): FileResolver {
  const damage = (b: Uint8Array | undefined): Uint8Array | undefined => {
    if (!b) {
      return b;
    }
    const d = b.slice(0, b.length >> 1);
    for (let i = 0; i < Math.min(64, d.length); i++) {
      d[i] = (d[i] as number) ^ 0xff;
    }
    return d;
  };
  return {
    ...recording(r, []),
    read: async (p) => damage(await r.read(p)),
    sniffed: async (p, s) => damage(await r.sniffed(p, s)),
  };
}

const shape = (r: CatalogResult): string =>
  JSON.stringify(r.packages.map((p) => [p.name, p.version, p.foundBy, p.locations]));

/**
 * The contract every {@link Cataloger} keeps: a stable id and version; on an empty filesystem,
 * nothing and no throw; on its fixture, the expected packages, reading only the paths it
 * declared interest in (the image source keeps only those), the same answer twice; on damaged
 * files, issues collected and no throw (partial results, never an exception).
 * @example describeCatalogerContract({ cataloger: dpkgCataloger, fixture, expected }, { describe, it, expect })
 */
export function describeCatalogerContract(c: CatalogerCase, t: ContractTestApi): void {
  const { it, expect } = t;
  const cat = c.cataloger;
  const ctx = c.context ?? {};
  t.describe(`Cataloger contract: ${cat.id}`, () => {
    it("has an id of the form <ecosystem>-<what>-cataloger and a version", async () => {
      expect(/^[a-z0-9][a-z0-9.+-]*-cataloger$/.test(cat.id)).toBe(true);
      expect(Number.isInteger(cat.version) && cat.version >= 1).toBe(true);
    });
    it("finds nothing, and throws nothing, on an empty filesystem", async () => {
      const r = await cat.catalog(EMPTY_RESOLVER, ctx);
      expect(r.packages).toHaveLength(0);
    });
    const fixture = c.fixture;
    if (!fixture) {
      return;
    }
    it("finds the expected packages, reading only paths it declared interest in", async () => {
      const reads: string[] = [];
      const fs = await fixture();
      const r = await cat.catalog(recording(fs, reads), ctx);
      expect(r.packages.length > 0).toBe(true);
      const found = new Set(r.packages.map((p) => `${p.name}@${p.version}`));
      const missing = (c.expected ?? [])
        .map((e) => `${e.name}@${e.version}`)
        .filter((k) => !found.has(k));
      expect(missing).toEqual([]);
      expect(r.packages.filter((p) => !p.name || p.foundBy !== cat.id).length).toBe(0);
      const undeclared = reads.filter(
        (p) => !cat.interest(p) && !cat.interest(fs.realpath(p) ?? p),
      );
      expect(undeclared).toEqual([]);
    });
    it("gives the same answer twice", async () => {
      const a = await cat.catalog(await fixture(), ctx);
      const b = await cat.catalog(await fixture(), ctx);
      expect(shape(a)).toBe(shape(b));
    });
    it("collects damaged files as issues or skips them, and never throws", async () => {
      const fs = damaged(await fixture());
      const e = await thrownBy(() => cat.catalog(fs, ctx));
      expect(codeOf(e)).toBe("no error");
      const r = await cat.catalog(fs, ctx);
      expect(r.packages.filter((p) => !p.name).length).toBe(0);
    });
  });
}
