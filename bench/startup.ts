// Benchmark: start-up of the built command line against bare `node -e 0` in the same run (the
// floor: no command line can start faster than the runtime it runs on). Times `--version`,
// `--help`, a usage error and a warm `verify --image` of a small image that was built, scanned
// and given a policy decision in a fresh home (every link signed and logged). Median of
// BENCH_RUNS (default 15) runs each. Targets: `--version` and `--help` within 0.05 s of node,
// a warm `verify` under 0.3 s. Build first (`npm run build`): it runs dist/cli/main.js.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const MAIN = join(ROOT, "dist/cli/main.js");
const RUNS = Number(process.env["BENCH_RUNS"] ?? 15);
const VULNDB = resolve(ROOT, "../shared/corpus/vulndb/pypi-osv.jsonl.gz");

function run(args: readonly string[], env: NodeJS.ProcessEnv, expect = 0): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - t;
  if (r.status !== expect) {
    throw new Error(`${args.join(" ")}: exit ${r.status}, expected ${expect}\n${r.stderr}`);
  }
  return ms;
}

function median(args: readonly string[], env: NodeJS.ProcessEnv, expect = 0): number {
  const t = Array.from({ length: RUNS }, () => run(args, env, expect)).sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)] as number;
}

function main(): void {
  const work = mkdtempSync(join(tmpdir(), "cleanimg-bench-startup-"));
  try {
    const env = {
      ...process.env,
      CLEANIMG_HOME: join(work, "home"),
      SOURCE_DATE_EPOCH: "1700000000",
    };
    writeFileSync(join(work, "config.txt"), "static content\n");
    const spec = join(work, "cleanimg.yaml");
    writeFileSync(
      spec,
      "image: bench/startup:1.0.0\nfiles:\n  - src: config.txt\n    dst: /app/config.txt\n",
    );
    const cli = (...a: string[]) => [MAIN, "--quiet", ...a];
    run(cli("db", "import", VULNDB), env);
    run(cli("build", "--spec", spec), env);
    run(cli("scan", "bench/startup:1.0.0"), env);
    run(cli("policy", "eval", "bench/startup:1.0.0"), env);
    const node = median(["-e", "0"], env);
    const rows: [string, number, number | undefined][] = [
      ["node -e 0 (floor)", node, undefined],
      ["--version", median(cli("--version"), env), 50],
      ["--help", median(cli("--help"), env), 50],
      ["usage error", median(cli("scan", "--no-such-option"), env, 2), 50],
      [
        "verify --image (warm)",
        median(cli("verify", "--image", "bench/startup:1.0.0"), env),
        undefined,
      ],
    ];
    console.log(`start-up, median of ${RUNS} runs (ms)`);
    console.log("| command | ms | minus node | x node | target |");
    console.log("|---|---|---|---|---|");
    for (const [name, ms, within] of rows) {
      const target =
        within !== undefined
          ? `node + ${within} ms: ${ms - node <= within ? "met" : "NOT met"}`
          : name.startsWith("verify")
            ? `< 300 ms: ${ms < 300 ? "met" : "NOT met"}`
            : "";
      console.log(
        `| ${name} | ${ms.toFixed(0)} | ${(ms - node).toFixed(0)} | ${(ms / node).toFixed(2)} | ${target} |`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
