// Builds the sample image of the main job from Debian packages installed on this machine:
// their files (from /var/lib/dpkg/info/*.list), their dpkg status stanzas and file lists.
// Fully offline; the result is an OCI image layout with one layer per package group.
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { TarWriter } from "../src/oci/index.js";

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

class Collect {
  chunks: Buffer[] = [];
  write(c: Uint8Array): boolean {
    this.chunks.push(Buffer.from(c));
    return true;
  }
  once(): this {
    return this;
  }
  off(): this {
    return this;
  }
}

const sha = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;
mkdirSync(join(out, "blobs/sha256"), { recursive: true });
const put = (b: Buffer): string => {
  const d = sha(b);
  writeFileSync(join(out, "blobs/sha256", d.slice(7)), b);
  return d;
};

const diffIds: string[] = [];
const layers: { mediaType: string; digest: string; size: number }[] = [];
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
  const sink = new Collect();
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
  const tar = Buffer.concat(sink.chunks);
  diffIds.push(sha(tar));
  const gz = gzipSync(tar);
  layers.push({
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    digest: put(gz),
    size: gz.length,
  });
}

const config = Buffer.from(
  JSON.stringify({
    architecture: process.arch === "arm64" ? "arm64" : "amd64",
    os: "linux",
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/bash"],
    },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: GROUPS.slice(0, layers.length).map((g) => ({
      created_by: `dpkg packages: ${g.join(" ")}`,
    })),
  }),
);
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: put(config),
      size: config.length,
    },
    layers,
  }),
);
const md = put(manifest);
writeFileSync(join(out, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
writeFileSync(
  join(out, "index.json"),
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: md,
        size: manifest.length,
        annotations: { "org.opencontainers.image.ref.name": "sample" },
      },
    ],
  }),
);
process.stdout.write(`sample image ${md} from installed packages: ${used.join(", ")}\n`);
