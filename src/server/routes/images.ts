import {
  type AppContext,
  ChainCache,
  complianceReport,
  complianceStatus,
  fleetStatus,
  listEvidence,
  policyInput,
  verifyChain,
} from "../../app/index.js";
import { digestParam, json, type Route } from "../http.js";

/**
 * What the store holds about images, read only: the fleet table, an image's status, chain,
 * evidence links, findings and compliance reports, and blobs. A report is computed for each GET
 * and not kept; a writer keeps one with POST (its write recorded in the audit trail).
 */
export function imageRoutes(ctx: AppContext): Route[] {
  const chains = new ChainCache(ctx);
  return [
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
      method: "GET",
      path: "/v1/blobs/{digest}",
      access: "reader",
      summary: "One evidence blob by digest (re-hashed on read)",
      handle: async (c) => {
        const b = await ctx.evidence().getBlob(digestParam(c));
        return { status: 200, body: Buffer.from(b.bytes), contentType: b.mediaType };
      },
    },
    ...reportRoutes(ctx),
  ];
}

/** Compliance reports: computed on GET, kept only when a writer POSTs. */
function reportRoutes(ctx: AppContext): Route[] {
  return [
    {
      method: "GET",
      path: "/v1/images/{digest}/reports/{framework}",
      access: "reader",
      summary:
        "A compliance report of one image against a framework (fedramp-high, nist-800-53, ssdf, eu-cra, iso27001, soc2, …), computed for this request and not kept",
      handle: async (c) =>
        json(
          200,
          (
            await complianceReport(ctx, digestParam(c), c.params["framework"] as string, {
              record: false,
            })
          ).report,
        ),
    },
    {
      method: "POST",
      path: "/v1/images/{digest}/reports/{framework}",
      access: "writer",
      summary:
        "Computes a compliance report of one image and keeps it as evidence of the image (a compliance-report link), the write recorded in the audit trail with the token as actor; 201 with the report and the digest it is kept under",
      handle: async (c) => {
        const r = await complianceReport(ctx, digestParam(c), c.params["framework"] as string, {
          actor: c.actor,
          source: "api",
        });
        return json(201, { report: r.report, evidence: r.evidence });
      },
    },
  ];
}
