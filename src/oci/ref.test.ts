import { describe, expect, it } from "vitest";
import { OciError } from "../core/errors.js";
import { familiarImageRef, formatImageRef, isLoopbackHost, parseImageRef } from "./ref.js";

const D = `sha256:${"f".repeat(64)}`;

// Cases follow the behaviour of github.com/distribution/reference (ParseNormalizedNamed +
// TagNameOnly): default domain docker.io, library/ for single-component names, latest tag.
describe("parseImageRef", () => {
  it.each([
    ["myapp:1.0.0", "docker.io/library/myapp:1.0.0"],
    ["alpine", "docker.io/library/alpine:latest"],
    ["test_com", "docker.io/library/test_com:latest"],
    ["test.com:tag", "docker.io/library/test.com:tag"],
    ["test.com:5000", "docker.io/library/test.com:5000"],
    ["test.com/repo:tag", "test.com/repo:tag"],
    ["test:5000/repo", "test:5000/repo:latest"],
    ["test:5000/repo:tag", "test:5000/repo:tag"],
    [`test:5000/repo@${D}`, `test:5000/repo@${D}`],
    [`test:5000/repo:tag@${D}`, `test:5000/repo:tag@${D}`],
    [`localhost:5000/team/app@${D}`, `localhost:5000/team/app@${D}`],
    ["lowercase:Uppercase", "docker.io/library/lowercase:Uppercase"],
    ["foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"],
    ["foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080"],
    ["192.168.1.1/repo", "192.168.1.1/repo:latest"],
    ["192.168.1.1:5000/repo", "192.168.1.1:5000/repo:latest"],
    ["[2001:db8::1]/repo", "[2001:db8::1]/repo:latest"],
    ["[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000/repo:tag"],
    ["localhost/repo", "localhost/repo:latest"],
    ["index.docker.io/library/alpine", "docker.io/library/alpine:latest"],
    ["docker.io/alpine", "docker.io/library/alpine:latest"],
    ["docker.io/team/app:v1", "docker.io/team/app:v1"],
    ["Uppercase/lowercase:tag", "Uppercase/lowercase:tag"],
    ["a/b__c/d-e.f/g---h:1", "docker.io/a/b__c/d-e.f/g---h:1"],
  ])("normalises %s", (input, expected) => {
    expect(formatImageRef(parseImageRef(input))).toBe(expected);
  });

  it.each([
    [""],
    [":justtag"],
    [`@${D}`],
    ["repo@sha256:ffffffff"],
    ["validname@invaliddigest:ffff"],
    ["Uppercase:tag"],
    ["test:5000/Uppercase/lowercase:tag"],
    ["aa/asdf$$^/aa"],
    [`${"a/".repeat(128)}a:tag`],
    ["-foo"],
    ["foo-"],
    ["a//b"],
    ["repo:-tag"],
    [`repo:${"t".repeat(129)}`],
    ["a:b:c"],
  ])("rejects %j with OCI_INVALID_REFERENCE", (input) => {
    try {
      parseImageRef(input);
      expect.unreachable(`parsed ${input}`);
    } catch (e) {
      expect(e).toBeInstanceOf(OciError);
      expect((e as OciError).code).toBe("OCI_INVALID_REFERENCE");
    }
  });

  it("separates tag and digest and leaves no default tag when a digest is given", () => {
    const r = parseImageRef(`localhost:5000/team/app@${D}`);
    expect(r).toEqual({ domain: "localhost:5000", path: "team/app", digest: D });
  });

  it("gives Docker's familiar form", () => {
    expect(familiarImageRef(parseImageRef("docker.io/library/alpine:3"))).toBe("alpine:3");
    expect(familiarImageRef(parseImageRef("docker.io/team/app:3"))).toBe("team/app:3");
    expect(familiarImageRef(parseImageRef("ghcr.io/o/i:3"))).toBe("ghcr.io/o/i:3");
  });

  it("knows loopback hosts", () => {
    expect(isLoopbackHost("localhost:5000")).toBe(true);
    expect(isLoopbackHost("127.0.0.1:5000")).toBe(true);
    expect(isLoopbackHost("[::1]:5000")).toBe(true);
    expect(isLoopbackHost("registry.example:5000")).toBe(false);
    expect(isLoopbackHost("10.0.0.1")).toBe(false);
  });
});
