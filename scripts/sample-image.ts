// Builds the sample image of the main job from Debian packages installed on this machine:
// their files (from /var/lib/dpkg/info/*.list), their dpkg status stanzas and file lists.
// Fully offline; the result is an OCI image layout with one layer per package group.
import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { TarWriter } from "../src/oci/index.js";
import { buildImageLayout, MemoryWritable } from "../test/support/build-image.js";

const GROUPS = [
  ["base-files", "libc6", "zlib1g"],
  ["bash", "libssl3", "ca-certificates"],
];

const out = process.argv[2];
if (!out) {
  process.stderr.write("usage: sample-image.ts OUTPUT_LAYOUT_DIR\n");
  process.exit(2);
}

function infoFile(pkg: string, ext: string): string | undefined {
  for (const name of [`${pkg}.${ext}`, `${pkg}:amd64.${ext}`, `${pkg}:arm64.${ext}`]) {
    const p = join("/var/lib/dpkg/info", name);
    if (existsSync(p)) {
      return p;
    }
  }
  return undefined;
}

function statusStanza(pkg: string): string | undefined {
  const status = readFileSync("/var/lib/dpkg/status", "utf8");
  return status.split("\n\n").find((s) => s.startsWith(`Package: ${pkg}\n`));
}

const tars: Buffer[] = [];
const used: string[] = [];
for (const group of GROUPS) {
  const pkgs = group.filter((p) => infoFile(p, "list") && statusStanza(p));
  if (pkgs.length === 0) {
    continue;
  }
  used.push(...pkgs);
  const paths = new Set<string>();
  for (const p of pkgs) {
    for (const line of readFileSync(infoFile(p, "list") as string, "utf8").split("\n")) {
      if (line && line !== "/." && existsSync(line)) {
        paths.add(line);
      }
    }
  }
  const sink = new MemoryWritable();
  const w = new TarWriter(sink as never);
  const dpkgDirs = ["/var", "/var/lib", "/var/lib/dpkg", "/var/lib/dpkg/info"];
  for (const path of [...new Set([...paths, ...dpkgDirs])].sort()) {
    const st = lstatSync(path);
    const name = `.${path}${st.isDirectory() ? "/" : ""}`;
    const base = {
      name,
      mode: st.mode & 0o7777,
      uid: 0,
      gid: 0,
      mtime: Math.floor(st.mtimeMs / 1000),
    };
    if (st.isDirectory()) {
      await w.add({ ...base, type: "dir" });
    } else if (st.isSymbolicLink()) {
      await w.add({ ...base, type: "symlink", linkname: readlinkSync(path) });
    } else if (st.isFile()) {
      await w.add({ ...base, type: "file" }, readFileSync(path));
    }
  }
  const status = `${pkgs.map((p) => statusStanza(p)).join("\n\n")}\n`;
  await w.add({ name: "./var/lib/dpkg/status.d/", type: "dir", mode: 0o755 });
  await w.add(
    { name: `./var/lib/dpkg/status.d/${pkgs[0]}-group`, type: "file", mode: 0o644 },
    Buffer.from(status),
  );
  for (const p of pkgs) {
    for (const ext of ["list", "md5sums"]) {
      const f = infoFile(p, ext);
      if (f) {
        await w.add(
          { name: `./var/lib/dpkg/info/${f.split("/").pop()}`, type: "file", mode: 0o644 },
          readFileSync(f),
        );
      }
    }
  }
  await w.finish();
  tars.push(sink.bytes());
}

const built = await buildImageLayout({
  dir: out,
  tag: "sample",
  layers: tars.map((tar) => ({ kind: "raw" as const, tar })),
  platform: { os: "linux", architecture: process.arch === "arm64" ? "arm64" : "amd64" },
  config: {
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/bash"],
    },
    history: GROUPS.slice(0, tars.length).map((g) => ({
      created_by: `dpkg packages: ${g.join(" ")}`,
    })),
  },
});
process.stdout.write(
  `sample image ${built.manifestDigest} from installed packages: ${used.join(", ")}\n`,
);
