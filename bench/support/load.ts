// An open-loop HTTP load generator, run as its own process: requests are sent on a fixed
// schedule (RATE per second over keep-alive connections) and each latency is measured from the
// moment the request was due, not from when a connection became free, so a slow server cannot
// hide its queueing (no coordinated omission). Prints one JSON line of results.
//
//   node --import tsx bench/support/load.ts URL METHOD RATE SECONDS CONNECTIONS [BODY_FILE] [HEADER=VALUE...]
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";

const [url, method = "GET", rateS = "500", secondsS = "10", connS = "10", bodyFile, ...hs] =
  process.argv.slice(2);
const rate = Number(rateS);
const seconds = Number(secondsS);
const body = bodyFile && bodyFile !== "-" ? readFileSync(bodyFile) : undefined;
const headers: Record<string, string> = Object.fromEntries(
  hs.map((h) => [h.slice(0, h.indexOf("=")), h.slice(h.indexOf("=") + 1)]),
);
if (body) {
  headers["content-length"] = String(body.length);
}
const agent = new Agent({ keepAlive: true, maxSockets: Number(connS) });
const target = new URL(url as string);
const latencies: number[] = [];
let errors = 0;
let done = 0;
const total = Math.round(rate * seconds);

function fire(due: number): void {
  const req = request(
    {
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method,
      headers,
      agent,
    },
    (res) => {
      res.resume();
      res.on("end", () => {
        latencies.push(performance.now() - due);
        if ((res.statusCode ?? 0) >= 300) {
          errors++;
        }
        finish();
      });
    },
  );
  req.on("error", () => {
    errors++;
    finish();
  });
  req.end(body);
}

function finish(): void {
  if (++done < total) {
    return;
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({ requests: total, errors, seconds, rate, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) })}\n`,
  );
  agent.destroy();
}

const start = performance.now() + 50;
let sent = 0;
const tick = (): void => {
  const now = performance.now();
  while (sent < total && start + (sent * 1000) / rate <= now) {
    fire(start + (sent * 1000) / rate);
    sent++;
  }
  if (sent < total) {
    setImmediate(tick);
  }
};
setTimeout(tick, 50);
