import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as lockfile from "@yarnpkg/lockfile";
import { describe, expect, it } from "vitest";
import { parseYarnLock } from "./yarn-lock.js";

// A real yarn v1 lockfile, as the uri-js package publishes it (installed under node_modules as a
// dependency of ajv); yarn's own parser (@yarnpkg/lockfile) gives the ground truth.
const LOCK = resolve(import.meta.dirname, "../../../../node_modules/uri-js/yarn.lock");

describe("parseYarnLock", () => {
  it("finds every resolved package yarn's own parser finds, with integrity and dependencies", () => {
    const text = readFileSync(LOCK, "utf8");
    const parsed = lockfile.parse(text);
    expect(parsed.type).toBe("success");
    type Entry = {
      version: string;
      integrity?: string;
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const truth = new Map<string, Entry>();
    for (const [spec, entry] of Object.entries(parsed.object as Record<string, Entry>)) {
      const name = spec.slice(0, spec.indexOf("@", spec.startsWith("@") ? 1 : 0));
      truth.set(`${name}@${entry.version}`, entry);
    }
    const ours = parseYarnLock(text);
    expect(new Set(ours.map((e) => `${e.name}@${e.version}`))).toEqual(new Set(truth.keys()));
    for (const e of ours) {
      const t = truth.get(`${e.name}@${e.version}`);
      expect(e.integrity).toBe(t?.integrity);
      // dependencies and optional dependencies both name packages the tree may hold
      expect(e.dependencies).toEqual(
        [
          ...new Set([
            ...Object.keys(t?.dependencies ?? {}),
            ...Object.keys(t?.optionalDependencies ?? {}),
          ]),
        ].sort(),
      );
    }
  });
});
