import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fetchDebs } from "./debs.js";

const CACHE = resolve(import.meta.dirname, "../../.cache");

/** The Go toolchain from Debian's golang-1.19-go and -src packages, unpacked once. */
export function goToolchain(): { go: string; goroot: string } {
  const root = join(CACHE, "go-toolchain");
  const goroot = join(root, "usr/lib/go-1.19");
  if (
    !existsSync(join(goroot, "bin/go")) ||
    !existsSync(join(root, "usr/share/go-1.19/src/runtime"))
  ) {
    mkdirSync(root, { recursive: true });
    for (const deb of fetchDebs(["golang-1.19-go", "golang-1.19-src"])) {
      execFileSync("dpkg-deb", ["-x", deb, root]);
    }
  }
  return { go: join(goroot, "bin/go"), goroot };
}

/** `go version -m FILE` output. */
export function goVersionM(file: string): string {
  const { go, goroot } = goToolchain();
  return execFileSync(go, ["version", "-m", file], {
    encoding: "utf8",
    env: { ...process.env, GOROOT: goroot },
  });
}

/**
 * Builds a module-mode Go program offline with the Debian toolchain: module example.com/hello,
 * in a git repository (so the build records vcs settings), requiring example.com/greet v1.2.3
 * replaced by a local directory. Cached.
 */
export function buildGoModuleBinary(): string {
  const dir = join(CACHE, "go-fixture");
  const bin = join(dir, "hello.bin");
  if (existsSync(bin)) {
    return bin;
  }
  const { go, goroot } = goToolchain();
  mkdirSync(join(dir, "greet"), { recursive: true });
  mkdirSync(join(dir, "hello"), { recursive: true });
  writeFileSync(join(dir, "greet/go.mod"), "module example.com/greet\n\ngo 1.19\n");
  writeFileSync(
    join(dir, "greet/greet.go"),
    'package greet\n\nfunc Hello() string { return "hello" }\n',
  );
  writeFileSync(
    join(dir, "hello/go.mod"),
    "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n\nreplace example.com/greet => ../greet\n",
  );
  writeFileSync(
    join(dir, "hello/main.go"),
    'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n',
  );
  const git = (...a: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", ...a], {
      cwd: join(dir, "hello"),
      stdio: "ignore",
    });
  git("init", "-q");
  git("add", ".");
  git("commit", "-qm", "hello");
  const env = {
    ...process.env,
    GOROOT: goroot,
    GOPATH: join(dir, "gopath"),
    GOCACHE: join(dir, "gocache"),
    GOFLAGS: "-mod=mod",
    GOPROXY: "off",
    GOTOOLCHAIN: "local",
    CGO_ENABLED: "0",
  };
  execFileSync(go, ["build", "-o", bin, "."], { cwd: join(dir, "hello"), env, stdio: "pipe" });
  return bin;
}
