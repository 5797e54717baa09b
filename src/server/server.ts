import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import {
  AdmissionController,
  type AppContext,
  admissionSettings,
  auditEvents,
  ChainCache,
  complianceReport,
  complianceStatus,
  createToken,
  fleetStatus,
  importEvidence,
  itemsOf,
  listEvidence,
  listTokens,
  policyInput,
  postureOverTime,
  type Role,
  recordAuditEvent,
  revokeToken,
  roleAllows,
  TokenAuthority,
  type TokenRecord,
  verifyAuditTrail,
  verifyChain,
} from "../app/index.js";
import { type Digest, isDigest } from "../core/digest.js";
import { isToolError, ToolError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { dashboardPage } from "./dashboard.js";
import { Metrics } from "./metrics.js";
import { RateLimiter } from "./rate-limit.js";
import { type Schema, validate } from "./validate.js";

/**
 * `cleanimg-init serve`: the evidence API over the same store as the CLI, the Kubernetes
 * admission webhook, and health, readiness and metrics endpoints. Every endpoint but health,
 * readiness and the OpenAPI document needs a bearer token of a sufficient role; every write is
 * attributed to its token in the audit trail; requests are rate-limited per token and bodies
 * are size-limited and validated against the schemas published in /openapi.json.
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
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

type Access = "public" | Role;

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

interface Call {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly token?: TokenRecord;
  /** The audit-trail actor of this call. */
  readonly actor: string;
}

export interface Route {
  readonly method: "GET" | "POST" | "DELETE";
  /** With `{param}` segments, as in OpenAPI. */
  readonly path: string;
  readonly access: Access;
  readonly summary: string;
  readonly body?: Schema;
  /** Largest body in bytes (default 1 MiB). */
  readonly maxBody?: number;
  readonly query?: readonly { name: string; description: string }[];
  handle(c: Call): Promise<Reply>;
}

const DIGEST_PARAM = "^sha256:[a-f0-9]{64}$";
const json = (status: number, body: unknown): Reply => ({ status, body });
const problem = (status: number, title: string, detail: string): Reply => ({
  status,
  body: { type: "about:blank", title, status, detail },
  contentType: "application/problem+json",
});

const BUNDLE_ITEM: Schema = {
  type: "object",
  required: ["bundle"],
  additionalProperties: false,
  properties: {
    bundle: { type: "object", description: "A Sigstore bundle (v0.3, DSSE) as JSON" },
    document: {
      type: "object",
      required: ["mediaType", "content"],
      additionalProperties: false,
      properties: {
        mediaType: { type: "string", maxLength: 255 },
        content: { type: "string", description: "base64", pattern: "^[A-Za-z0-9+/=]*$" },
      },
    },
    kind: { type: "string", maxLength: 64 },
  },
};

const EVIDENCE_BODY: Schema = {
  type: "object",
  required: ["items"],
  additionalProperties: false,
  properties: {
    image: {
      type: "object",
      additionalProperties: false,
      properties: {
        name: { type: "string", maxLength: 512 },
        digest: { type: "string", pattern: DIGEST_PARAM },
      },
    },
    items: { type: "array", minItems: 1, maxItems: 1000, items: BUNDLE_ITEM },
  },
};

const DOCUMENT_BODY: Schema = {
  type: "object",
  required: ["document"],
  additionalProperties: false,
  properties: {
    name: { type: "string", maxLength: 512 },
    document: { type: "object", description: "An SPDX, CycloneDX, OpenVEX or CSAF JSON document" },
  },
};

const TOKEN_BODY: Schema = {
  type: "object",
  required: ["name", "role"],
  additionalProperties: false,
  properties: {
    name: { type: "string", maxLength: 100 },
    role: { type: "string", enum: ["reader", "writer", "admin"] },
    expires: { type: "string", maxLength: 40 },
  },
};

const ADMISSION_BODY: Schema = {
  type: "object",
  required: ["apiVersion", "kind", "request"],
  properties: {
    apiVersion: { type: "string", enum: ["admission.k8s.io/v1"] },
    kind: { type: "string", enum: ["AdmissionReview"] },
    request: { type: "object", required: ["uid"], properties: { uid: { type: "string" } } },
  },
};

