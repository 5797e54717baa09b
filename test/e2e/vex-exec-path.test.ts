import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  createAppContext,
  importVulnData,
  type ScanResult,
  scan,
} from "../../src/app/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { retargetedAdvisories } from "../support/retarget.js";
import { tempDir } from "../support/tmp.js";

/** Resolves symbolic links of `p` inside `root` (absolute links point into the root). */
function realpathIn(root: string, p: string): string {
  const parts = p.split("/").filter(Boolean);
  let cur = "";
  for (let i = 0, hops = 0; i < parts.length; i++) {
    const next = `${cur}/${parts[i]}`;
    const st = lstatSync(join(root, next));
    if (st.isSymbolicLink()) {
      if (++hops > 40) {
        throw new Error(`symlink loop at ${next}`);
      }
      const target = readlinkSync(join(root, next));
      const rest = parts.slice(i + 1);
      parts.splice(
        0,
        parts.length,
        ...(target.startsWith("/") ? [] : cur.split("/").filter(Boolean)),
        ...target.split("/").filter(Boolean),
        ...rest,
      );
      cur = "";
      i = -1;
      continue;
    }
    cur = next;
  }
  return posix.normalize(cur);
}

/**
 * vulnerable_code_not_in_execute_path on real Debian packages: zlib1g (with the real DSA-740-1
 * re-targeted at Debian 12, see test/support/retarget.ts) in images whose entrypoints load it or
 * not. The closure cleanimg computes is checked against the real dynamic loader's
 * (`ld.so --list` run in the image's root filesystem).
 */
describe("VEX: vulnerable code not in the entrypoint's execute path", () => {
  let ctx: AppContext;
  let debs: string[];
  const images = new Map<string, { layout: string; result: ScanResult }>();

  const build = async (
    tag: string,
    entrypoint: string[],
    files: { name: string; body: string }[] = [],
  ) => {
    const layout = join(tempDir(), tag);
    await buildImageLayout({
      dir: layout,
      tag,
      layers: [
        { kind: "debs", debs },
        {
          kind: "files",
          files: [
            { name: "app/", type: "dir" },
            ...files.map((f) => ({ ...f, type: "file" as const, mode: 0o755 })),
          ],
        },
      ],
      config: { config: { Entrypoint: entrypoint, Env: ["PATH=/usr/local/bin:/usr/bin:/bin"] } },
    });
    images.set(tag, {
      layout,
      result: await scan(ctx, `oci:${layout}:${tag}`, { created: new Date(0) }),
    });
  };

  beforeAll(async () => {
    ctx = createAppContext({ home: tempDir("cleanimg-vex-exec-"), env: {} });
    await importVulnData(ctx, [retargetedAdvisories()]);
    debs = fetchDebs([
      "base-files",
      "libc6",
      "libgcc-s1",
      "gcc-12-base",
      "hello",
      "zlib1g",
      "pigz",
      "dash",
      "python3.11-minimal",
      "libpython3.11-minimal",
      "libexpat1",
    ]);
    await build("hello", ["/usr/bin/hello"]);
    await build("hello-by-path", ["hello"]);
    await build("pigz", ["/usr/bin/pigz"]);
    // a script that starts Python, which loads zlib: only following the script would show it
    await build(
      "script",
      ["/app/run"],
      [
        {
          name: "app/run",
          body: "#!/bin/sh\nexec python3.11 -c 'import zlib; print(zlib.ZLIB_VERSION)'\n",
        },
      ],
    );
    await build("python", ["/usr/bin/python3.11"]);
    await build("missing", ["/usr/bin/nothing-here"]);
  }, 300_000);

  const zlib = (tag: string) => {
    const r = images.get(tag)?.result as ScanResult;
    const s = r.vex.filter((v) => v.subcomponent.name === "zlib1g");
    expect(s.length).toBeGreaterThan(0);
    return s;
  };

  /** The real loader's closure, run inside the image's root filesystem. */
  const ldList = (tag: string, program: string): string[] => {
    const bundle = join(tempDir("cleanimg-ld-"), "b");
    mkdirSync(bundle, { recursive: true });
    execFileSync(
      "umoci",
      ["unpack", "--rootless", "--image", `${images.get(tag)?.layout}:${tag}`, join(bundle, "x")],
      {
        stdio: "pipe",
      },
    );
    const rootfs = join(bundle, "x", "rootfs");
    const out = execFileSync(
      "unshare",
      ["--map-root-user", "chroot", rootfs, "/lib64/ld-linux-x86-64.so.2", "--list", program],
      { encoding: "utf8" },
    );
    const paths = [...out.matchAll(/(?:=>\s*)?(\/\S+) \(0x/g)].map((m) => m[1] as string);
    return [...new Set([program, ...paths].map((p) => realpathIn(rootfs, p)))].sort();
  };

  it("says not_affected, with the closure as evidence, when the entrypoint cannot load the library", () => {
    for (const tag of ["hello", "hello-by-path"]) {
      const [s] = zlib(tag);
      expect(s?.status, tag).toBe("not_affected");
      expect(s?.justification).toBe("vulnerable_code_not_in_execute_path");
      expect(s?.evidence?.analysis).toBe("not-in-execute-path@1");
      expect(s?.impact).toMatch(
        /^The image starts \/usr\/bin\/hello; the dynamic loader loads 3 objects/,
      );
      expect(s?.impact).toMatch(/Limits: this covers the entrypoint's process only/);
      expect(s?.evidence?.files.map((f) => f.path)).toContain("/lib/x86_64-linux-gnu/libc.so.6");
    }
  });

  it("computes the same closure as the real dynamic loader", () => {
    const closure = images.get("hello")?.result.sbom.runtime?.closure;
    expect(closure?.status).toBe("complete");
    expect(closure?.objects.map((o) => o.path).sort()).toEqual(ldList("hello", "/usr/bin/hello"));
    const pigz = images.get("pigz")?.result.sbom.runtime?.closure;
    expect(pigz?.objects.map((o) => o.path).sort()).toEqual(ldList("pigz", "/usr/bin/pigz"));
    expect(pigz?.objects.map((o) => o.path)).toContain("/lib/x86_64-linux-gnu/libz.so.1.2.13");
  });

  it("stays affected when the entrypoint links the library", () => {
    expect(zlib("pigz").map((s) => s.status)).toEqual(["affected"]);
  });

  it("gives no verdict for a script entrypoint, whose interpreter starts a program that loads the library", () => {
    expect(images.get("script")?.result.sbom.runtime?.closure?.status).toBe("script");
    expect(zlib("script").map((s) => s.status)).toEqual(["affected"]);
  });

  it("gives no verdict when the entrypoint can dlopen or start other programs", () => {
    const c = images.get("python")?.result.sbom.runtime?.closure;
    expect(c?.status).toBe("incomplete");
    expect(c?.reason).toMatch(
      /^\/usr\/bin\/python3\.11 imports [^:]*\bdlopen\b.*: it may load code/,
    );
    expect(c?.objects.flatMap((o) => o.imports)).toContain("dlopen");
    expect(zlib("python").map((s) => s.status)).toEqual(["affected"]);
  });

  it("gives no verdict when the entrypoint is not in the image", () => {
    expect(images.get("missing")?.result.sbom.runtime?.closure?.status).toBe("missing");
    expect(zlib("missing").map((s) => s.status)).toEqual(["affected"]);
  });
});
