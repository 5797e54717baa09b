import {
  type AdmissionController,
  type AppContext,
  auditEvents,
  createToken,
  listTokens,
  revokeToken,
  verifyAuditTrail,
} from "../../app/index.js";
import { json, problem, type Route } from "../http.js";
import type { Schema } from "../validate.js";

/** The audit trail, API tokens, and the admission webhook. */

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

/** The largest AdmissionReview accepted (the API server sends at most a few MiB). */
export const ADMISSION_MAX_BODY = 3 * 1024 * 1024;

export function adminRoutes(ctx: AppContext, admission: AdmissionController): Route[] {
  return [
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
      maxBody: ADMISSION_MAX_BODY,
      handle: async (c) => json(200, await admission.review(c.body, c.actor)),
      // fail closed without relying on the webhook's failurePolicy: a denial, saying why
      onStoreUnavailable: (body, health) => json(200, admission.unavailable(body, health)),
    },
  ];
}
