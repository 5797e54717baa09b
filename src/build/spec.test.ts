import { describe, expect, it } from "vitest";
import { parseRelations } from "./resolve.js";
import { parseSpec } from "./spec.js";

const ok = `version: 1
image: app:1.0.0
packages:
  - hello
  - name: ca-certificates
    version: "20230311"
files:
  - src: bin/
    dst: /app/
    mode: "0755"
    owner: "65532:65532"
env: [LANG=C.UTF-8]
ports: ["8080", 53/udp]
entrypoint: ["/app/run"]
`;

describe("build spec", () => {
  it("reads a complete spec with defaults for the archive", () => {
    const s = parseSpec(ok, "cleanimg.yaml");
    expect(s.base).toBe("scratch");
    expect(s.archive.suite).toBe("bookworm");
    expect(s.packages).toEqual([
      { name: "hello" },
      { name: "ca-certificates", version: "20230311" },
    ]);
    expect(s.files).toEqual([{ src: "bin/", dst: "/app/", mode: 0o755, uid: 65532, gid: 65532 }]);
    expect(s.ports).toEqual(["8080/tcp", "53/udp"]);
    expect(s.env).toEqual(["LANG=C.UTF-8"]);
  });

  it.each([
    ["pakages:\n  - hello\n", /cleanimg.yaml:1:1: unknown field "pakages"/],
    ["base: debian:12\n", /not pinned by digest/],
    ["packages: hello\n", /cleanimg.yaml:1:11: packages must be a list/],
    ["packages:\n  - Hello World\n", /is not a Debian package name/],
    ["files:\n  - src: ../etc/passwd\n    dst: /x\n", /leaves the build context/],
    ["files:\n  - src: a\n    dst: relative\n", /must be an absolute path/],
    [
      "files:\n  - src: a\n    dst: /a\n    mode: rwx\n",
      /cleanimg.yaml:4:11: files\[0\].mode "rwx" is not an octal mode/,
    ],
    ["files:\n  - src: a\n    dst: /a\n    owner: root\n", /is not UID:GID/],
    ["ports: [http]\n", /port "http"/],
    ["version: 2\n", /spec version 2 is not supported/],
    ["packages: [a\n", /not valid YAML/],
    ["image: a\nimage: b\n", /not valid YAML/],
  ])("rejects %j with a located message", (text, message) => {
    expect(() => parseSpec(text, "cleanimg.yaml")).toThrow(message);
  });
});

describe("Debian relations", () => {
  it("reads alternatives, version constraints and architecture qualifiers", () => {
    expect(parseRelations("libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any")).toEqual([
      [{ name: "libc6", op: ">=", version: "2.34" }],
      [{ name: "debconf", op: ">=", version: "0.5" }, { name: "debconf-2.0" }],
      [{ name: "python3" }],
    ]);
  });
});
