import { sha256 } from "../core/digest.js";
import type { Justification, VexStatement, VexStatus } from "./model.js";

/** `cyclonedx` is CycloneDX 1.6 (docs/adr/0015); `cyclonedx-1.7` the same document in 1.7. */
export const VEX_FORMATS = ["openvex", "csaf", "cyclonedx", "cyclonedx-1.7"] as const;
export type VexFormat = (typeof VEX_FORMATS)[number];

export interface VexDocumentOptions {
  readonly author: string;
  readonly timestamp: string;
  readonly tool: { readonly name: string; readonly version: string };
}

/** Between the impact statement and its evidence in a CSAF impact threat. */
export const CSAF_EVIDENCE_SEPARATOR = "\n\nEvidence: ";

/** The evidence of a statement as one line of text (formats without a structured place for it). */
export function evidenceNote(s: VexStatement): string | undefined {
  const e = s.evidence;
  if (!e) {
    return undefined;
  }
  const files = e.files
    .map((f) => `${f.path}${f.layer ? ` [layer ${f.layer}]` : ""}: ${f.observed}`)
    .join("; ");
  return `analysis ${e.analysis} on image ${e.image}: ${e.found}. Files: ${files}. Vulnerability database snapshot ${e.dbSnapshot}${e.scan ? `, scan evidence ${e.scan}` : ""}.`;
}

function aliasesOf(s: VexStatement): string[] {
  return [...new Set(s.aliases.filter((a) => a !== s.vulnerability))].sort();
}

function uniqueByJson<T>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((x) => {
    const k = JSON.stringify(x);
    if (seen.has(k)) {
      return false;
    }
    seen.add(k);
    return true;
  });
}

/**
 * OpenVEX 0.2.0. The document id is derived from its content, so the same statements give the
 * same document. OpenVEX needs at least one statement: callers check for an empty list first.
 */
export function renderOpenVex(statements: readonly VexStatement[], o: VexDocumentOptions): string {
  const stmts = uniqueByJson(
    statements.map((s) => ({
      vulnerability: {
        name: s.vulnerability,
        ...(s.description ? { description: s.description } : {}),
        ...(aliasesOf(s).length ? { aliases: aliasesOf(s) } : {}),
      },
      timestamp: s.timestamp,
      products: [
        {
          "@id": s.product.purl,
          identifiers: { purl: s.product.purl },
          hashes: { "sha-256": s.product.digest.replace(/^sha256:/, "") },
          subcomponents: [{ "@id": s.subcomponent.purl }],
        },
      ],
      status: s.status,
      ...(s.justification ? { justification: s.justification } : {}),
      ...(s.impact ? { impact_statement: s.impact } : {}),
      ...(s.action ? { action_statement: s.action } : {}),
      ...(s.evidence ? { status_notes: evidenceNote(s) } : {}),
    })),
  );
  const body = {
    "@context": "https://openvex.dev/ns/v0.2.0",
    author: o.author,
    timestamp: o.timestamp,
    version: 1,
    tooling: `${o.tool.name} ${o.tool.version}`,
    statements: stmts,
  };
  const id = `urn:cleanimg:vex:${sha256(JSON.stringify(body))}`;
  const { "@context": context, ...rest } = body;
  return `${JSON.stringify({ "@context": context, "@id": id, ...rest }, null, 2)}\n`;
}

const CDX_STATE: Record<VexStatus, string> = {
  not_affected: "not_affected",
  affected: "exploitable",
  fixed: "resolved",
  under_investigation: "in_triage",
};

/** CycloneDX has no "component not present"; both map to code_not_present, the exact one is kept in a property. */
const CDX_JUSTIFICATION: Record<Justification, string> = {
  component_not_present: "code_not_present",
  vulnerable_code_not_present: "code_not_present",
  vulnerable_code_not_in_execute_path: "code_not_reachable",
  vulnerable_code_cannot_be_controlled_by_adversary: "requires_environment",
  inline_mitigations_already_exist: "protected_by_mitigating_control",
};

/**
 * CycloneDX VEX (1.6, or 1.7, which keeps every field used here): a BOM whose vulnerabilities
 * carry `analysis` and point at the components.
 */
