import { VexError } from "../core/errors.js";
import { assertJsonDepth } from "../core/json.js";
import { CSAF_EVIDENCE_SEPARATOR, type VexFormat } from "./formats.js";
import { JUSTIFICATIONS, type Justification, VEX_STATUSES, type VexStatus } from "./model.js";

/** A statement as a VEX document states it, in the OpenVEX vocabulary whatever the format. */
export interface ReadStatement {
  readonly vulnerability: string;
  readonly aliases: readonly string[];
  /** Product identifiers: purls, or `sha256:` digests. */
  readonly products: readonly string[];
  /** Subcomponent purls; empty when the statement is about the product as a whole. */
  readonly subcomponents: readonly string[];
  readonly status: VexStatus;
  readonly justification?: Justification;
  readonly impact?: string;
  readonly action?: string;
  readonly timestamp?: string;
  readonly author?: string;
  /** The document it came from (file name), for reports and conflicts. */
  readonly document: string;
}

export interface VexDocument {
  readonly format: VexFormat;
  readonly statements: readonly ReadStatement[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

/** The optional fields of a statement, only those with a value (exact optional properties). */
function optional(o: {
  justification: Justification | undefined;
  impact: string | undefined;
  action: string | undefined;
  timestamp: string | undefined;
  author: string | undefined;
}): Partial<Pick<ReadStatement, "justification" | "impact" | "action" | "timestamp" | "author">> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function bad(name: string, what: string): VexError {
  return new VexError("VEX_INVALID", `${name}: ${what}`, {
    hint: "give an OpenVEX 0.2.0, CSAF 2.0 (csaf_vex) or CycloneDX 1.4+ document with vulnerabilities",
  });
}

/**
 * Reads an OpenVEX, CSAF VEX or CycloneDX VEX document (detected from its content).
 * @throws VexError VEX_INVALID when it is none of them, or a statement lacks what it needs
 */
export function readVex(bytes: Uint8Array, name: string): VexDocument {
  let doc: Json;
  const text = new TextDecoder().decode(bytes);
  assertJsonDepth(text, name);
  try {
    doc = obj(JSON.parse(text));
  } catch (e) {
    throw bad(name, `not JSON (${(e as Error).message})`);
  }
  const context = str(doc["@context"]);
  if (context?.startsWith("https://openvex.dev/ns")) {
    return { format: "openvex", statements: readOpenVex(doc, name) };
  }
  if (obj(doc["document"])["csaf_version"]) {
    return { format: "csaf", statements: readCsaf(doc, name) };
  }
  if (doc["bomFormat"] === "CycloneDX") {
    return { format: "cyclonedx", statements: readCycloneDx(doc, name) };
  }
  throw bad(name, "not a VEX document this version reads");
}

function status(v: unknown, name: string): VexStatus {
  if ((VEX_STATUSES as readonly unknown[]).includes(v)) {
    return v as VexStatus;
  }
  throw bad(name, `unknown VEX status ${JSON.stringify(v)}`);
}

function justification(v: unknown): Justification | undefined {
  return (JUSTIFICATIONS as readonly unknown[]).includes(v) ? (v as Justification) : undefined;
}

function readOpenVex(doc: Json, name: string): ReadStatement[] {
  const author = str(doc["author"]);
  return arr(doc["statements"]).map((raw, i) => {
    const s = obj(raw);
    const vuln = obj(s["vulnerability"]);
    const id = str(vuln["name"]) ?? str(vuln["@id"]);
    if (!id) {
      throw bad(name, `statement ${i} names no vulnerability`);
    }
    const products: string[] = [];
    const subcomponents: string[] = [];
    for (const p of arr(s["products"]).map(obj)) {
      const purl = str(obj(p["identifiers"])["purl"]);
      const pid = str(p["@id"]);
      for (const x of [pid, purl]) {
        if (x && !products.includes(x)) {
          products.push(x);
        }
      }
      const sha = str(obj(p["hashes"])["sha-256"]);
      if (sha) {
        products.push(`sha256:${sha}`);
      }
      for (const c of arr(p["subcomponents"]).map(obj)) {
        const cp = str(obj(c["identifiers"])["purl"]) ?? str(c["@id"]);
        if (cp) {
          subcomponents.push(cp);
        }
      }
    }
    const j = justification(s["justification"]);
    const impact = str(s["impact_statement"]);
    const action = str(s["action_statement"]);
    const timestamp = str(s["timestamp"]) ?? str(doc["timestamp"]);
    return {
      vulnerability: id,
      aliases: arr(vuln["aliases"]).filter((a): a is string => typeof a === "string"),
      products,
      subcomponents,
      status: status(s["status"], name),
      ...optional({ justification: j, impact, action, timestamp, author }),
      document: name,
    };
  });
}

const CDX_STATUS: Record<string, VexStatus> = {
  not_affected: "not_affected",
  false_positive: "not_affected",
  exploitable: "affected",
  resolved: "fixed",
  resolved_with_pedigree: "fixed",
  in_triage: "under_investigation",
};

const CDX_JUSTIFICATION: Record<string, Justification> = {
  code_not_present: "vulnerable_code_not_present",
  code_not_reachable: "vulnerable_code_not_in_execute_path",
  requires_configuration: "vulnerable_code_cannot_be_controlled_by_adversary",
  requires_dependency: "component_not_present",
  requires_environment: "vulnerable_code_cannot_be_controlled_by_adversary",
  protected_by_compiler: "inline_mitigations_already_exist",
  protected_at_runtime: "inline_mitigations_already_exist",
  protected_at_perimeter: "inline_mitigations_already_exist",
  protected_by_mitigating_control: "inline_mitigations_already_exist",
};

function readCycloneDx(doc: Json, name: string): ReadStatement[] {
  const meta = obj(doc["metadata"]);
  const subject = obj(meta["component"]);
  const purlOf = new Map<string, string>();
  const walk = (cs: unknown[]): void => {
    for (const c of cs.map(obj)) {
      const ref = str(c["bom-ref"]);
      const purl = str(c["purl"]);
      if (ref && purl) {
        purlOf.set(ref, purl);
      }
      walk(arr(c["components"]));
    }
  };
  walk([subject, ...arr(doc["components"])]);
  const product = str(subject["purl"]);
  const productRef = str(subject["bom-ref"]);
  const author = str(obj(arr(meta["authors"])[0])["name"]);
  return arr(doc["vulnerabilities"])
    .map(obj)
    .filter((v) => v["analysis"] !== undefined)
    .map((v, i) => {
      const id = str(v["id"]);
      if (!id) {
        throw bad(name, `vulnerability ${i} has no id`);
      }
      const a = obj(v["analysis"]);
      const state = str(a["state"]);
      const st = state ? CDX_STATUS[state] : undefined;
      if (!st) {
        throw bad(name, `vulnerability ${id}: unknown analysis state ${JSON.stringify(state)}`);
      }
      const props = new Map(
        arr(v["properties"]).map((p) => [str(obj(p)["name"]), str(obj(p)["value"])] as const),
      );
      const j =
        justification(props.get("cleanimg:vex:justification")) ??
        (str(a["justification"]) ? CDX_JUSTIFICATION[a["justification"] as string] : undefined);
      const subcomponents = arr(v["affects"])
        .map((x) => str(obj(x)["ref"]))
        .filter((r): r is string => r !== undefined && r !== productRef)
        .map((r) => purlOf.get(r) ?? r);
      const impact = str(a["detail"]);
      const action = str(v["recommendation"]);
      const timestamp = str(a["lastUpdated"]) ?? str(a["firstIssued"]) ?? str(meta["timestamp"]);
      return {
        vulnerability: id,
        aliases: arr(v["references"])
          .map((r) => str(obj(r)["id"]))
          .filter((r): r is string => r !== undefined),
        products: product ? [product] : [],
        subcomponents,
        status: st,
        ...optional({ justification: j, impact, action, timestamp, author }),
        document: name,
      };
    });
}

const CSAF_STATUS: Record<string, VexStatus> = {
  known_not_affected: "not_affected",
  known_affected: "affected",
  fixed: "fixed",
  first_fixed: "fixed",
  under_investigation: "under_investigation",
};

function readCsaf(doc: Json, name: string): ReadStatement[] {
  const document = obj(doc["document"]);
  const tree = obj(doc["product_tree"]);
  const ident = new Map<string, string>();
  const addProduct = (p: Json): void => {
    const id = str(p["product_id"]);
    const helper = obj(p["product_identification_helper"]);
    const purl = str(helper["purl"]) ?? str(helper["cpe"]) ?? str(p["name"]);
    if (id && purl) {
      ident.set(id, purl);
    }
  };
  const walk = (branches: unknown[]): void => {
    for (const b of branches.map(obj)) {
      if (b["product"]) {
        addProduct(obj(b["product"]));
      }
      walk(arr(b["branches"]));
    }
  };
  walk(arr(tree["branches"]));
  for (const p of arr(tree["full_product_names"])) {
    addProduct(obj(p));
  }
  const composite = new Map<string, { component: string; product: string }>();
  for (const r of arr(tree["relationships"]).map(obj)) {
    const id = str(obj(r["full_product_name"])["product_id"]);
    const c = str(r["product_reference"]);
    const p = str(r["relates_to_product_reference"]);
    if (id && c && p) {
      composite.set(id, { component: c, product: p });
    }
  }
  const tracking = obj(document["tracking"]);
  const timestamp = str(tracking["current_release_date"]);
  const author = str(obj(document["publisher"])["name"]);
  const out: ReadStatement[] = [];
  for (const v of arr(doc["vulnerabilities"]).map(obj)) {
    const ids = arr(v["ids"]).map((x) => str(obj(x)["text"]));
    const cve = str(v["cve"]);
    const id = ids.find((x) => x !== undefined) ?? cve;
    if (!id) {
      continue; // a vulnerability without an identifier cannot be matched to a finding
    }
    const aliases = [cve, ...ids].filter((x): x is string => x !== undefined && x !== id);
    const byProduct = <T>(list: unknown[], pick: (x: Json) => T | undefined): Map<string, T> => {
      const m = new Map<string, T>();
      for (const x of list.map(obj)) {
        const val = pick(x);
        for (const pid of arr(x["product_ids"]).filter((p): p is string => typeof p === "string")) {
          if (val !== undefined) {
            m.set(pid, val);
          }
        }
      }
      return m;
    };
    const flags = byProduct(arr(v["flags"]), (x) => justification(x["label"]));
    const impacts = byProduct(
      arr(v["threats"]).filter((t) => obj(t)["category"] === "impact"),
      (x) => str(x["details"])?.split(CSAF_EVIDENCE_SEPARATOR)[0],
    );
    const actions = byProduct(arr(v["remediations"]), (x) => str(x["details"]));
    for (const [list, pids] of Object.entries(obj(v["product_status"]))) {
      const st = CSAF_STATUS[list];
      if (!st) {
        continue; // recommended, last_affected: not statements about this version
      }
      for (const pid of arr(pids).filter((p): p is string => typeof p === "string")) {
        const rel = composite.get(pid);
        const product = ident.get(rel ? rel.product : pid) ?? (rel ? rel.product : pid);
        const sub = rel ? (ident.get(rel.component) ?? rel.component) : undefined;
        const j = flags.get(pid);
        const impact = impacts.get(pid);
        const action = actions.get(pid);
        out.push({
          vulnerability: id,
          aliases,
          products: [product],
          subcomponents: sub ? [sub] : [],
          status: st,
          ...optional({ justification: j, impact, action, timestamp, author }),
          document: name,
        });
      }
    }
  }
  return out;
}
