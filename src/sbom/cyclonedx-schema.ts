import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { SbomError } from "../core/errors.js";

/**
 * Checks a CycloneDX document against its official JSON schema (1.5, 1.6, 1.7; data/cyclonedx,
 * Apache-2.0, from CycloneDX/specification), as Dependency-Track does on upload. Ajv is loaded
 * and each schema compiled on first use only, so commands that read no CycloneDX do not pay it.
 * 1.2 to 1.4 have no schema shipped here and are read by structure alone.
 */
const SCHEMA_VERSIONS = new Set(["1.5", "1.6", "1.7"]);
// Two levels under the package root both as src/sbom, dist/sbom and the bundled dist/cli.
const dataFile = (name: string): string =>
  fileURLToPath(new URL(`../../data/cyclonedx/${name}`, import.meta.url));

type Validate = ((d: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string }[] | null;
};
const compiled = new Map<string, Validate>();

function validatorFor(version: string): Validate {
  const done = compiled.get(version);
  if (done) {
    return done;
  }
  const require = createRequire(import.meta.url);
  const Ajv = require("ajv") as new (
    o: object,
  ) => {
    addSchema(s: object, k: string): void;
    addFormat(name: string, re: RegExp): void;
    compile(s: object): Validate;
  };
  const addFormats = require("ajv-formats") as (a: unknown) => void;
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: true });
  addFormats(ajv);
  // formats ajv-formats does not define: a URI-like or e-mail-like string
  ajv.addFormat("iri-reference", /^\S+$/);
  ajv.addFormat("iri", /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/);
  ajv.addFormat("idn-email", /^[^\s@]+@[^\s@]+$/);
  const load = (name: string): object => JSON.parse(readFileSync(dataFile(name), "utf8"));
  for (const name of [
    "spdx.schema.json",
    "jsf-0.82.schema.json",
    "cryptography-defs.schema.json",
  ]) {
    ajv.addSchema(load(name), name);
  }
  const v = ajv.compile(load(`bom-${version}.schema.json`));
  compiled.set(version, v);
  return v;
}

/** @throws SbomError SBOM_INVALID naming the first place the document breaks its schema. */
export function assertCycloneDxSchema(doc: unknown, specVersion: string, path: string): void {
  if (!SCHEMA_VERSIONS.has(specVersion)) {
    return;
  }
  const v = validatorFor(specVersion);
  if (v(doc)) {
    return;
  }
  const e = v.errors?.[0];
  throw new SbomError(
    "SBOM_INVALID",
    `${path}: not valid CycloneDX ${specVersion}: ${e?.instancePath || "/"} ${e?.message ?? "breaks the schema"}`,
    {
      hint: `check the document against https://cyclonedx.org/schema/bom-${specVersion}.schema.json (the tool that wrote it, or cyclonedx-cli validate, names every error)`,
    },
  );
}
