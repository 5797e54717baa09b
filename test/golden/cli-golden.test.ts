import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

/**
 * The command line's outputs, byte for byte, against committed golden files: the help of every
 * command, and one deterministic workflow (build, import, scan, VEX, status, report, audit,
 * verify, policy, evidence) in text and JSON, with its errors. What varies from run to run
 * (times, digests, keys, signatures, temporary paths) is replaced by stable placeholders;
 * everything else must stay the same when the code is moved. After an intended change of output,
 * run `npx vitest run test/golden -u` and review the diff of the golden files.
 */

const REPO = resolve(import.meta.dirname, "../..");
const SHARED = resolve(REPO, "../shared");
const VULNDB = join(SHARED, "corpus/vulndb");
const CACHE = join(REPO, ".cache/build-cache");

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function inProcess(args: readonly string[], env: Record<string, string>): Promise<Run> {
  const { run } = await import("../../src/cli/main.js");
  let stdout = "";
  let stderr = "";
  const capture =
    (append: (s: string) => void) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      append(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      cb?.();
      return true;
    };
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = capture((s) => {
    stdout += s;
  }) as typeof process.stdout.write;
  process.stderr.write = capture((s) => {
    stderr += s;
  }) as typeof process.stderr.write;
  try {
    const code = await run(["node", "cleanimg-init", ...args], env);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Replaces what differs between runs by placeholders numbered by first appearance. */
function normalize(text: string, paths: Record<string, string>): string {
  let t = text;
  for (const [name, p] of Object.entries(paths).sort((a, b) => b[1].length - a[1].length)) {
    t = t.split(p).join(`<${name}>`);
  }
  t = t.replace(/\/tmp\/[A-Za-z0-9._-]+/g, "<TMPFILE>");
  t = t.replace(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----\\?n?/g, "<PEM $1>");
  // full digests first, then their abbreviations
  const ids = new Map<string, string>();
  const full = t.match(/(?<![0-9a-f])[0-9a-f]{40,128}(?![0-9a-f])/g) ?? [];
  for (const h of full) {
    if (!ids.has(h)) {
      ids.set(h, `<D${ids.size + 1}>`);
    }
  }
  t = t.replace(/(?<![0-9a-f])[0-9a-f]{40,128}(?![0-9a-f])/g, (h) => ids.get(h) ?? h);
  t = t.replace(/(?<![0-9A-Za-z])[0-9a-f]{8,39}(?![0-9A-Za-z])/g, (h, at: number, all: string) => {
    // an abbreviation after "sha256:" is one even when its hex digits happen to be all numerals
    const named = all.slice(Math.max(0, at - 7), at) === "sha256:";
    if (!named && (!/[a-f]/.test(h) || !/[0-9]/.test(h))) {
      return h;
    }
    for (const [f, id] of ids) {
      if (f.startsWith(h)) {
        return `${id.slice(0, -1)}:${h.length}>`;
      }
    }
    return `<HEX${h.length}>`;
  });
  t = t.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g, "<TIME>");
  t = t.replace(/(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{43,}={0,2}/g, (s) =>
    /[A-Z]/.test(s) && /[0-9]/.test(s) ? "<B64>" : s,
  );
  t = t.replace(/\b\d+(?:\.\d+)? ?(?:ms|s)\b(?! ago)/g, "<DUR>");
  // the corpus's data grows a day older every day: its age, not the maximum, is normalized
  t = t.replace(/\b\d+ days old\b/g, "<AGE> days old");
  t = t.replace(/, \d+ at the scan\b/g, ", <AGE> at the scan");
  t = t.replace(/("ageDays": )\d+/g, "$1<AGE>");
  return t;
}

interface Step {
  readonly args: readonly string[];
  /** files the step writes, whose contents are part of the golden output */
  readonly files?: readonly string[];
  /** evidence sizes vary with the length of DER signatures: replace them */
  readonly sizes?: boolean;
  /** lines left out: entries written concurrently, whose order varies */
  readonly drop?: RegExp;
}

describe("command-line golden outputs", () => {
  let home: string;
  let work: string;
  let env: Record<string, string>;
  let paths: Record<string, string>;

  beforeAll(() => {
    home = tempDir("cleanimg-golden-home-");
    work = tempDir("cleanimg-golden-work-");
    env = {
      CLEANIMG_HOME: home,
      CLEANIMG_CACHE: CACHE,
      SOURCE_DATE_EPOCH: "1700000000",
      NO_COLOR: "1",
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: home,
    };
    paths = { HOME: home, WORK: work, SHARED, REPO };
    const ctx = join(
      work,
      "ctx",
      "usr/local/lib/python3.11/dist-packages/requests-2.28.1.dist-info",
    );
    mkdirSync(ctx, { recursive: true });
    writeFileSync(
      join(ctx, "METADATA"),
      "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n",
    );
    mkdirSync(join(work, "ctx", "app"), { recursive: true });
    writeFileSync(join(work, "ctx", "app", "config.txt"), "golden\n");
    writeFileSync(
      join(work, "cleanimg.yaml"),
      "image: pyapp:1.0.0\nfiles:\n  - src: ctx/\n    dst: /\n",
    );
    mkdirSync(join(work, "out"), { recursive: true });
  });

  const transcript = async (steps: readonly Step[]): Promise<string> => {
    let all = "";
    for (const step of steps) {
      const r = await inProcess(step.args, env);
      all += `$ cleanimg-init ${step.args.join(" ")}\n[exit ${r.code}]\n`;
      const kept = step.drop
        ? r.stdout
            .split("\n")
            .filter((l) => !step.drop?.test(l))
            .join("\n")
        : r.stdout;
      const stdout = step.sizes
        ? kept.replace(/("size": )\d+/g, "$1<SIZE>").replace(/ \d+$/gm, " <SIZE>")
        : kept;
      all += stdout ? `--- stdout\n${stdout}${stdout.endsWith("\n") ? "" : "\n"}` : "";
      all += r.stderr ? `--- stderr\n${r.stderr}${r.stderr.endsWith("\n") ? "" : "\n"}` : "";
      for (const f of step.files ?? []) {
        let body: string;
        try {
          body = readFileSync(f, "utf8");
        } catch (e) {
          body = `(not written: ${(e as NodeJS.ErrnoException).code})`;
        }
        all += `--- file ${f}\n${body}${body.endsWith("\n") ? "" : "\n"}`;
      }
      all += "\n";
    }
    return normalize(all, paths);
  };

  it("prints the same help for every command", async () => {
    const commands: string[][] = [[]];
    const seen: string[][] = [];
    while (commands.length > 0) {
      const c = commands.shift() as string[];
      seen.push(c);
      const r = await inProcess([...c, "--help"], env);
      expect(r.code, c.join(" ")).toBe(0);
      const section = (r.stdout.split(/^Commands:\n/m)[1] ?? "").split("\n\n")[0] ?? "";
      for (const line of section.split("\n")) {
        const m = /^ {2}([a-z][a-z0-9-]*)\b/.exec(line);
        if (m?.[1] && m[1] !== "help") {
          commands.push([...c, m[1]]);
        }
      }
    }
    expect(seen.length).toBeGreaterThan(60);
    const text = await transcript(seen.map((c) => ({ args: [...c, "--help"] })));
    await expect(text).toMatchFileSnapshot("cli-help.golden.txt");
  });

  it("prints the same outputs for the design's workflow, in text and JSON", async () => {
    const out = (f: string): string => join(work, "out", f);
    const steps: Step[] = [
      { args: ["--version"] },
      { args: ["--build", "--image", "pyapp:1.0.0", "--spec", join(work, "cleanimg.yaml")] },
      { args: ["db", "import", join(VULNDB, "pypi-osv.jsonl.gz")] },
      { args: ["db", "status"] },
      { args: ["image", "ls"] },
      { args: ["image", "ls", "--json"] },
      { args: ["image", "inspect", "pyapp:1.0.0"] },
      { args: ["image", "files", "pyapp:1.0.0"] },
      { args: ["sbom", "pyapp:1.0.0", "--format", "cyclonedx-1.6"] },
      { args: ["sbom", "pyapp:1.0.0", "--format", "spdx-3"] },
      {
        args: ["--scan", "--image", "pyapp:1.0.0", "--output-vex", out("report.vex")],
        files: [out("report.vex")],
      },
      { args: ["scan", "pyapp:1.0.0"] },
      { args: ["scan", "pyapp:1.0.0", "--json"] },
      { args: ["--compliance-status"] },
      { args: ["status", "pyapp:1.0.0"] },
      { args: ["status", "pyapp:1.0.0", "--json"] },
      { args: ["policy", "eval", "pyapp:1.0.0"] },
      { args: ["policy", "input", "pyapp:1.0.0"] },
      {
        args: [
          "--compliance",
          "soc2",
          "--image",
          "pyapp:1.0.0",
          "--output",
          out("compliance-report.json"),
        ],
        files: [out("compliance-report.json")],
      },
      { args: ["--audit-trail", "--from", "2000-01-01", "--to", "2100-01-01"] },
      { args: ["verify", "pyapp:1.0.0"] },
      { args: ["verify", "pyapp:1.0.0", "--json"] },
      { args: ["tlog", "verify"] },
      { args: ["audit", "verify"] },
      { args: ["evidence", "ls", "--kind", "build-spec"], sizes: true },
      { args: ["evidence", "ls", "--kind", "provenance", "--json"], sizes: true },
      { args: ["version", "compare", "--ecosystem", "pypi", "1.0", "1.0.post1"] },
      { args: ["report", "iso27001", "--image", "pyapp:1.0.0", "--format", "md"] },
      { args: ["scan", "nosuch:9.9"] },
      { args: ["image", "inspect"] },
      { args: ["--audit-trail", "--from", "yesterday"] },
      { args: ["frobnicate"] },
    ];
    const text = await transcript(steps);
    await expect(text).toMatchFileSnapshot("cli-workflow.golden.txt");
  }, 300_000);

  it("keeps the golden files it compares against", () => {
    const files = readdirSync(import.meta.dirname).filter((f) => f.endsWith(".golden.txt"));
    expect(files.sort()).toEqual(["cli-help.golden.txt", "cli-workflow.golden.txt"]);
  });
});
