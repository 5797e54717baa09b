import {
  AdmissionController,
  type AppContext,
  admissionSettings,
  TokenAuthority,
} from "../app/index.js";
import { isDigest } from "../core/digest.js";
import { jsonBody } from "./body.js";
import { authenticate, errorReply, type Parts, storeFailure } from "./guard.js";
import { problem, type Reply, type Route, type ServerRequest } from "./http.js";
import { Metrics } from "./metrics.js";
import { openapi } from "./openapi.js";
import {
  AUTH_FAILURE_LIMIT,
  AUTH_FAILURE_WINDOW_SECONDS,
  FailureLimiter,
  RateLimiter,
} from "./rate-limit.js";
import { adminRoutes } from "./routes/admin.js";
import { imageRoutes } from "./routes/images.js";
import { ingestRoutes } from "./routes/ingest.js";
import { systemRoutes } from "./routes/system.js";

/**
 * The server as a function from request to reply, with no socket (main.ts listens): the evidence API over the same store as the CLI, the Kubernetes
 * admission webhook, and health, readiness and metrics endpoints. Every endpoint but health,
 * readiness and the OpenAPI document needs a bearer token of a sufficient role; every write is
 * attributed to its token in the audit trail; requests are rate-limited per token, failed
 * authentications per client address, and bodies are size-limited and validated against the
 * schemas published in /openapi.json. While the evidence store does not answer, requests are
 * answered 503 naming the part that fails (the admission webhook: a denial).
 */

export interface ServerOptions {
  /** HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one). */
  readonly listen?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** Requests per second per token (default 1000), bursts up to twice that. */
  readonly rateLimit?: number;
  /** Largest evidence upload in bytes (default 64 MiB). */
  readonly maxEvidenceBytes?: number;
  /**
   * Failed authentications one client address may make in a window before every request of
   * that address needing a token is refused (429) until the window ends (default 10).
   */
  readonly authFailureLimit?: number;
  /** That window in seconds, from the address's first failure (default 60). */
  readonly authFailureWindowSeconds?: number;
}

/** The server's routes (also the source of /openapi.json). */
export function routes(
  ctx: AppContext,
  admission: AdmissionController,
  metrics: Metrics,
  opts: ServerOptions,
): Route[] {
  return [
    ...systemRoutes(ctx, metrics),
    ...imageRoutes(ctx),
    ...ingestRoutes(ctx, opts),
    ...adminRoutes(ctx, admission),
  ];
}

function compile(path: string): RegExp {
  return new RegExp(`^${path.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`);
}

/** A running server's parts, with its route table. */
interface Running extends Parts {
  readonly table: readonly { r: Route; re: RegExp }[];
  readonly doc: string;
}

type Matched =
  | { readonly reply: Reply; readonly name: string }
  | { readonly r: Route; readonly params: Record<string, string> };

/** The route a request is for, with its path parameters; or the answer when there is none. */
function match(p: Running, method: string, url: URL): Matched {
  if (url.pathname === "/openapi.json" && method === "GET") {
    return { reply: { status: 200, body: p.doc }, name: "/openapi.json" };
  }
  const onPath = p.table.filter((t) => t.re.test(url.pathname));
  const hit = onPath.find((t) => t.r.method === method);
  if (!hit) {
    const allow = onPath.map((t) => t.r.method).join(", ");
    return {
      name: "unmatched",
      reply: onPath.length
        ? {
            ...problem(405, "Method not allowed", `${method} ${url.pathname}; allowed: ${allow}`),
            headers: { allow },
          }
        : problem(404, "Not found", `no endpoint ${url.pathname} (see /openapi.json)`),
    };
  }
  const params = { ...(hit.re.exec(url.pathname)?.groups ?? {}) };
  for (const [k, v] of Object.entries(params)) {
    try {
      params[k] = decodeURIComponent(v);
    } catch {
      return {
        name: hit.r.path,
        reply: problem(400, "Bad path", `${url.pathname}: ${k} is not valid percent-encoding`),
      };
    }
  }
  if (params["digest"] !== undefined && !isDigest(params["digest"])) {
    return {
      name: hit.r.path,
      reply: problem(400, "Bad digest", `${params["digest"]} is not a sha256:<64 hex> digest`),
    };
  }
  return { r: hit.r, params };
}

