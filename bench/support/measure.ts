import { spawnSync } from "node:child_process";

export interface Run {
  readonly seconds: number;
  /** Peak resident set size in bytes (0 when not measured). */
  readonly rss: number;
}

/** Runs a command under GNU time; returns wall seconds and peak RSS in bytes. */
export function measure(cmd: string, args: string[], env: Record<string, string> = {}): Run {
  const t = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 1024 ** 3,
  });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) {
    throw new Error(`${cmd} failed: ${r.stderr.slice(-2000)}`);
  }
  const kb = Number(r.stderr.trim().split("\n").pop());
  return { seconds, rss: kb * 1024 };
}

/** The best time of n runs, with the highest peak RSS among them. */
export function best(n: number, fn: () => Run): Run {
  const xs = Array.from({ length: n }, fn);
  return { seconds: Math.min(...xs.map((x) => x.seconds)), rss: Math.max(...xs.map((x) => x.rss)) };
}

export const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MiB`;
