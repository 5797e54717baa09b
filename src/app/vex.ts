import { sha256 } from "../core/digest.js";
import { UsageError } from "../core/errors.js";
import type { EvidenceLink } from "../store/index.js";
import {
  JUSTIFICATIONS,
  type Justification,
  readVex,
  VEX_STATUSES,
  type VexStatus,
} from "../vex/index.js";
import { recordAuditEvent } from "./audit.js";
import type { AppContext } from "./context.js";
import { inspectImage } from "./images.js";
import { TOOL } from "./sbom.js";

export const OPENVEX_MEDIA_TYPE = "application/vnd.openvex+json";
export const VEX_DECISION_KIND = "vex-decision";

export interface VexDecision {
  readonly vulnerability: string;
  readonly status: string;
  readonly justification?: string;
  readonly impact?: string;
  readonly action?: string;
  /** Component purl the decision is about; without it, the image as a whole. */
  readonly component?: string;
  readonly author: string;
  /** Decision time (default now). */
  readonly timestamp?: Date;
}

/**
 * Records a person's VEX decision about an image as an OpenVEX document in the evidence store,
 * linked to the image's manifest digest; every later scan of that image applies it.
 * @throws UsageError CLI_USAGE for a status, justification or missing reason OpenVEX forbids
 */
export async function addVexDecision(
  ctx: AppContext,
  ref: string,
  d: VexDecision,
): Promise<{ image: string; document: string; link: EvidenceLink }> {
  if (!(VEX_STATUSES as readonly string[]).includes(d.status)) {
    throw new UsageError("CLI_USAGE", `unknown VEX status "${d.status}"`, {
      hint: VEX_STATUSES.join(", "),
    });
  }
  if (d.justification && !(JUSTIFICATIONS as readonly string[]).includes(d.justification)) {
    throw new UsageError("CLI_USAGE", `unknown justification "${d.justification}"`, {
      hint: JUSTIFICATIONS.join(", "),
    });
  }
  if (d.status === "not_affected" && !d.justification && !d.impact) {
    throw new UsageError(
      "CLI_USAGE",
      "not_affected needs a --justification or an --impact statement",
      {
        hint: 'say why: --justification vulnerable_code_not_in_execute_path --impact "…"',
      },
    );
  }
  if (d.status === "affected" && !d.action) {
    throw new UsageError(
      "CLI_USAGE",
      "affected needs an --action statement (what users should do)",
      {
        hint: '--action "update to 1.2.4"',
      },
    );
  }
  if (!d.author.trim()) {
    throw new UsageError("CLI_USAGE", "a VEX decision needs its author", {
      hint: "--author you@example.com (or set CLEANIMG_AUTHOR)",
    });
  }
  const img = await inspectImage(ctx, ref, { record: false });
  const digest = img.manifest.digest;
  const name =
    (
      ref
        .replace(/^[a-z-]+:(\/\/)?/, "")
        .split("/")
        .pop() ?? "image"
    ).split(/[:@]/)[0] ?? "image";
  const product = `pkg:oci/${encodeURIComponent(name.toLowerCase())}@${encodeURIComponent(digest)}`;
  const timestamp = `${(d.timestamp ?? new Date()).toISOString().slice(0, 19)}Z`;
  const statement = {
    vulnerability: { name: d.vulnerability },
    timestamp,
    products: [
      {
        "@id": product,
        identifiers: { purl: product },
        hashes: { "sha-256": digest.replace(/^sha256:/, "") },
        ...(d.component ? { subcomponents: [{ "@id": d.component }] } : {}),
      },
    ],
    status: d.status as VexStatus,
    ...(d.justification ? { justification: d.justification as Justification } : {}),
    ...(d.impact ? { impact_statement: d.impact } : {}),
    ...(d.action ? { action_statement: d.action } : {}),
  };
  const body = {
    "@context": "https://openvex.dev/ns/v0.2.0",
    author: d.author,
    role: "person",
    timestamp,
    version: 1,
    tooling: `${TOOL.name} ${TOOL.version} (vex add)`,
    statements: [statement],
  };
  const id = `urn:cleanimg:vex:${sha256(JSON.stringify(body))}`;
  const { "@context": context, ...rest } = body;
  const document = `${JSON.stringify({ "@context": context, "@id": id, ...rest }, null, 2)}\n`;
  const bytes = new TextEncoder().encode(document);
  readVex(bytes, "vex add"); // what is stored must read back
  const store = ctx.evidence();
  const blob = await store.putBlob(bytes, OPENVEX_MEDIA_TYPE);
  const link = await store.link(digest, blob, VEX_DECISION_KIND, {
    vulnerability: d.vulnerability,
    status: d.status,
    author: d.author,
    ...(d.component ? { component: d.component } : {}),
  });
  await recordAuditEvent(ctx, {
    action: "vex-decision",
    subject: digest,
    subjectName: ref,
    evidence: { document: blob },
    details: {
      vulnerability: d.vulnerability,
      status: d.status,
      author: d.author,
      ...(d.component ? { component: d.component } : {}),
    },
  });
  return { image: digest, document, link };
}
