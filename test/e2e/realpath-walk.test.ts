import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DirectoryFiles, LayoutSource, resolveImage } from "../../src/oci/index.js";
import { ImageFilesystem } from "../../src/source/index.js";
import { resolveLinkTarget } from "../../src/source/paths.js";
import { buildImageLayout, type LayerFile } from "../support/build-image.js";
import { tempDir } from "../support/tmp.js";

/**
 * ImageFilesystem.realpath walks a path once, from the directory reached so far. Its definition
 * (how it was written before): for each component, look the prefix up from the root with lstat;
 * a symlink restarts the walk at its target, resolved inside the root, at most 40 links deep.
 */
function byDefinition(fs: ImageFilesystem, path: string): string | undefined | "loop" {
  let hops = 0;
  let pending = path.split("/").filter(Boolean);
  let resolved: string[] = [];
  while (pending.length > 0) {
    const part = pending.shift() as string;
    const node = fs.lstat(`/${[...resolved, part].join("/")}`);
    if (!node) {
      return undefined;
    }
    if (node.type === "symlink") {
      if (++hops > 40) {
        return "loop";
      }
      const target = resolveLinkTarget(`/${resolved.join("/")}`, node.linkname ?? "");
      pending = [...target.split("/").filter(Boolean), ...pending];
      resolved = [];
      continue;
    }
    resolved.push(part);
  }
  return `/${resolved.join("/")}`;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("realpath", () => {
  it("agrees with its definition on random trees of directories, files and symlinks", async () => {
    const r = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const names = ["a", "b", "c", "lib", "usr"];
    const files: LayerFile[] = [];
    const paths: string[] = [];
    const dirs = [""];
    for (let i = 0; i < 300; i++) {
      const parent = pick(dirs);
      const name = `${parent}${parent ? "/" : ""}${pick(names)}${i % 7}`;
      const kind = r();
      if (kind < 0.4) {
        files.push({ name: `${name}/`, type: "dir" });
        dirs.push(name);
      } else if (kind < 0.7) {
        files.push({ name, type: "file", body: "x" });
      } else {
        // relative and absolute targets, some through other links, some dangling or looping
        const target =
          r() < 0.5
            ? `/${pick(dirs)}/${pick(names)}${Math.floor(r() * 7)}`
            : `${r() < 0.5 ? "../" : ""}${pick(names)}${Math.floor(r() * 7)}`;
        files.push({ name, type: "symlink", linkname: target.replace(/\/+/g, "/") });
      }
      paths.push(name);
    }
    const dir = join(tempDir(), "img");
    await buildImageLayout({ dir, layers: [{ kind: "files", files }] });
    const img = await resolveImage(
      new LayoutSource(new DirectoryFiles(dir, `oci layout ${dir}`), undefined),
    );
    const fs = await ImageFilesystem.open(img);
    let resolved = 0;
    for (const p of paths.flatMap((p) => [`/${p}`, `/${p}/${pick(names)}1`, `/${p}/a0/lib3`])) {
      const want = byDefinition(fs, p);
      let got: string | undefined | "loop";
      try {
        got = fs.realpath(p);
      } catch {
        got = "loop";
      }
      expect(got, p).toBe(want);
      resolved += typeof want === "string" ? 1 : 0;
    }
    expect(resolved).toBeGreaterThan(150);
  });
});