async function handle(p: Running, req: ServerRequest): Promise<Reply> {
  const started = performance.now();
  let routeName = "unmatched";
  const finish = (r: Reply): Reply => {
    p.metrics.inc("cleanimg_http_requests_total", "HTTP requests by route, method and status", {
      route: routeName,
      method: req.method,
      code: String(r.status),
    });
    p.metrics.observe(
      "cleanimg_http_request_duration_seconds",
      "HTTP request latency by route",
      { route: routeName },
      (performance.now() - started) / 1000,
    );
    return r;
  };
  // the target is a path: "//x/v1/tokens" is that path, not host x (no authority form here)
  let url: URL;
  try {
    url = new URL(`http://server${(req.url || "/").startsWith("/") ? "" : "/"}${req.url || "/"}`);
  } catch {
    return finish(problem(400, "Bad request target", "the request target is not a valid path"));
  }
  const m = match(p, req.method, url);
  if ("reply" in m) {
    routeName = m.name;
    return finish(m.reply);
  }
  const { r, params } = m;
  routeName = r.path;
  const who = await authenticate(p, r, req);
  if ("reply" in who) {
    return finish(who.reply);
  }
  if ("storeError" in who) {
    return finish(await storeFailure(p, r, req, who.storeError));
  }
  const token = who.token;
  const wait = p.limiter.take(token ? `token:${token.id}` : `addr:${req.remoteAddress}`);
  if (wait > 0) {
    p.metrics.inc("cleanimg_rate_limited_total", "Requests refused by the rate limit");
    return finish({
      ...problem(
        429,
        "Too many requests",
        `more than ${p.rate} requests per second for this token`,
      ),
      headers: { "retry-after": String(Math.max(1, Math.ceil(wait))) },
    });
  }
  const b = await jsonBody(r, req);
  if ("reply" in b) {
    return finish(b.reply);
  }
  try {
    return finish(
      await r.handle({
        params,
        query: url.searchParams,
        body: b.body,
        ...(token ? { token } : {}),
        actor: token ? `token:${token.name}/${token.id}` : "anonymous",
      }),
    );
  } catch (e) {
    return finish(await errorReply(p, e));
  }
}

/** Counters of the admission controller, read when /metrics is. */
function admissionMetrics(metrics: Metrics, admission: AdmissionController): void {
  const counters: [string, string, () => number][] = [
    ["hits", "Admission verdicts answered from the cache", () => admission.stats.hits],
    ["misses", "Admission verdicts computed", () => admission.stats.misses],
    [
      "invalidations",
      "Cached verdicts dropped because the image's evidence changed",
      () => admission.stats.invalidations,
    ],
  ];
  for (const [n, help, f] of counters) {
    metrics.counterFrom(`cleanimg_admission_cache_${n}_total`, help, f);
  }
  metrics.counterFrom(
    "cleanimg_admission_allowed_total",
    "Admission requests allowed",
    () => admission.stats.allowed,
  );
  metrics.counterFrom(
    "cleanimg_admission_denied_total",
    "Admission requests denied",
    () => admission.stats.denied,
  );
}

/** What a server is made of; what is not given is made from the context. */
export interface ServerDeps {
  readonly ctx: AppContext;
  readonly options?: ServerOptions;
  readonly metrics?: Metrics;
  readonly admission?: AdmissionController;
}

/** The server's request handling: every request gets one reply, and `handle` never throws. */
export interface ServerApp {
  readonly routes: readonly Route[];
  handle(req: ServerRequest): Promise<Reply>;
}

export async function createServerApp(deps: ServerDeps): Promise<ServerApp> {
  const { ctx } = deps;
  const opts = deps.options ?? {};
  const metrics = deps.metrics ?? new Metrics();
  const admission = deps.admission ?? new AdmissionController(ctx, await admissionSettings(ctx));
  const rate = opts.rateLimit ?? 1000;
  const failureLimit = opts.authFailureLimit ?? AUTH_FAILURE_LIMIT;
  const failureWindow = opts.authFailureWindowSeconds ?? AUTH_FAILURE_WINDOW_SECONDS;
  const rs = routes(ctx, admission, metrics, opts);
  const parts: Running = {
    ctx,
    metrics,
    auth: new TokenAuthority(ctx),
    limiter: new RateLimiter(rate, rate * 2),
    rate,
    failures: new FailureLimiter(failureLimit, failureWindow * 1000),
    failureLimit,
    failureWindow,
    table: rs.map((r) => ({ r, re: compile(r.path) })),
    doc: JSON.stringify(openapi(rs)),
  };
  admissionMetrics(metrics, admission);
  return {
    routes: rs,
    handle: (req) =>
      handle(parts, req).catch((e: unknown) => {
        parts.metrics.inc(
          "cleanimg_http_requests_total",
          "HTTP requests by route, method and status",
          {
            route: "unmatched",
            method: req.method,
            code: "500",
          },
        );
        return problem(500, "Internal error", e instanceof Error ? e.message : String(e));
      }),
  };
}
