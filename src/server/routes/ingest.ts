import { type AppContext, importEvidence, itemsOf, recordAuditEvent } from "../../app/index.js";
import type { ServerOptions } from "../app.js";
import { DIGEST_PARAM, digestParam, json, problem, type Route } from "../http.js";
import type { Schema } from "../validate.js";

/** Ingest: signed evidence (verified before it is kept) and unsigned documents. */

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

export function ingestRoutes(ctx: AppContext, opts: ServerOptions): Route[] {
  return [
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
  ];
}
