import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
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
import { goToolchain } from "../support/go-fixture.js";
import { retargetedAdvisories } from "../support/retarget.js";
import { tempDir } from "../support/tmp.js";

const CACHE = resolve(import.meta.dirname, "../../.cache/exec-path-fixtures");

/** What every fixture program does: start pigz, which links zlib, to compress a file. */
const CHILD = ["/usr/bin/pigz", "-c", "/etc/debian_version"];

/**
 * Builds a program once per source (cached under .cache by the hash of what builds it): each
 * build runs in its own temporary directory and is renamed into place.
 */
function cachedProgram(name: string, key: string, build: (dir: string) => void): string {
  const dir = join(CACHE, `${name}-${createHash("sha256").update(key).digest("hex").slice(0, 16)}`);
  if (!existsSync(dir)) {
    mkdirSync(CACHE, { recursive: true });
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
  }
  return join(dir, "prog");
}

/** A C program (gcc with `flags`) that starts CHILD through `exec`, a C statement. */
function cProgram(name: string, flags: string[], prelude: string, exec: string): string {
  const argv = CHILD.map((a) => JSON.stringify(a)).join(", ");
  const source = `#include <unistd.h>\n#include <sys/syscall.h>\n${prelude}\nint main(void) {\n  char *argv[] = {${argv}, 0};\n  char *envp[] = {0};\n  ${exec}\n  return 127;\n}\n`;
  return cachedProgram(name, JSON.stringify([source, flags]), (dir) => {
    writeFileSync(join(dir, "prog.c"), source);
    execFileSync("gcc", ["-O2", ...flags, "-o", join(dir, "prog"), join(dir, "prog.c")], {
      stdio: "pipe",
    });
  });
}

/** A Go program that starts CHILD with os/exec, built with cgo (dynamically linked) or without. */
function goProgram(name: string, cgo: boolean): string {
  const { go, goroot } = goToolchain();
  const source = `package main\n\nimport (\n${cgo ? '\t"C"\n' : ""}\t"os"\n\t"os/exec"\n)\n\nfunc main() {\n\tc := exec.Command(${CHILD.map((a) => JSON.stringify(a)).join(", ")})\n\tc.Stdin = os.Stdin // (the default, /dev/null, is not in the image)\n\tc.Stdout = os.Stdout\n\tc.Stderr = os.Stderr\n\tif err := c.Run(); err != nil {\n\t\tos.Exit(1)\n\t}\n}\n`;
  return cachedProgram(name, JSON.stringify([source, cgo]), (dir) => {
    writeFileSync(join(dir, "go.mod"), "module example.com/runner\n\ngo 1.19\n");
    writeFileSync(join(dir, "main.go"), source);
    execFileSync(go, ["build", "-o", join(dir, "prog"), "."], {
      cwd: dir,
      stdio: "pipe",
      env: {
        ...process.env,
        GOROOT: goroot,
        GOPATH: join(dir, "gopath"),
        GOCACHE: join(CACHE, "gocache"),
        GOFLAGS: "-mod=mod",
        GOPROXY: "off",
        GOTOOLCHAIN: "local",
        CGO_ENABLED: cgo ? "1" : "0",
        CC: "gcc",
      },
    });
    rmSync(join(dir, "gopath"), { recursive: true, force: true });
  });
}

/**
 * Entrypoints that start a program linking zlib (pigz) without anything in their own load
 * closure showing it: the entrypoint's closure never holds zlib, yet zlib's code runs in a
 * process the entrypoint starts. None of them may get vulnerable_code_not_in_execute_path.
 */
