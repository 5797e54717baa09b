import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseImageLocation } from "./location.js";
import { dockerConfigCredentials, parseChallenge } from "./registry/auth.js";

describe("parseImageLocation", () => {
  it.each([
    ["oci:./img:1.0", { kind: "oci", path: "./img", tag: "1.0" }],
    ["oci:/abs/dir", { kind: "oci", path: "/abs/dir" }],
    ["oci-layout:dir:t", { kind: "oci", path: "dir", tag: "t" }],
    ["oci-archive:img.tar:v1", { kind: "oci-archive", path: "img.tar", tag: "v1" }],
    [
      "docker-archive:img.tar:myapp:1.0",
      { kind: "docker-archive", path: "img.tar", ref: "myapp:1.0" },
    ],
    ["docker-archive:img.tar", { kind: "docker-archive", path: "img.tar" }],
  ])("parses %s", (s, want) => {
    expect(parseImageLocation(s)).toEqual(want);
  });

  it("distinguishes bare references with and without a registry host", () => {
    expect(parseImageLocation("myapp:1.0.0")).toMatchObject({
      kind: "bare",
      explicitRegistry: false,
      ref: { domain: "docker.io", path: "library/myapp", tag: "1.0.0" },
    });
    expect(parseImageLocation("team/app:1")).toMatchObject({
      kind: "bare",
      explicitRegistry: false,
    });
    expect(parseImageLocation("localhost:5000/team/app:1")).toMatchObject({
      kind: "bare",
      explicitRegistry: true,
      ref: { domain: "localhost:5000" },
    });
    expect(parseImageLocation("docker://alpine")).toMatchObject({
      kind: "registry",
      ref: { path: "library/alpine", tag: "latest" },
    });
    expect(parseImageLocation("registry:ghcr.io/o/i:1")).toMatchObject({
      kind: "registry",
      ref: { domain: "ghcr.io" },
    });
    expect(parseImageLocation("local:myapp:1")).toMatchObject({ kind: "local" });
  });

  it("refuses dir: for image commands and empty paths", () => {
    expect(() => parseImageLocation("dir:/rootfs")).toThrowError(/directory, not an image/);
    expect(() => parseImageLocation("oci:")).toThrowError(/names no path/);
  });
});

describe("registry credentials and challenges", () => {
  it("reads auth and username/password entries from a Docker config file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dockercfg-"));
    const p = join(dir, "config.json");
    writeFileSync(
      p,
      JSON.stringify({
        auths: {
          "localhost:5000": { auth: Buffer.from("u1:p:w").toString("base64") },
          "https://registry.example": { username: "u2", password: "p2" },
          "https://index.docker.io/v1/": { auth: Buffer.from("hub:tok").toString("base64") },
        },
      }),
    );
    const lookup = dockerConfigCredentials(p);
    expect(await lookup("localhost:5000")).toEqual({ username: "u1", password: "p:w" });
    expect(await lookup("registry.example")).toEqual({ username: "u2", password: "p2" });
    expect(await lookup("docker.io")).toEqual({ username: "hub", password: "tok" });
    expect(await lookup("other:1")).toBeUndefined();
    expect(await dockerConfigCredentials(join(dir, "missing.json"))("x")).toBeUndefined();
  });

  it("parses Bearer and Basic challenges with quoted parameters", () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: {
        realm: "https://auth.example/token",
        service: "registry.example",
        scope: "repository:a/b:pull,push",
      },
    });
    expect(parseChallenge('Basic realm="x"')).toEqual({ scheme: "basic", params: { realm: "x" } });
  });
});
