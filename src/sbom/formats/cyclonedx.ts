import type { Package, Sbom } from "../model.js";
import {
  containment,
  imagePurl,
  parseContact,
  stableUuid,
  subjectName,
  subjectVersion,
} from "./common.js";

/** What differs between the CycloneDX versions we write (capability object, not version checks). */
export interface CycloneDxSpec {
  readonly version: "1.5" | "1.6" | "1.7";
  /** 1.6 replaced component `author` (string) with `authors` (contacts). */
  readonly authorsArray: boolean;
  /** 1.6 replaced `metadata.tools.components` … both use the object form (1.5+). */
  readonly toolsObject: true;
}

export const CYCLONEDX_1_5: CycloneDxSpec = {
  version: "1.5",
  authorsArray: false,
  toolsObject: true,
};
export const CYCLONEDX_1_6: CycloneDxSpec = {
  version: "1.6",
  authorsArray: true,
  toolsObject: true,
};
/** 1.7 keeps every field 1.6 has that we write (it adds citations, patents, license details). */
export const CYCLONEDX_1_7: CycloneDxSpec = {
  version: "1.7",
  authorsArray: true,
  toolsObject: true,
};

type Json = Record<string, unknown>;

function component(p: Package, spec: CycloneDxSpec, children: Map<string, Package[]>): Json {
  const props: { name: string; value: string }[] = [
    { name: "cleanimg:package:foundBy", value: p.foundBy },
  ];
  p.locations.forEach((l, i) => {
    props.push({ name: `cleanimg:location:${i}:path`, value: l.path });
    if (l.layer) {
      props.push({ name: `cleanimg:location:${i}:layerID`, value: l.layer });
    }
  });
  if (p.source && (p.source.name !== p.name || p.source.version !== p.version)) {
    props.push({ name: "cleanimg:package:sourceName", value: p.source.name });
    props.push({ name: "cleanimg:package:sourceVersion", value: p.source.version });
  }
  if (p.arch) {
    props.push({ name: "cleanimg:package:arch", value: p.arch });
  }
  for (const [k, v] of Object.entries(p.properties ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    props.push({ name: `cleanimg:${k}`, value: v });
  }
  const nested = children.get(p.id) ?? [];
  return {
    "bom-ref": p.id,
    type: "library",
    ...(p.supplier ? { supplier: { name: parseContact(p.supplier).name } } : {}),
    ...(p.author
      ? spec.authorsArray
        ? {
            authors: [
              {
                name: parseContact(p.author).name,
                ...(parseContact(p.author).email ? { email: parseContact(p.author).email } : {}),
              },
            ],
          }
        : { author: p.author }
      : {}),
    name: p.name,
    version: p.version,
    ...(p.license ? { licenses: [{ expression: p.license }] } : {}),
    ...(p.checksums.length
      ? {
          hashes: p.checksums.map((c) => ({
            alg: c.algorithm.replace(/^SHA(\d)/, "SHA-$1"),
            content: c.value,
          })),
        }
      : {}),
    purl: p.purl,
    ...(p.cpes[0] ? { cpe: p.cpes[0] } : {}),
    properties: props,
    ...(nested.length ? { components: nested.map((c) => component(c, spec, children)) } : {}),
  };
}

/**
 * What the SBOM could not read or identify (files over a size limit, unreadable archives, a
 * cataloger's failure), so that the document itself says where it is incomplete, not only the
 * command's stderr. Sorted, so that the same image gives the same document.
 */
function issueProperties(sbom: Sbom): { name: string; value: string }[] {
  return sbom.issues
    .map(
      (i) =>
        `${i.code}: ${i.message}${i.path ? ` (${i.path})` : ""}${i.subject ? ` [${i.subject}]` : ""}`,
    )
    .sort()
    .map((value) => ({ name: "cleanimg:issue", value }));
}

/** Renders an SBOM as CycloneDX JSON (1.5, 1.6 or 1.7). Deterministic for the same input. */
export function renderCycloneDx(sbom: Sbom, spec: CycloneDxSpec = CYCLONEDX_1_6): string {
  const { top, children } = containment(sbom);
  const version = subjectVersion(sbom);
  const rootPurl = imagePurl(sbom);
  const components: Json[] = [];
  if (sbom.distro) {
    components.push({
      "bom-ref": "os",
      type: "operating-system",
      name: sbom.distro.id,
      ...(sbom.distro.versionId ? { version: sbom.distro.versionId } : {}),
      ...(sbom.distro.prettyName ? { description: sbom.distro.prettyName } : {}),
    });
  }
  components.push(...top.map((p) => component(p, spec, children)));
  const deps = new Map<string, string[]>();
  deps.set("root", [...(sbom.distro ? ["os"] : []), ...top.map((p) => p.id)]);
  for (const r of sbom.relationships) {
    if (r.type === "depends-on") {
      deps.set(r.from, [...(deps.get(r.from) ?? []), r.to]);
    }
  }
  const body: Json = {
    $schema: `http://cyclonedx.org/schema/bom-${spec.version}.schema.json`,
    bomFormat: "CycloneDX",
    specVersion: spec.version,
    serialNumber: "",
    version: 1,
    metadata: {
      timestamp: sbom.created,
      ...(sbom.issues.length > 0 ? { properties: issueProperties(sbom) } : {}),
      tools: {
        components: [{ type: "application", name: sbom.tool.name, version: sbom.tool.version }],
      },
      component: {
        "bom-ref": "root",
        type: sbom.subject.kind === "image" ? "container" : "file",
        name: subjectName(sbom),
        ...(version ? { version } : {}),
        ...(sbom.subject.kind === "image"
          ? { hashes: [{ alg: "SHA-256", content: sbom.subject.manifestDigest.slice(7) }] }
          : {}),
        ...(rootPurl ? { purl: rootPurl } : {}),
        ...(sbom.subject.kind === "image"
          ? {
              properties: [
                { name: "cleanimg:image:configDigest", value: sbom.subject.configDigest },
                ...sbom.subject.layers.map((l, i) => ({
                  name: `cleanimg:image:layer:${i}`,
                  value: l,
                })),
              ],
            }
          : {}),
      },
    },
    components,
    dependencies: [...deps.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([ref, on]) => ({ ref, dependsOn: [...new Set(on)].sort() })),
  };
  const withoutSerial = JSON.stringify(body);
  body["serialNumber"] = `urn:uuid:${stableUuid(withoutSerial)}`;
  return `${JSON.stringify(body, null, 2)}\n`;
}