/** What an unsigned document is, from its own fields. */
function documentKind(
  doc: Record<string, unknown>,
): { kind: string; mediaType: string } | undefined {
  const ctx = JSON.stringify(doc["@context"] ?? "");
  if (typeof doc["spdxVersion"] === "string" || ctx.includes("spdx.org/rdf/3")) {
    return { kind: "submitted-sbom", mediaType: "application/spdx+json" };
  }
  if (doc["bomFormat"] === "CycloneDX") {
    return Array.isArray(doc["vulnerabilities"]) && !Array.isArray(doc["components"])
      ? { kind: "submitted-vex", mediaType: "application/vnd.cyclonedx+json" }
      : { kind: "submitted-sbom", mediaType: "application/vnd.cyclonedx+json" };
  }
  if (ctx.includes("openvex.dev/ns")) {
    return { kind: "submitted-vex", mediaType: "application/openvex+json" };
  }
  const d = doc["document"] as Record<string, unknown> | undefined;
  if (d && typeof d["csaf_version"] === "string") {
    return { kind: "submitted-vex", mediaType: "application/csaf+json" };
  }
  return undefined;
}

function digestParam(c: Call): Digest {
  return c.params["digest"] as Digest;
}

/** The server's routes (also the source of /openapi.json). */
export function routes(
  ctx: AppContext,
  admission: AdmissionController,
  metrics: Metrics,
  opts: ServerOptions,
): Route[] {
  const chains = new ChainCache(ctx);
  return [
    {
      method: "GET",
      path: "/healthz",
      access: "public",
      summary: "Liveness: the process answers",
      handle: async () => json(200, { status: "ok" }),
    },
    {
      method: "GET",
      path: "/readyz",
      access: "public",
      summary: "Readiness: the evidence store answers",
      handle: async () => {
        try {
          await ctx.evidence().size("audit");
          return json(200, { status: "ready" });
        } catch (e) {
          return problem(
            503,
            "Not ready",
            `the evidence store does not answer: ${(e as Error).message}`,
          );
        }
      },
    },
    {
      method: "GET",
      path: "/",
      access: "public",
      summary:
        "The fleet dashboard (a static page; it reads this API with the token entered in it)",
      handle: async () => {
        const page = dashboardPage();
        return {
          status: 200,
          body: page.html,
          contentType: "text/html; charset=utf-8",
          headers: { "content-security-policy": page.csp, "referrer-policy": "no-referrer" },
        };
      },
    },
    {
      method: "GET",
      path: "/v1/posture",
      access: "reader",
      summary:
        "The fleet's posture per day (policy decisions, admission denials, links recorded), counted from the audit trail's events; the audit trail is verified for each answer and the x-cleanimg-verified and x-cleanimg-audit-trail headers say whether it is intact",
      query: [{ name: "days", description: "how many days back (1-366, default 30)" }],
      handle: async (c) => {
        const days = Number(c.query.get("days") ?? 30);
        if (!Number.isInteger(days) || days < 1 || days > 366) {
          return problem(400, "Bad days", "days must be an integer from 1 to 366");
        }
        // the counts are only as good as the log they are read from: verify it, say the result
        const trail = await verifyAuditTrail(ctx);
        return {
          ...json(200, await postureOverTime(ctx, days)),
          headers: {
            "x-cleanimg-verified": String(trail.intact && trail.events > 0),
            "x-cleanimg-audit-trail": trail.intact
              ? `intact; ${trail.events} events${trail.head ? `; head ${trail.head}` : ""}`
              : `BROKEN; ${trail.problems.length} problems, first at event ${trail.problems[0]?.seq}: the counts are not verified`,
          },
        };
      },
    },
    {
      method: "GET",
      path: "/metrics",
      access: "reader",
      summary: "Prometheus metrics (text exposition format 0.0.4)",
      handle: async () => ({
        status: 200,
        body: metrics.render(),
        contentType: "text/plain; version=0.0.4; charset=utf-8",
      }),
    },
    {
      method: "GET",
      path: "/v1/images",
      access: "reader",
      summary:
        "The fleet table: every image with evidence, in the design's columns; each row says whether it was verified and the evidence it rests on",
      query: [
        {
          name: "verify",
          description:
            "false: read the store's index only (fast; nothing verified, every row verified: false, never signed or ready); default: verify every image signature and chain (chains cached until their evidence changes)",
        },
      ],
      handle: async (c) => {
        if (c.query.get("verify") === "false") {
          return json(200, {
            verified: false,
            unverified: [
              "image signatures",
              "chains: read from the store's index, not verified (GET /v1/images verifies them)",
            ],
            images: await fleetStatus(ctx),
          });
        }
        await chains.refresh();
        return json(200, {
          verified: true,
          images: await fleetStatus(ctx, { verify: (d) => chains.verify(d) }),
        });
      },
    },
    {
      method: "GET",
      path: "/v1/images/{digest}",
      access: "reader",
      summary: "Compliance status of one image: each check PASS, FAIL or UNKNOWN with its evidence",
      handle: async (c) => json(200, await complianceStatus(ctx, digestParam(c))),
    },
    {
      method: "GET",
      path: "/v1/images/{digest}/chain",
      access: "reader",
      summary: "The verified evidence chain of one image, each link with its state",
      handle: async (c) => json(200, await verifyChain(ctx, digestParam(c))),
    },
    {
      method: "GET",
      path: "/v1/images/{digest}/evidence",
      access: "reader",
      summary: "The evidence links of one image, as the store indexes them",
      handle: async (c) =>
        json(200, {
          evidence: await listEvidence(ctx, {
            subject: digestParam(c),
            ...(c.query.get("kind") ? { kind: c.query.get("kind") as string } : {}),
          }),
        }),
      query: [{ name: "kind", description: "only links of this kind" }],
    },
    {
      method: "GET",
      path: "/v1/images/{digest}/findings",
      access: "reader",
      summary:
        "The image's vulnerability findings with their VEX status, from its verified scan and VEX links",
      handle: async (c) => {
        const { input, links } = await policyInput(ctx, digestParam(c));
        const image = input["image"] as { vulnerabilities: unknown[] };
        const ev = (s: string) => links.find((l) => l.stage === s && l.state === "valid")?.evidence;
        return json(200, {
          image: digestParam(c),
          vulnerabilities: image.vulnerabilities,
          ...(ev("scan") ? { scan: ev("scan") } : {}),
          ...(ev("vex") ? { vex: ev("vex") } : {}),
        });
      },
    },
    {
      method: "POST",
      path: "/v1/images/{digest}/evidence",
      access: "writer",
      summary:
        "Ingest signed evidence (Sigstore bundles; chain links with their documents), as `evidence export` writes it; each bundle verified before it is kept",
      body: EVIDENCE_BODY,
      maxBody: opts.maxEvidenceBytes ?? 64 * 1024 * 1024,
      handle: async (c) => {
        const b = c.body as { image?: { name?: string; digest?: string }; items: [] };
        if (b.image?.digest && b.image.digest !== digestParam(c)) {
          return problem(
            400,
            "Wrong image",
            `$.image.digest is ${b.image.digest}, the path names ${digestParam(c)}`,
          );
        }
        const r = await importEvidence(
          ctx,
          { digest: digestParam(c), name: b.image?.name ?? digestParam(c) },
          itemsOf(c.body as { items: [] }),
          { source: "api", actor: c.actor },
        );
        return json(r.rejected.length && !r.imported ? 422 : 200, r);
      },
    },
    {
      method: "POST",
      path: "/v1/images/{digest}/documents",
      access: "writer",
      summary:
        "Ingest an unsigned SBOM or VEX document about an image (kept as submitted-sbom/-vex, attributed to the token; not a chain link)",
      body: DOCUMENT_BODY,
      maxBody: opts.maxEvidenceBytes ?? 64 * 1024 * 1024,
      handle: async (c) => {
        const b = c.body as { name?: string; document: Record<string, unknown> };
        const k = documentKind(b.document);
        if (!k) {
          return problem(
            422,
            "Unknown document",
            "$.document: not an SPDX 2.x/3.x, CycloneDX, OpenVEX or CSAF document (no spdxVersion, bomFormat or @context)",
          );
        }
        const bytes = new TextEncoder().encode(JSON.stringify(b.document));
        const store = ctx.evidence();
        const d = await store.putBlob(bytes, k.mediaType);
        await recordAuditEvent(
          ctx,
          {
            action: "evidence-import",
            subject: digestParam(c),
            ...(b.name ? { subjectName: b.name } : {}),
            evidence: { document: d },
            details: { kind: k.kind, source: "api", signed: "false" },
            actor: c.actor,
          },
          [
            {
              subject: digestParam(c),
              evidence: d,
              kind: k.kind,
              annotations: { submittedBy: c.actor },
            },
          ],
        );
        return json(200, {
          image: digestParam(c),
          document: d,
          kind: k.kind,
          mediaType: k.mediaType,
        });
      },
    },
    {
      method: "GET",
      path: "/v1/images/{digest}/reports/{framework}",
      access: "reader",
      summary:
        "A compliance report of one image against a framework (fedramp-high, nist-800-53, ssdf, eu-cra, iso27001, soc2, …)",
      handle: async (c) =>
        json(
          200,
          (await complianceReport(ctx, digestParam(c), c.params["framework"] as string)).report,
        ),
    },
    {
      method: "GET",
      path: "/v1/blobs/{digest}",
      access: "reader",
      summary: "One evidence blob by digest (re-hashed on read)",
      handle: async (c) => {
        const b = await ctx.evidence().getBlob(digestParam(c));
        return { status: 200, body: Buffer.from(b.bytes), contentType: b.mediaType };
      },
    },
    {
      method: "GET",
      path: "/v1/audit",
      access: "reader",
      summary: "Audit-trail events between two dates (ISO 8601; `to` exclusive)",
      query: [
        { name: "from", description: "first date (inclusive)" },
        { name: "to", description: "last date (exclusive)" },
      ],
      handle: async (c) => {
        const from = c.query.get("from") ?? undefined;
        const to = c.query.get("to") ?? undefined;
        for (const [k, v] of [
          ["from", from],
          ["to", to],
        ] as const) {
          if (v !== undefined && Number.isNaN(Date.parse(v))) {
            return problem(400, "Bad date", `${k}=${v} is not an ISO 8601 date`);
          }
        }
        return json(200, { events: await auditEvents(ctx, from, to) });
      },
    },
    {
      method: "GET",
      path: "/v1/audit/verify",
      access: "reader",
      summary: "Verifies the whole audit trail (hash chain, sequence, signatures)",
      handle: async () => json(200, await verifyAuditTrail(ctx)),
    },
    {
      method: "GET",
      path: "/v1/tokens",
      access: "admin",
      summary: "Every API token (never a secret)",
      handle: async () => json(200, { tokens: await listTokens(ctx) }),
    },
    {
      method: "POST",
      path: "/v1/tokens",
      access: "admin",
      summary: "Makes an API token; its secret is in this response only",
      body: TOKEN_BODY,
      handle: async (c) => {
        const b = c.body as { name: string; role: string; expires?: string };
        return json(201, await createToken(ctx, { ...b, by: c.actor }));
      },
    },
    {
      method: "DELETE",
      path: "/v1/tokens/{id}",
      access: "admin",
      summary: "Revokes an API token",
      handle: async (c) => {
        await revokeToken(ctx, c.params["id"] as string, c.actor);
        return json(200, { revoked: c.params["id"] });
      },
    },
    {
      method: "POST",
      path: "/admission",
      access: "writer",
      summary:
        "Kubernetes ValidatingAdmissionWebhook (AdmissionReview v1) for Pods and pod-template workloads",
      body: ADMISSION_BODY,
      maxBody: 3 * 1024 * 1024,
      handle: async (c) => json(200, await admission.review(c.body, c.actor)),
    },
  ];
}