export function renderCycloneDxVex(
  statements: readonly VexStatement[],
  o: VexDocumentOptions,
  specVersion: "1.6" | "1.7" = "1.6",
): string {
  const first = statements[0];
  const components = uniqueByJson(
    statements.map((s) => ({
      type: "library",
      "bom-ref": s.subcomponent.purl,
      name: s.subcomponent.name,
      version: s.subcomponent.version,
      purl: s.subcomponent.purl,
    })),
  ).sort((a, b) => (a["bom-ref"] < b["bom-ref"] ? -1 : a["bom-ref"] > b["bom-ref"] ? 1 : 0));
  const vulnerabilities = statements.map((s, i) => {
    const props = [
      ...(s.justification ? [{ name: "cleanimg:vex:justification", value: s.justification }] : []),
      ...(s.evidence ? [{ name: "cleanimg:vex:evidence", value: JSON.stringify(s.evidence) }] : []),
    ];

    return {
      "bom-ref": `vex-${i + 1}`,
      id: s.vulnerability,
      ...(aliasesOf(s).length
        ? { references: aliasesOf(s).map((a) => ({ id: a, source: { name: "alias" } })) }
        : {}),
      ...(s.description ? { description: s.description } : {}),
      ...(s.action ? { recommendation: s.action } : {}),
      analysis: {
        state: CDX_STATE[s.status],
        ...(s.justification ? { justification: CDX_JUSTIFICATION[s.justification] } : {}),
        ...(s.status === "affected" && s.action?.startsWith("Update")
          ? { response: ["update"] }
          : {}),
        ...(s.impact ? { detail: s.impact } : {}),
        firstIssued: s.timestamp,
        lastUpdated: s.timestamp,
      },
      affects: [{ ref: s.subcomponent.purl }],
      ...(props.length ? { properties: props } : {}),
    };
  });
  const serial = sha256(JSON.stringify({ statements, o })).slice(7, 39);
  const uuid = `${serial.slice(0, 8)}-${serial.slice(8, 12)}-4${serial.slice(13, 16)}-a${serial.slice(17, 20)}-${serial.slice(20, 32)}`;
  const doc = {
    $schema: `http://cyclonedx.org/schema/bom-${specVersion}.schema.json`,
    bomFormat: "CycloneDX",
    specVersion,
    serialNumber: `urn:uuid:${uuid}`,
    version: 1,
    metadata: {
      timestamp: o.timestamp,
      tools: { components: [{ type: "application", name: o.tool.name, version: o.tool.version }] },
      authors: [{ name: o.author }],
      ...(first
        ? {
            component: {
              type: "container",
              "bom-ref": first.product.purl,
              name: first.product.purl.replace(/^pkg:oci\//, "").split("@")[0],
              version: first.product.digest,
              purl: first.product.purl,
              hashes: [{ alg: "SHA-256", content: first.product.digest.replace(/^sha256:/, "") }],
            },
          }
        : {}),
    },
    components,
    vulnerabilities,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

const CSAF_STATUS: Record<VexStatus, string> = {
  not_affected: "known_not_affected",
  affected: "known_affected",
  fixed: "fixed",
  under_investigation: "under_investigation",
};

const CSAF_IMAGE_ID = "IMAGE";

/** The product ids of a CSAF VEX document: the image, and each component in it. */
class CsafProducts {
  readonly ids = new Map<string, string>();
  readonly byPurl: Map<string, VexStatement["subcomponent"]>;

  constructor(statements: readonly VexStatement[]) {
    for (const s of statements) {
      if (!this.ids.has(s.subcomponent.purl)) {
        this.ids.set(s.subcomponent.purl, `COMPONENT-${this.ids.size + 1}`);
      }
    }
    this.byPurl = new Map(statements.map((s) => [s.subcomponent.purl, s.subcomponent]));
  }

  inImage(purl: string): string {
    return `${this.ids.get(purl)}:${CSAF_IMAGE_ID}`;
  }

  private label(purl: string): string {
    return `${this.byPurl.get(purl)?.name} ${this.byPurl.get(purl)?.version}`;
  }

  tree(first: VexStatement | undefined, digest: string) {
    return {
      full_product_names: [
        ...(first
          ? [
              {
                name: `${first.product.purl}`,
                product_id: CSAF_IMAGE_ID,
                product_identification_helper: {
                  purl: first.product.purl,
                  hashes: [
                    {
                      file_hashes: [{ algorithm: "sha256", value: digest.replace(/^sha256:/, "") }],
                      filename: "manifest",
                    },
                  ],
                },
              },
            ]
          : []),
        ...[...this.ids.entries()].map(([purl, pid]) => ({
          name: this.label(purl),
          product_id: pid,
          product_identification_helper: { purl },
        })),
      ],
      ...(this.ids.size
        ? {
            relationships: [...this.ids.entries()].map(([purl, pid]) => ({
              category: "default_component_of",
              full_product_name: {
                name: `${this.label(purl)} in the image`,
                product_id: this.inImage(purl),
              },
              product_reference: pid,
              relates_to_product_reference: CSAF_IMAGE_ID,
            })),
          }
        : {}),
    };
  }
}

/** One CSAF vulnerability entry: every component-in-image product in one status list. */
function csafVulnerability(id: string, ss: readonly VexStatement[], products: CsafProducts) {
  const cve = [id, ...ss.flatMap((s) => s.aliases)].find((a) => /^CVE-\d{4}-\d{4,}$/.test(a));
  const productStatus: Record<string, string[]> = {};
  for (const s of ss) {
    const key = CSAF_STATUS[s.status];
    const list = productStatus[key] ?? [];
    productStatus[key] = list;
    if (!list.includes(products.inImage(s.subcomponent.purl))) {
      list.push(products.inImage(s.subcomponent.purl));
    }
  }
  const flags = ss
    .filter((s) => s.status === "not_affected" && s.justification)
    .map((s) => ({
      label: s.justification as string,
      product_ids: [products.inImage(s.subcomponent.purl)],
    }));
  const threats = ss
    .filter((s) => s.impact)
    .map((s) => ({
      category: "impact",
      details: [s.impact, evidenceNote(s)].filter(Boolean).join(CSAF_EVIDENCE_SEPARATOR),
      product_ids: [products.inImage(s.subcomponent.purl)],
    }));
  const remediations = ss
    .filter((s) => s.status === "affected" && s.action)
    .map((s) => ({
      category: s.action?.startsWith("Update") ? "vendor_fix" : "none_available",
      details: s.action as string,
      product_ids: [products.inImage(s.subcomponent.purl)],
    }));
  const description = ss.find((s) => s.description)?.description;
  return {
    ...(cve ? { cve } : {}),
    ...(cve !== id ? { ids: [{ system_name: "advisory", text: id }] } : {}),
    ...(description
      ? { notes: [{ category: "summary", text: description, title: "Summary" }] }
      : {}),
    product_status: productStatus,
    ...(flags.length ? { flags: uniqueByJson(flags) } : {}),
    ...(threats.length ? { threats: uniqueByJson(threats) } : {}),
    ...(remediations.length ? { remediations: uniqueByJson(remediations) } : {}),
  };
}

/**
 * CSAF 2.0 with the VEX profile (category csaf_vex): one vulnerability entry per advisory, the
 * image and each component in the product tree, and every component-in-image product in exactly
 * one product_status list, with a flag or impact threat for not-affected and a remediation for
 * affected ones.
 */
export function renderCsafVex(statements: readonly VexStatement[], o: VexDocumentOptions): string {
  const first = statements[0];
  const products = new CsafProducts(statements);
  const byVuln = new Map<string, VexStatement[]>();
  for (const s of statements) {
    byVuln.set(s.vulnerability, [...(byVuln.get(s.vulnerability) ?? []), s]);
  }
  const vulnerabilities = [...byVuln.entries()].map(([id, ss]) =>
    csafVulnerability(id, ss, products),
  );
  const digest = first?.product.digest ?? "";
  const trackingId = `cleanimg-vex-${sha256(JSON.stringify(statements)).slice(7, 23)}`;
  const doc = {
    document: {
      category: "csaf_vex",
      csaf_version: "2.0",
      publisher: { category: "other", name: o.author, namespace: "https://github.com/cleanimg" },
      title: `VEX for image ${digest}`,
      tracking: {
        current_release_date: o.timestamp,
        generator: { engine: { name: o.tool.name, version: o.tool.version } },
        id: trackingId,
        initial_release_date: o.timestamp,
        revision_history: [{ date: o.timestamp, number: "1", summary: "Generated from a scan." }],
        status: "final",
        version: "1",
      },
    },
    product_tree: products.tree(first, digest),
    ...(vulnerabilities.length ? { vulnerabilities } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Renders statements in one of the VEX formats. */
export function renderVex(
  format: VexFormat,
  statements: readonly VexStatement[],
  o: VexDocumentOptions,
): string {
  switch (format) {
    case "openvex":
      return renderOpenVex(statements, o);
    case "cyclonedx":
      return renderCycloneDxVex(statements, o);
    case "cyclonedx-1.7":
      return renderCycloneDxVex(statements, o, "1.7");
    case "csaf":
      return renderCsafVex(statements, o);
  }
}
