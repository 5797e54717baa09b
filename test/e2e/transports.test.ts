import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  copyImageBetween,
  createAppContext,
  inspectImage,
  listImageFiles,
} from "../../src/app/index.js";
import { OciError } from "../../src/core/errors.js";
import { DirectoryFiles, LayoutSource, parsePlatform, resolveImage } from "../../src/oci/index.js";
import { buildImageLayout, buildMultiPlatformLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { expectToolError } from "../support/errors.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { tempDir } from "../support/tmp.js";

function blobs(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(join(dir, "blobs/sha256")).sort()) {
    out[f] = readFileSync(join(dir, "blobs/sha256", f)).toString("base64");
  }
  return out;
}

function rootDigest(dir: string, tag: string): string {
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  return index.manifests.find(
    (m: { annotations?: Record<string, string> }) =>
      m.annotations?.["org.opencontainers.image.ref.name"] === tag,
  ).digest;
}

describe("image transports", () => {
  let registry: TestRegistry;
  let debImage: string;
  let multi: string;
  let multiDigests: { indexDigest: string; manifests: Record<string, string> };
  const ctx = () => createAppContext({ home: tempDir("cleanimg-home-"), insecure: true, env: {} });

  beforeAll(async () => {
    registry = await startRegistry("none");
    debImage = join(tempDir(), "deb");
    await buildImageLayout({
      dir: debImage,
      tag: "1.0",
      layers: [
        { kind: "debs", debs: fetchDebs(["base-files", "busybox-static"]) },
        { kind: "debs", debs: fetchDebs(["zlib1g"]), dpkgStatus: false },
      ],
    });
    multi = join(tempDir(), "multi");
    multiDigests = await buildMultiPlatformLayout({
      dir: multi,
      tag: "multi",
      nested: true,
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64", variant: "v8" },
      ],
    });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("round-trips layout -> registry -> oci-archive -> layout byte for byte (nested multi-platform index)", async () => {
    const c = ctx();
    const archive = join(tempDir(), "multi.tar");
    const back = join(tempDir(), "back");
    const pushed = await copyImageBetween(
      c,
      `oci:${multi}:multi`,
      `docker://${registry.host}/team/multi:1`,
    );
    expect(pushed.digest).toBe(multiDigests.indexDigest);
    await copyImageBetween(
      c,
      `docker://${registry.host}/team/multi:1`,
      `oci-archive:${archive}:multi`,
    );
    await copyImageBetween(c, `oci-archive:${archive}:multi`, `oci:${back}:multi`);
    expect(blobs(back)).toEqual(blobs(multi));
    expect(rootDigest(back, "multi")).toBe(multiDigests.indexDigest);
    await c.close();
  });

  it("selects a platform from a nested index, and names the choices when it cannot", async () => {
    const c = ctx();
    const arm = await inspectImage(c, `oci:${multi}:multi`, {
      platform: parsePlatform("linux/arm64"),
      record: false,
    });
    expect(arm.manifest.digest).toBe(multiDigests.manifests["linux/arm64/v8"]);
    expect(arm.index?.digest).toBe(multiDigests.indexDigest);
    const e = await expectToolError(
      inspectImage(c, `oci:${multi}:multi`, {
        platform: parsePlatform("linux/s390x"),
        record: false,
      }),
      "OCI_PLATFORM_NOT_FOUND",
      OciError,
    );
    expect(e.hint).toContain("linux/arm64/v8");
    await c.close();
  });

  it("copies one platform out of an index with --platform", async () => {
    const c = ctx();
    const out = join(tempDir(), "one");
    const r = await copyImageBetween(c, `oci:${multi}:multi`, `oci:${out}:amd`, {
      platform: parsePlatform("linux/amd64"),
    });
    expect(r.digest).toBe(multiDigests.manifests["linux/amd64"]);
    expect(rootDigest(out, "amd")).toBe(multiDigests.manifests["linux/amd64"]);
    // only that image's manifest, config and layer were copied
    expect(readdirSync(join(out, "blobs/sha256"))).toHaveLength(3);
    await c.close();
  });

  it("pushes chunked and monolithic uploads, mounts across repositories, and pulls back", async () => {
    const c = ctx();
    const first = await copyImageBetween(
      c,
      `oci:${debImage}:1.0`,
      `docker://${registry.host}/a/deb:1.0`,
    );
    expect(first.blobsCopied).toBe(3);
    const mounted = await copyImageBetween(
      c,
      `docker://${registry.host}/a/deb:1.0`,
      `docker://${registry.host}/b/deb:1.0`,
    );
    expect(mounted.blobsCopied).toBe(0);
    expect(mounted.blobsSkipped).toBe(3);
    const files = await listImageFiles(c, `docker://${registry.host}/b/deb:1.0`, { record: false });
    expect(files.files.some((f) => f.path === "/bin/busybox")).toBe(true);
    await c.close();
  });

  it("uses chunked PATCH uploads for blobs larger than the chunk size", async () => {
    const {
      RegistryClient,
      RegistryDestination,
      LayoutSource: LS,
      copyImage,
      parseImageRef,
    } = await import("../../src/oci/index.js");
    const methods: string[] = [];
    const client = new RegistryClient(parseImageRef(`${registry.host}/chunked/deb:1`), {
      insecure: true,
      chunkSize: 256 * 1024,
      fetch: (url, init) => {
        methods.push(init?.method ?? "GET");
        return fetch(url, init);
      },
    });
    await copyImage(new LS(new DirectoryFiles(debImage), "1.0"), new RegistryDestination(client));
    expect(methods.filter((m) => m === "PATCH").length).toBeGreaterThan(1);
    const raw = execFileSync("skopeo", [
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${registry.host}/chunked/deb:1`,
    ]);
    expect(
      raw.equals(
        readFileSync(join(debImage, "blobs/sha256", rootDigest(debImage, "1.0").slice(7))),
      ),
    ).toBe(true);
  });

  it("keeps config digest and diff ids through docker-archive, which skopeo reads", async () => {
    const c = ctx();
    const tar = join(tempDir(), "docker.tar");
    await copyImageBetween(c, `oci:${debImage}:1.0`, `docker-archive:${tar}:myapp:1.0.0`);
    const src = await resolveImage(new LayoutSource(new DirectoryFiles(debImage), "1.0"));
    const ours = await inspectImage(c, `docker-archive:${tar}`, { record: false });
    expect(ours.config.digest).toBe(src.manifest.config.digest);
    expect(ours.layers.map((l) => l.diffId)).toEqual(src.layers.map((l) => l.diffId));
    const skopeo = JSON.parse(
      execFileSync("skopeo", ["inspect", "--config", `docker-archive:${tar}`]).toString(),
    );
    expect(skopeo.rootfs.diff_ids).toEqual(src.layers.map((l) => l.diffId));
    // and back into a layout, readable with the same merged view
    const back = join(tempDir(), "from-docker");
    await copyImageBetween(c, `docker-archive:${tar}:myapp:1.0.0`, `oci:${back}:x`);
    const a = (await listImageFiles(c, `oci:${back}:x`, { record: false })).files.map((f) => [
      f.path,
      f.size,
    ]);
    const b = (await listImageFiles(c, `oci:${debImage}:1.0`, { record: false })).files.map((f) => [
      f.path,
      f.size,
    ]);
    expect(a).toEqual(b);
    // written into a pipe (as to /dev/stdout), the archive streams through and the pipe stays one
    const fifo = join(tempDir(), "pipe");
    execFileSync("mkfifo", [fifo]);
    const piped = join(tempDir(), "piped.tar");
    const reader = new Promise<void>((done) => {
      createReadStream(fifo)
        .pipe(createWriteStream(piped))
        .on("finish", () => done());
    });
    await copyImageBetween(c, `oci:${debImage}:1.0`, `docker-archive:${fifo}:myapp:1.0.0`);
    await reader;
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readFileSync(piped)).toEqual(readFileSync(tar));
    await c.close();
  });

  it("reads what skopeo writes: oci layout, oci-archive and docker-archive", async () => {
    const c = ctx();
    const d = tempDir();
    execFileSync("skopeo", ["copy", "-q", `oci:${debImage}:1.0`, `oci:${d}/layout:s`]);
    execFileSync("skopeo", ["copy", "-q", `oci:${debImage}:1.0`, `oci-archive:${d}/a.tar:s`]);
    execFileSync("skopeo", [
      "copy",
      "-q",
      `oci:${debImage}:1.0`,
      `docker-archive:${d}/d.tar:skopeo/img:s`,
    ]);
    const want = (await listImageFiles(c, `oci:${debImage}:1.0`, { record: false })).files.length;
    for (const loc of [
      `oci:${d}/layout:s`,
      `oci-archive:${d}/a.tar:s`,
      `docker-archive:${d}/d.tar`,
    ]) {
      const r = await listImageFiles(c, loc, { record: false });
      expect(r.files.length).toBe(want);
    }
    await c.close();
  });

  it("writes layouts and archives that skopeo and umoci read", async () => {
    const c = ctx();
    const d = tempDir();
    await copyImageBetween(c, `oci:${debImage}:1.0`, `oci:${d}/ours:v1`);
    await copyImageBetween(c, `oci:${debImage}:1.0`, `oci-archive:${d}/ours.tar:v1`);
    const raw = execFileSync("skopeo", ["inspect", "--raw", `oci:${d}/ours:v1`]);
    expect(
      raw.equals(
        readFileSync(join(debImage, "blobs/sha256", rootDigest(debImage, "1.0").slice(7))),
      ),
    ).toBe(true);
    execFileSync("skopeo", ["copy", "-q", `oci-archive:${d}/ours.tar:v1`, `oci:${d}/viaskopeo:v1`]);
    expect(rootDigest(`${d}/viaskopeo`, "v1")).toBe(rootDigest(debImage, "1.0"));
    execFileSync("umoci", ["unpack", "--rootless", "--image", `${d}/ours:v1`, `${d}/bundle`], {
      stdio: "pipe",
    });
    expect(readFileSync(join(d, "bundle/rootfs/bin/busybox")).length).toBeGreaterThan(1_000_000);
  });

  it("reads layouts umoci writes, including its whiteouts", async () => {
    const c = ctx();
    const d = tempDir();
    execFileSync("umoci", ["init", "--layout", `${d}/u`]);
    execFileSync("umoci", ["new", "--image", `${d}/u:base`]);
    execFileSync("umoci", ["unpack", "--rootless", "--image", `${d}/u:base`, `${d}/b`], {
      stdio: "pipe",
    });
    execFileSync("sh", [
      "-c",
      `mkdir -p ${d}/b/rootfs/etc && echo hello > ${d}/b/rootfs/etc/greeting && echo bye > ${d}/b/rootfs/etc/gone`,
    ]);
    execFileSync("umoci", ["repack", "--image", `${d}/u:base`, `${d}/b`], { stdio: "pipe" });
    execFileSync("sh", ["-c", `rm ${d}/b/rootfs/etc/gone`]);
    execFileSync("umoci", ["repack", "--image", `${d}/u:base`, `${d}/b`], { stdio: "pipe" });
    const r = await listImageFiles(c, `oci:${d}/u:base`, { record: false });
    const paths = r.files.map((f) => f.path);
    expect(paths).toContain("/etc/greeting");
    expect(paths).not.toContain("/etc/gone");
    await c.close();
  });

  it("refuses plain HTTP to a registry that is not on loopback", async () => {
    const c = ctx();
    await expectToolError(
      inspectImage(c, "docker://registry.example.com/app:1", { record: false }),
      "OCI_INSECURE_REFUSED",
      OciError,
    );
    await c.close();
  });
});

describe("registry authentication", () => {
  for (const mode of ["htpasswd", "token"] as const) {
    it(`pushes and pulls with ${mode === "htpasswd" ? "Basic" : "Bearer token"} authentication from the Docker config file`, async () => {
      const reg = await startRegistry(mode);
      try {
        const layout = join(tempDir(), "img");
        await buildImageLayout({
          dir: layout,
          tag: "t",
          layers: [{ kind: "files", files: [{ name: "f", type: "file", body: "x" }] }],
        });
        const anon = createAppContext({
          home: tempDir(),
          insecure: true,
          env: { DOCKER_CONFIG: tempDir() },
        });
        await expectToolError(
          copyImageBetween(anon, `oci:${layout}:t`, `docker://${reg.host}/sec/img:1`),
          "OCI_UNAUTHORIZED",
          OciError,
        );
        const c = createAppContext({
          home: tempDir(),
          insecure: true,
          env: { DOCKER_CONFIG: reg.dockerConfig },
        });
        const r = await copyImageBetween(c, `oci:${layout}:t`, `docker://${reg.host}/sec/img:1`);
        const got = await inspectImage(c, `docker://${reg.host}/sec/img:1`, { record: false });
        expect(got.manifest.digest).toBe(r.digest);
        if (mode === "token") {
          // the token service saw a push scope for the repository, with the account from the config
          const pushScopes = reg.tokenRequests.filter((t) => {
            const [type, name, actions] = (t.scope ?? "").split(":");
            return (
              type === "repository" &&
              name === "sec/img" &&
              (actions ?? "").split(",").includes("push")
            );
          });
          expect(pushScopes.length).toBeGreaterThan(0);
          expect(pushScopes.every((t) => t.account === reg.username)).toBe(true);
        }
        await c.close();
      } finally {
        await reg.stop();
      }
    });
  }
});
