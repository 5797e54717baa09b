import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DirectoryResolver } from "../source/index.js";
import { CATALOGERS } from "./catalog.js";
import type { CatalogerCase } from "./contract.js";
import { describeCatalogerContract } from "./contract.js";

/**
 * Every cataloger keeps the Cataloger contract; those whose inputs this Debian machine holds are
 * run on the real files (the dpkg database, a Debian Python package's metadata, a Debian Go
 * binary, this repository's package-lock.json, a pnpm lockfile), with the expected packages
 * from an oracle: dpkg-query, the package's METADATA, pnpm's own `pnpm ls`.
 */
const REPO = resolve(import.meta.dirname, "../..");
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) {
    rmSync(r, { recursive: true, force: true });
  }
});

/** A directory root holding copies of host files at the given paths inside it. */
function rootWith(files: Readonly<Record<string, string>>): () => Promise<DirectoryResolver> {
  let root: string | undefined;
  return () => {
    if (!root) {
      root = mkdtempSync(join(tmpdir(), "cleanimg-cataloger-"));
      roots.push(root);
      for (const [inside, from] of Object.entries(files)) {
        mkdirSync(dirname(join(root, inside)), { recursive: true });
        copyFileSync(from, join(root, inside));
      }
    }
    return DirectoryResolver.open(root);
  };
}

const dpkgVersion = spawnSync("dpkg-query", ["-W", "-f=$" + "{Version}", "dpkg"], {
  encoding: "utf8",
}).stdout;
const PYYAML = "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info";
const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version?: string }>;
};
const PNPM = join(REPO, "test/fixtures/lockfiles/pnpm-v9");

const FIXTURES: Readonly<Record<string, Omit<CatalogerCase, "cataloger">>> = {
  "dpkg-db-cataloger": {
    fixture: rootWith({ "/var/lib/dpkg/status": "/var/lib/dpkg/status" }),
    expected: [{ name: "dpkg", version: dpkgVersion }],
  },
  "python-installed-package-cataloger": {
    fixture: rootWith({
      [`${PYYAML}/METADATA`]: `${PYYAML}/METADATA`,
      [`${PYYAML}/RECORD`]: `${PYYAML}/RECORD`,
      [`${PYYAML}/top_level.txt`]: `${PYYAML}/top_level.txt`,
    }),
    expected: [{ name: "PyYAML", version: "6.0" }],
  },
  "go-module-binary-cataloger": {
    fixture: rootWith({ "/usr/bin/govulncheck": "/usr/bin/govulncheck" }),
  },
  "npm-lock-cataloger": {
    fixture: rootWith({ "/app/package-lock.json": join(REPO, "package-lock.json") }),
    expected: [
      {
        name: "commander",
        version: lock.packages["node_modules/commander"]?.version ?? "(not in the lock)",
      },
    ],
  },
  "pnpm-lock-cataloger": {
    fixture: rootWith({ "/app/pnpm-lock.yaml": join(PNPM, "pnpm-lock.yaml") }),
    expected: readFileSync(join(PNPM, "pnpm-ls-prod.txt"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const at = l.lastIndexOf("@");
        return { name: l.slice(0, at), version: l.slice(at + 1) };
      }),
  },
};

describe("catalogers", () => {
  it("every fixture names a cataloger that exists", () => {
    const ids = new Set(CATALOGERS.map((c) => c.id));
    expect(Object.keys(FIXTURES).filter((k) => !ids.has(k))).toEqual([]);
  });
});

for (const cataloger of CATALOGERS) {
  describeCatalogerContract({ cataloger, ...FIXTURES[cataloger.id] }, { describe, it, expect });
}