/** The OpenAPI 3.1 description of the routes. */
export function openapi(rs: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of rs) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: m[1] === "digest" ? { type: "string", pattern: DIGEST_PARAM } : { type: "string" },
    }));
    const query = (r.query ?? []).map((q) => ({
      name: q.name,
      in: "query",
      required: false,
      description: q.description,
      schema: { type: "string" },
    }));
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, unknown>)[r.method.toLowerCase()] = {
      summary: r.summary,
      ...(r.access === "public" ? { security: [] } : { "x-cleanimg-role": r.access }),
      ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { "application/json": { schema: r.body } } } }
        : {}),
      responses: {
        "200": { description: "OK" },
        ...(r.body
          ? {
              "400": { description: "The body is not valid (the problem names where)" },
              "413": { description: "The body is too large" },
            }
          : {}),
        ...(r.access === "public"
          ? {}
          : {
              "401": { description: "No valid token" },
              "403": { description: `The token's role is below ${r.access}` },
              "429": { description: "Rate limit exceeded (Retry-After says when to retry)" },
            }),
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "cleanimg evidence API",
      version: "1",
      description:
        "The evidence chain of container images (source → provenance → SBOM → scan → VEX → policy → deployment), per image and fleet-wide; and the Kubernetes admission webhook. Roles: reader ⊂ writer ⊂ admin.",
    },
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "cit_… tokens from `cleanimg-init token create`",
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function compile(path: string): RegExp {
  return new RegExp(`^${path.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`);
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | "too-large"> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > max) {
    return "too-large";
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) {
      return "too-large";
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

/** Starts the server. */
export async function startServer(
  ctx: AppContext,
  opts: ServerOptions = {},
): Promise<RunningServer> {
  const metrics = new Metrics();
  const admission = new AdmissionController(ctx, await admissionSettings(ctx));
  const auth = new TokenAuthority(ctx);
  const rate = opts.rateLimit ?? 1000;
  const limiter = new RateLimiter(rate, rate * 2);
  const rs = routes(ctx, admission, metrics, opts);
  const doc = JSON.stringify(openapi(rs));
  const table = rs.map((r) => ({ r, re: compile(r.path) }));
  metrics.counterFrom(
    "cleanimg_admission_cache_hits_total",
    "Admission verdicts answered from the cache",
    () => admission.stats.hits,
  );
  metrics.counterFrom(
    "cleanimg_admission_cache_misses_total",
    "Admission verdicts computed",
    () => admission.stats.misses,
  );
  metrics.counterFrom(
    "cleanimg_admission_cache_invalidations_total",
    "Cached verdicts dropped because the image's evidence changed",
    () => admission.stats.invalidations,
  );
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

  const send = (res: ServerResponse, r: Reply): void => {
    const isBytes = Buffer.isBuffer(r.body) || typeof r.body === "string";
    const body = isBytes ? (r.body as Buffer | string) : JSON.stringify(r.body);
    res.writeHead(r.status, {
      "content-type": r.contentType ?? "application/json",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...r.headers,
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://server");
    let routeName = "unmatched";
    const finish = (r: Reply): void => {
      send(res, r);
      metrics.inc("cleanimg_http_requests_total", "HTTP requests by route, method and status", {
        route: routeName,
        method: req.method ?? "",
        code: String(r.status),
      });
      metrics.observe(
        "cleanimg_http_request_duration_seconds",
        "HTTP request latency by route",
        { route: routeName },
        (performance.now() - started) / 1000,
      );
    };
    if (url.pathname === "/openapi.json" && req.method === "GET") {
      routeName = "/openapi.json";
      return finish({ status: 200, body: doc });
    }
    const onPath = table.filter((t) => t.re.test(url.pathname));
    const hit = onPath.find((t) => t.r.method === req.method);
    if (!hit) {
      return finish(
        onPath.length
          ? {
              ...problem(
                405,
                "Method not allowed",
                `${req.method} ${url.pathname}; allowed: ${onPath.map((t) => t.r.method).join(", ")}`,
              ),
              headers: { allow: onPath.map((t) => t.r.method).join(", ") },
            }
          : problem(404, "Not found", `no endpoint ${url.pathname} (see /openapi.json)`),
      );
    }
    const { r, re } = hit;
    routeName = r.path;
    const params = { ...(re.exec(url.pathname)?.groups ?? {}) };
    for (const [k, v] of Object.entries(params)) {
      try {
        params[k] = decodeURIComponent(v);
      } catch {
        return finish(
          problem(400, "Bad path", `${url.pathname}: ${k} is not valid percent-encoding`),
        );
      }
    }
    if (params["digest"] !== undefined && !isDigest(params["digest"])) {
      return finish(
        problem(400, "Bad digest", `${params["digest"]} is not a sha256:<64 hex> digest`),
      );
    }
    // authentication, authorization, rate limit
    let token: TokenRecord | undefined;
    if (r.access !== "public") {
      const h = req.headers.authorization ?? "";
      const m = /^Bearer (\S+)$/i.exec(h);
      if (!m) {
        return finish({
          ...problem(
            401,
            "Unauthorized",
            "this endpoint needs `Authorization: Bearer cit_…` (cleanimg-init token create)",
          ),
          headers: { "www-authenticate": 'Bearer realm="cleanimg"' },
        });
      }
      const a = await auth.authenticate(m[1] as string);
      if ("error" in a) {
        return finish({
          ...problem(401, "Unauthorized", a.error),
          headers: { "www-authenticate": 'Bearer realm="cleanimg", error="invalid_token"' },
        });
      }
      token = a.token;
      if (!roleAllows(token.role, r.access)) {
        return finish(
          problem(
            403,
            "Forbidden",
            `${r.method} ${r.path} needs the ${r.access} role; token ${token.id} (${token.name}) is ${token.role}`,
          ),
        );
      }
    }
    const wait = limiter.take(token ? `token:${token.id}` : `addr:${req.socket.remoteAddress}`);
    if (wait > 0) {
      metrics.inc("cleanimg_rate_limited_total", "Requests refused by the rate limit");
      return finish({
        ...problem(
          429,
          "Too many requests",
          `more than ${rate} requests per second for this token`,
        ),
        headers: { "retry-after": String(Math.max(1, Math.ceil(wait))) },
      });
    }
    let body: unknown;
    if (r.body) {
      const max = r.maxBody ?? 1024 * 1024;
      const raw = await readBody(req, max);
      if (raw === "too-large") {
        res.setHeader("connection", "close");
        return finish(problem(413, "Too large", `the body is larger than ${max} bytes`));
      }
      try {
        body = parseJson(raw, "the body");
      } catch (e) {
        return finish(
          isToolError(e)
            ? problem(400, "Too deep", e.message)
            : problem(400, "Not JSON", `the body is not JSON: ${(e as Error).message}`),
        );
      }
      const invalid = validate(r.body, body);
      if (invalid) {
        return finish(problem(400, "Invalid body", invalid));
      }
    }
    try {
      finish(
        await r.handle({
          params,
          query: url.searchParams,
          body,
          ...(token ? { token } : {}),
          actor: token ? `token:${token.name}/${token.id}` : "anonymous",
        }),
      );
    } catch (e) {
      if (isToolError(e)) {
        const status =
          e.code === "STORE_NOT_FOUND"
            ? 404
            : e.code.endsWith("_INVALID_ARGUMENT") || e.code.endsWith("_INVALID_INPUT")
              ? 400
              : e.code === "STORE_DIGEST_MISMATCH"
                ? 500
                : 422;
        return finish(problem(status, e.code, `${e.message}${e.hint ? ` (${e.hint})` : ""}`));
      }
      finish(problem(500, "Internal error", (e as Error).message));
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) {
        send(res, problem(500, "Internal error", (e as Error).message));
      } else {
        res.destroy();
      }
    });
  };
  const server =
    opts.tlsCert && opts.tlsKey
      ? createHttpsServer(
          { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) },
          onRequest,
        )
      : createHttpServer(onRequest);
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 300_000;
  const [host, port] = parseListen(opts.listen ?? "127.0.0.1:8080");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shown = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return {
    url: `${opts.tlsCert ? "https" : "http"}://${shown}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** "HOST:PORT", "[::1]:PORT" or ":PORT" (127.0.0.1). */
export function parseListen(s: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `--listen ${s} is not HOST:PORT`, {
      hint: "e.g. 127.0.0.1:8080, [::1]:8443 or :8080",
    });
  }
  return [m[1] ?? (m[2] || "127.0.0.1"), port];
}