describe("VEX: no execute-path verdict for entrypoints that can start programs unseen", () => {
  let ctx: AppContext;
  const images = new Map<string, { layout: string; result: ScanResult }>();

  const cases: {
    tag: string;
    what: string;
    program: () => string;
    reason: RegExp;
  }[] = [
    {
      tag: "go-exec",
      what: "a static Go program using os/exec",
      program: () => goProgram("go-exec", false),
      reason: /\/app\/prog is a Go program \(.+\): the Go runtime makes system calls directly/,
    },
    {
      tag: "go-cgo-exec",
      what: "a dynamically linked (cgo) Go program using os/exec",
      program: () => goProgram("go-cgo-exec", true),
      reason: /\/app\/prog is a Go program \(.+\): the Go runtime makes system calls directly/,
    },
    {
      tag: "static-execve",
      what: "a static C program making a raw execve system call",
      program: () =>
        cProgram("static-execve", ["-static"], "", "syscall(SYS_execve, argv[0], argv, envp);"),
      reason: /\/app\/prog is statically linked: it may start programs with a raw execve/,
    },
    {
      tag: "static-pie-execve",
      what: "a static-pie C program making a raw execve system call",
      program: () =>
        cProgram(
          "static-pie-execve",
          ["-static-pie"],
          "",
          "syscall(SYS_execve, argv[0], argv, envp);",
        ),
      reason: /\/app\/prog has no ELF interpreter \(statically linked, static-pie\)/,
    },
    {
      tag: "dynamic-syscall",
      what: "a dynamic C program making execve through libc's syscall()",
      program: () =>
        cProgram("dynamic-syscall", [], "", "syscall(SYS_execve, argv[0], argv, envp);"),
      reason: /\/app\/prog imports syscall: it may load code or start programs/,
    },
    {
      tag: "dynamic-asm-execve",
      what: "a dynamic C program making execve with an inline syscall instruction",
      program: () =>
        cProgram(
          "dynamic-asm-execve",
          [],
          'static long raw3(long n, void *a, void *b, void *c) {\n  long r;\n  __asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");\n  return r;\n}',
          "raw3(SYS_execve, argv[0], argv, envp);",
        ),
      reason: /\/app\/prog holds [1-9]\d* byte sequences that encode a system call instruction/,
    },
  ];

  beforeAll(async () => {
    ctx = createAppContext({ home: tempDir("cleanimg-vex-exec-neg-"), env: {} });
    await importVulnData(ctx, [retargetedAdvisories()]);
    const debs = fetchDebs(["base-files", "libc6", "libgcc-s1", "gcc-12-base", "zlib1g", "pigz"]);
    for (const c of cases) {
      const layout = join(tempDir(), c.tag);
      await buildImageLayout({
        dir: layout,
        tag: c.tag,
        layers: [
          { kind: "debs", debs },
          {
            kind: "files",
            files: [
              { name: "app/", type: "dir" },
              { name: "app/prog", type: "file", mode: 0o755, body: readFileSync(c.program()) },
            ],
          },
        ],
        config: { config: { Entrypoint: ["/app/prog"], Env: ["PATH=/usr/bin:/bin"] } },
      });
      images.set(c.tag, {
        layout,
        result: await scan(ctx, `oci:${layout}:${c.tag}`, { created: new Date(0) }),
      });
    }
  }, 600_000);

  /** Runs the image's entrypoint in its root filesystem and returns what it wrote. */
  const runEntrypoint = (tag: string): { out: Buffer; rootfs: string } => {
    const bundle = join(tempDir("cleanimg-run-"), "b");
    execFileSync(
      "umoci",
      ["unpack", "--rootless", "--image", `${images.get(tag)?.layout}:${tag}`, bundle],
      { stdio: "pipe" },
    );
    const rootfs = join(bundle, "rootfs");
    const out = execFileSync("unshare", ["--map-root-user", "chroot", rootfs, "/app/prog"], {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    return { out, rootfs };
  };

  for (const c of cases) {
    it(`${c.tag}: ${c.what} gets no not-in-execute-path verdict`, () => {
      const r = images.get(c.tag)?.result as ScanResult;
      const zlib = r.vex.filter((v) => v.subcomponent.name === "zlib1g");
      expect(zlib.length).toBeGreaterThan(0);
      for (const s of zlib) {
        expect(s.justification, s.vulnerability).not.toBe("vulnerable_code_not_in_execute_path");
        expect(s.evidence?.analysis).not.toBe("not-in-execute-path@1");
        expect(["affected", "under_investigation"]).toContain(s.status);
      }
      const closure = r.sbom.runtime?.closure;
      expect(closure?.program).toBe("/app/prog");
      expect(closure?.status).toBe("incomplete");
      expect(closure?.reason).toMatch(c.reason);
      // the closure itself never holds zlib: only a process the entrypoint starts loads it
      expect(closure?.objects.map((o) => o.path).join(" ")).not.toMatch(/libz\.so/);
    });

    it(`${c.tag}: the entrypoint really runs zlib's code (pigz compresses through it)`, () => {
      const { out, rootfs } = runEntrypoint(c.tag);
      expect([...out.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      expect(gunzipSync(out).toString()).toBe(
        readFileSync(join(rootfs, "etc/debian_version"), "utf8"),
      );
    });
  }
});
