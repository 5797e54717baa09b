import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fetchDebs } from "./debs.js";

const CACHE = resolve(import.meta.dirname, "../../.cache");

/** The Go toolchain from Debian's golang-1.19-go and -src packages, unpacked once. */
export function goToolchain(): { go: string; goroot: string } {
  const root = buildOnce(join(CACHE, "go-toolchain"), (tmp) => {
    for (const deb of fetchDebs(["golang-1.19-go", "golang-1.19-src"])) {
      execFileSync("dpkg-deb", ["-x", deb, tmp]);
    }
  });
  const goroot = join(root, "usr/lib/go-1.19");
  return { go: join(goroot, "bin/go"), goroot };
}

/**
 * Makes a cached directory exactly once, even when several test files (separate processes) ask
 * at the same time: each builds in its own temporary directory and renames it into place; the
 * first rename wins and the others drop their copy.
 */
export function buildOnce(dir: string, build: (tmp: string) => void): string {
  if (existsSync(dir)) {
    return dir;
  }
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    build(tmp);
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) {
      throw e;
    }
  }
  return dir;
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
  const { go, goroot } = goToolchain();
  const dir = buildOnce(join(CACHE, "go-fixture"), (tmp) => {
    mkdirSync(join(tmp, "greet"), { recursive: true });
    mkdirSync(join(tmp, "hello"), { recursive: true });
    writeFileSync(join(tmp, "greet/go.mod"), "module example.com/greet\n\ngo 1.19\n");
    writeFileSync(
      join(tmp, "greet/greet.go"),
      'package greet\n\nfunc Hello() string { return "hello" }\n',
    );
    writeFileSync(
      join(tmp, "hello/go.mod"),
      "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n\nreplace example.com/greet => ../greet\n",
    );
    writeFileSync(
      join(tmp, "hello/main.go"),
      'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n',
    );
    const git = (...a: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", ...a], {
        cwd: join(tmp, "hello"),
        stdio: "ignore",
      });
    git("init", "-q");
    git("add", ".");
    git("commit", "-qm", "hello");
    const env = {
      ...process.env,
      GOROOT: goroot,
      GOPATH: join(tmp, "gopath"),
      GOCACHE: join(tmp, "gocache"),
      GOFLAGS: "-mod=mod",
      GOPROXY: "off",
      GOTOOLCHAIN: "local",
      CGO_ENABLED: "0",
    };
    execFileSync(go, ["build", "-o", join(tmp, "hello.bin"), "."], {
      cwd: join(tmp, "hello"),
      env,
      stdio: "pipe",
    });
  });
  return join(dir, "hello.bin");
}
