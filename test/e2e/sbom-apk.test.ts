import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, generateSbom } from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";

// syft's record of a real alpine:3.14 image (../shared/corpus/sboms/syft/alpine-syft.json) keeps
// every field of each package's apk database entry; the database is written back from it in
// apk's own format, and cleanimg must find what syft found there.
const SYFT = resolve(import.meta.dirname, "../../../shared/corpus/sboms/syft/alpine-syft.json");

interface ApkMeta {
  package: string;
  originPackage: string;
  maintainer: string;
  version: string;
  license: string;
  architecture: string;
  url: string;
  description: string;
  size: number;
  installedSize: number;
  pullDependencies: string;
  pullChecksum: string;
  gitCommitOfApkPort: string;
  files: { path: string; digest?: { algorithm: string; value: string } }[];
}

function installedDb(metas: ApkMeta[]): string {
  return metas
    .map((m) => {
      const lines = [
        `C:${m.pullChecksum}`,
        `P:${m.package}`,
        `V:${m.version}`,
        `A:${m.architecture}`,
        `S:${m.size}`,
        `I:${m.installedSize}`,
        `T:${m.description}`,
        `U:${m.url}`,
        `L:${m.license}`,
        `o:${m.originPackage}`,
        `m:${m.maintainer}`,
        `c:${m.gitCommitOfApkPort}`,
      ];
      if (m.pullDependencies) {
        lines.push(`D:${m.pullDependencies}`);
      }
      let dir: string | undefined;
      for (const f of m.files) {
        const p = f.path.replace(/^\//, "");
        const slash = p.lastIndexOf("/");
        const parent = slash < 0 ? "" : p.slice(0, slash);
        if (!f.digest && m.files.some((g) => g.path.startsWith(`${f.path}/`))) {
          lines.push(`F:${p}`);
          dir = p;
          continue;
        }
        if (parent !== dir) {
          lines.push(`F:${parent}`);
          dir = parent;
        }
        lines.push(`R:${p.slice(slash + 1)}`);
      }
      return `${lines.join("\n")}\n`;
    })
    .join("\n");
}

describe("apk database", () => {
  it("finds the packages syft found in a real alpine:3.14 image, with origins, licenses and files", async () => {
    const doc = JSON.parse(readFileSync(SYFT, "utf8")) as {
      artifacts: { name: string; version: string; type: string; metadata: ApkMeta }[];
    };
    const apks = doc.artifacts.filter((a) => a.type === "apk");
    const root = join(tempDir(), "rootfs");
    mkdirSync(join(root, "lib/apk/db"), { recursive: true });
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(join(root, "lib/apk/db/installed"), installedDb(apks.map((a) => a.metadata)));
    writeFileSync(
      join(root, "etc/os-release"),
      'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.14.2\n',
    );
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const r = await generateSbom(ctx, `dir:${root}`, { record: false, created: new Date(0) });
    await ctx.close();
    const got = r.sbom.packages.filter((p) => p.type === "apk");
    expect(new Set(got.map((p) => `${p.name} ${p.version}`))).toEqual(
      new Set(apks.map((a) => `${a.name} ${a.version}`)),
    );
    const ssl = got.find((p) => p.name === "libssl1.1");
    expect(ssl?.source?.name).toBe("openssl");
    expect(ssl?.purl).toMatch(
      /^pkg:apk\/alpine\/libssl1.1@[^?]+\?arch=x86_64&distro=alpine-3.14.2&upstream=openssl$/,
    );
    const busybox = got.find((p) => p.name === "busybox");
    expect(busybox?.license).toBe("GPL-2.0-only");
    expect(busybox?.files.map((f) => f.path)).toContain("/bin/busybox");
  });
});
