import {
  type AppContext,
  postureOverTime,
  storeHealth,
  verifyAuditTrail,
} from "../../app/index.js";
import { dashboardPage } from "../dashboard.js";
import { json, problem, type Route } from "../http.js";
import type { Metrics } from "../metrics.js";

/** Health, readiness, the dashboard page, metrics and the fleet's posture. */
export function systemRoutes(ctx: AppContext, metrics: Metrics): Route[] {
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
      summary:
        "Readiness: each part of the evidence store (database, blobs) with its state and why; 503 when any part fails",
      handle: async () => {
        const h = await storeHealth(ctx);
        return json(h.ok ? 200 : 503, {
          status: h.ok ? "ready" : "not ready",
          store: h.store,
          parts: { database: h.database, blobs: h.blobs },
        });
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
  ];
}
