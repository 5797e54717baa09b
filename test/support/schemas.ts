import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import AjvDraft07 from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

/** The official schemas in ../shared/corpus/schemas (read by tests only, never shipped). */
export const SCHEMAS = resolve(import.meta.dirname, "../../../shared/corpus/schemas");

const load = (p: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(SCHEMAS, p), "utf8"));
// ajv-formats is CommonJS with a default export
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as (a: unknown) => void;

export type Validate = (doc: unknown) => string[];

// Formats that ajv-formats does not define: checked loosely (a URI-like or e-mail-like string).
function addLooseFormats(ajv: unknown): void {
  const a = ajv as { addFormat(name: string, re: RegExp): void };
  a.addFormat("iri-reference", /^\S+$/);
  a.addFormat("iri", /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/);
  a.addFormat("idn-email", /^[^\s@]+@[^\s@]+$/);
}

function wrap(fn: ((d: unknown) => boolean) & { errors?: unknown }): Validate {
  return (doc) => {
    if (fn(doc)) {
      return [];
    }
    return ((fn.errors ?? []) as { instancePath: string; message?: string }[])
      .slice(0, 10)
      .map((e) => `${e.instancePath} ${e.message ?? ""}`);
  };
}

/** CycloneDX 1.5 / 1.6 / 1.7 validator, with the schemas they $ref registered under their relative names. */
export function cycloneDxValidator(version: "1.5" | "1.6" | "1.7"): Validate {
  const Ajv = ((AjvDraft07 as unknown as { default?: unknown }).default ?? AjvDraft07) as new (
    o: object,
  ) => {
    addSchema(s: object, k?: string): void;
    compile(s: object): ((d: unknown) => boolean) & { errors?: unknown };
  };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  addLooseFormats(ajv);
  ajv.addSchema(load("cyclonedx/spdx.schema.json"), "spdx.schema.json");
  ajv.addSchema(load("cyclonedx/jsf-0.82.schema.json"), "jsf-0.82.schema.json");
  ajv.addSchema(load("cyclonedx/cryptography-defs.schema.json"), "cryptography-defs.schema.json");
  return wrap(ajv.compile(load(`cyclonedx/bom-${version}.schema.json`)));
}

export function spdx23Validator(): Validate {
  const Ajv = ((AjvDraft07 as unknown as { default?: unknown }).default ?? AjvDraft07) as new (
    o: object,
  ) => {
    compile(s: object): ((d: unknown) => boolean) & { errors?: unknown };
  };
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  addLooseFormats(ajv);
  return wrap(ajv.compile(load("spdx/2.3/spdx-schema.json")));
}

export function spdx3Validator(): Validate {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  addLooseFormats(ajv);
  return wrap(ajv.compile(load("spdx/3.0.1/spdx-json-schema.json")));
}

/**
 * SARIF 2.1.0 validator, from the official schema (sarif-2.1.0-rtm.5) that the
 * @microsoft/jest-sarif package ships. The schema is draft-04; its keywords validate the same
 * under ajv's default draft once the draft-04 `id` and `$schema` are removed.
 */
export function sarifValidator(): Validate {
  const schema = JSON.parse(
    readFileSync(
      resolve(
        import.meta.dirname,
        "../../node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json",
      ),
      "utf8",
    ),
  ) as Record<string, unknown>;
  delete schema["id"];
  delete schema["$schema"];
  const Ajv = ((AjvDraft07 as unknown as { default?: unknown }).default ?? AjvDraft07) as new (
    o: object,
  ) => {
    compile(s: object): ((d: unknown) => boolean) & { errors?: unknown };
  };
  // rtm.5 has a language pattern with a stray "]" that only non-unicode regular expressions accept
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  addLooseFormats(ajv);
  return wrap(ajv.compile(schema));
}

/** OpenVEX 0.2.0 validator (the spec repository's JSON schema, draft 2020-12). */
export function openVexValidator(): Validate {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  addLooseFormats(ajv);
  return wrap(ajv.compile(load("openvex/openvex_json_schema.json")));
}

/** CSAF 2.0 validator (OASIS schema, draft 2020-12), with the FIRST CVSS schemas it $refs. */
export function csafValidator(): Validate {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  addLooseFormats(ajv);
  for (const v of ["2.0", "3.0", "3.1"]) {
    // FIRST's CVSS schemas are draft-04: dropping its `$schema`/`id` lets ajv 2020 read the same keywords
    const { $schema: _schema, id: _id, ...s } = load(`csaf/first/cvss-v${v}.json`);
    ajv.addSchema(s, `https://www.first.org/cvss/cvss-v${v}.json`);
  }
  return wrap(ajv.compile(load("csaf/csaf_json_schema.json")));
}

/** OSCAL 1.2.1 model validator (draft-07; OSCAL's regex patterns use Unicode property escapes). */
export function oscalValidator(model: "assessment-results" | "poam"): Validate {
  const Ajv = ((AjvDraft07 as unknown as { default?: unknown }).default ?? AjvDraft07) as new (
    o: object,
  ) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } };
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: true });
  addFormats(ajv);
  addLooseFormats(ajv);
  return wrap(ajv.compile(load(`oscal/1.2.1/oscal_${model}_schema.json`)));
}
