import {
  type AppContext,
  roleAllows,
  type StoreHealth,
  storeHealth,
  type TokenAuthority,
  type TokenRecord,
} from "../app/index.js";
import { CALLER_ERROR_CODES, type ErrorCode, isToolError } from "../core/errors.js";
import { jsonBody } from "./body.js";
import { problem, type Reply, type Route, type ServerRequest } from "./http.js";
import type { Metrics } from "./metrics.js";
import type { FailureLimiter, RateLimiter } from "./rate-limit.js";

/**
 * What stands between a request and its handler: its token (and the throttle on addresses that
 * fail to give one), and the answers when the evidence store fails under it.
 */

/** One running server's parts. */
export interface Parts {
  readonly ctx: AppContext;
  readonly metrics: Metrics;
  readonly auth: TokenAuthority;
  readonly limiter: RateLimiter;
  readonly rate: number;
  readonly failures: FailureLimiter;
  readonly failureLimit: number;
  readonly failureWindow: number;
}

export type Authenticated =
  | { readonly token?: TokenRecord }
  | { readonly reply: Reply }
  | { readonly storeError: unknown };

/**
 * The token of a request, or the answer refusing it. An address with too many failed
 * authentications in its window is refused before its token is looked at: answering a correct
 * token differently would tell a guess that hit from one that missed.
 */
export async function authenticate(p: Parts, r: Route, req: ServerRequest): Promise<Authenticated> {
  if (r.access === "public") {
    return {};
  }
  const addr = req.remoteAddress ?? "unknown";
  const wait = p.failures.blocked(addr);
  if (wait > 0) {
    p.metrics.inc(
      "cleanimg_auth_throttled_total",
      "Requests refused because their address failed to authenticate too often",
    );
    return {
      reply: {
        ...problem(
          429,
          "Too many failed authentications",
          `${p.failureLimit} failed authentications from ${addr} within ${p.failureWindow} s: every request from this address that needs a token is refused until the window ends`,
        ),
        headers: { "retry-after": String(wait) },
      },
    };
  }
  const failed = (detail: string, error = ""): Authenticated => {
    p.metrics.inc("cleanimg_auth_failures_total", "Requests with a token that is not valid");
    p.failures.fail(addr);
    return {
      reply: {
        ...problem(401, "Unauthorized", detail),
        headers: { "www-authenticate": `Bearer realm="cleanimg"${error}` },
      },
    };
  };
  const h = req.headers["authorization"];
  const m = typeof h === "string" ? /^Bearer (\S+)$/i.exec(h) : null;
  if (!m) {
    const detail = "this endpoint needs `Authorization: Bearer cit_…` (cleanimg-init token create)";
    return h === undefined
      ? {
          reply: {
            ...problem(401, "Unauthorized", detail),
            headers: { "www-authenticate": 'Bearer realm="cleanimg"' },
          },
        }
      : failed(detail);
  }
  let a: Awaited<ReturnType<TokenAuthority["authenticate"]>>;
  try {
    a = await p.auth.authenticate(m[1] as string);
  } catch (e) {
    return { storeError: e };
  }
  if ("error" in a) {
    return failed(a.error, ', error="invalid_token"');
  }
  if (!roleAllows(a.token.role, r.access)) {
    return {
      reply: problem(
        403,
        "Forbidden",
        `${r.method} ${r.path} needs the ${r.access} role; token ${a.token.id} (${a.token.name}) is ${a.token.role}`,
      ),
    };
  }
  return { token: a.token };
}

/** The 503 of a store that does not answer, naming each failing part. */
function unavailable(h: StoreHealth): Reply {
  const parts = (["database", "blobs"] as const)
    .filter((p) => !h[p].ok)
    .map((p) => `${p}: ${h[p].detail}`);
  return {
    ...problem(
      503,
      "Store unavailable",
      `the evidence store (${h.store}) does not answer: ${parts.join("; ")} (GET /readyz shows each part)`,
    ),
    headers: { "retry-after": "5" },
  };
}

/** The answer to a request the store failed under: the route's own, else 503 naming the part. */
export async function storeFailure(
  p: Parts,
  r: Route,
  req: ServerRequest,
  e: unknown,
): Promise<Reply> {
  const h = await storeHealth(p.ctx);
  if (h.ok) {
    return problem(500, "Internal error", (e as Error).message);
  }
  p.metrics.inc("cleanimg_store_unavailable_total", "Requests answered while the store failed");
  if (r.onStoreUnavailable) {
    const b = await jsonBody(r, req);
    return "reply" in b ? b.reply : r.onStoreUnavailable(b.body, h);
  }
  return unavailable(h);
}

/**
 * The HTTP status of an error code (documented with the exit codes in docs/cli.md): the request
 * names nothing the store holds (404), is malformed ({@link CALLER_ERROR_CODES}, 400) or
 * conflicts with what is recorded (409);
 * stored evidence that does not match its digest is the server's fault (500); everything else is
 * a well-formed request the evidence cannot answer (422).
 */
export function httpStatusFor(code: ErrorCode): 400 | 404 | 409 | 422 | 500 {
  if (code === "STORE_NOT_FOUND") {
    return 404;
  }
  if (code === "STORE_CONFLICT") {
    return 409;
  }
  if (code === "STORE_DIGEST_MISMATCH") {
    return 500;
  }
  return CALLER_ERROR_CODES.has(code) || code === "STORE_INVALID_INPUT" ? 400 : 422;
}

/** The answer to a handler's error. */
export async function errorReply(p: Parts, e: unknown): Promise<Reply> {
  if (isToolError(e)) {
    const status = httpStatusFor(e.code);
    if (status !== 422 && status !== 500) {
      return problem(status, e.code, `${e.message}${e.hint ? ` (${e.hint})` : ""}`);
    }
  }
  // a store that stopped answering is not the request's fault
  const h = await storeHealth(p.ctx);
  if (!h.ok) {
    p.metrics.inc("cleanimg_store_unavailable_total", "Requests answered while the store failed");
    return unavailable(h);
  }
  if (isToolError(e)) {
    return problem(httpStatusFor(e.code), e.code, `${e.message}${e.hint ? ` (${e.hint})` : ""}`);
  }
  return problem(500, "Internal error", (e as Error).message);
}
