import { DIGEST_PARAM, type Route } from "./http.js";

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
              "429": {
                description:
                  "Rate limit exceeded, or too many failed authentications from this address (Retry-After says when to retry)",
              },
              "503": {
                description: "The evidence store is unavailable (GET /readyz says which part)",
              },
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
