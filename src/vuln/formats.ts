import { CYCLONEDX_1_6, renderCycloneDx, type Sbom } from "../sbom/index.js";
import type { Finding } from "./match.js";

type Json = Record<string, unknown>;

const LEVEL: Record<string, "error" | "warning" | "note"> = {
  CRITICAL: "error",
  HIGH: "error",
  MEDIUM: "warning",
  LOW: "note",
  NONE: "note",
};

function description(f: Finding): string {
  const fix = f.fixedIn
    ? `fixed in ${f.fixedIn}`
    : f.distroStatus
      ? `distribution status: ${f.distroStatus}`
      : "no fixed version known";
  return `${f.package.name} ${f.package.version} is affected by ${f.id}${f.aliases.length ? ` (${f.aliases.join(", ")})` : ""}; ${fix}. ${f.reason}.`;
}

/** Renders findings as SARIF 2.1.0 (one rule per advisory, one result per affected package). */
export function renderSarif(
  findings: readonly Finding[],
  tool: { name: string; version: string },
  subject: string,
): string {
  const ids = [...new Set(findings.map((f) => f.id))].sort();
  const rules = ids.map((id) => {
    const f = findings.find((x) => x.id === id) as Finding;
    return {
      id,
      shortDescription: { text: f.summary ?? id },
      fullDescription: { text: f.summary ?? `${id} (${f.aliases.join(", ")})` },
      help: {
        text: `${id}${f.aliases.length ? ` (${f.aliases.join(", ")})` : ""}: ${f.summary ?? "see the advisory"}`,
      },
      properties: {
        tags: ["vulnerability", "security", (f.rating?.severity ?? "UNKNOWN").toLowerCase()],
        ...(f.rating?.score !== undefined
          ? { "security-severity": f.rating.score.toFixed(1) }
          : {}),
      },
    };
  });
  const results = findings.map((f) => ({
    ruleId: f.id,
    ruleIndex: ids.indexOf(f.id),
    level: f.status === "unknown" ? "note" : (LEVEL[f.rating?.severity ?? ""] ?? "warning"),
    message: { text: description(f) },
    locations: [
      {
        physicalLocation: {
          artifactLocation: {
            uri: (f.package.purl && f.package.name ? f.package.name : "package").replace(
              /^\/+/,
              "",
            ),
          },
        },
        logicalLocations: [{ name: f.package.purl || f.package.name, kind: "package" }],
      },
    ],
    properties: {
      purl: f.package.purl,
      installed: f.package.version,
      ...(f.fixedIn ? { fixedIn: f.fixedIn } : {}),
      status: f.status,
      ...(f.knownExploited
        ? {
            knownExploited: true,
            kevDateAdded: f.knownExploited.dateAdded,
            kevDueDate: f.knownExploited.dueDate,
          }
        : {}),
    },
  }));
  const log: Json = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: tool.name, version: tool.version, rules } },
        results,
        properties: { subject },
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/**
 * Renders the SBOM with its findings as a CycloneDX 1.6 BOM with `vulnerabilities` (ratings
 * computed from CVSS vectors, affects pointing at the components).
 */
export function renderCycloneDxVulnerabilities(sbom: Sbom, findings: readonly Finding[]): string {
  const bom = JSON.parse(renderCycloneDx(sbom, CYCLONEDX_1_6)) as Json;
  const byId = new Map<string, Finding[]>();
  for (const f of findings) {
    byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
  }
  bom["vulnerabilities"] = [...byId.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([id, fs]) => {
      const f = fs[0] as Finding;
      return {
        "bom-ref": `vuln-${id}`,
        id,
        source: { name: f.source },
        ...(f.rating
          ? {
              ratings: [
                {
                  ...(f.rating.score !== undefined ? { score: f.rating.score } : {}),
                  severity:
                    f.rating.severity.toLowerCase() === "none"
                      ? "none"
                      : f.rating.severity.toLowerCase(),
                  ...(f.rating.from.startsWith("CVSS:4.0")
                    ? { method: "CVSSv4", vector: f.rating.from }
                    : f.rating.from.startsWith("CVSS:3.1")
                      ? { method: "CVSSv31", vector: f.rating.from }
                      : f.rating.from.startsWith("CVSS:3.0")
                        ? { method: "CVSSv3", vector: f.rating.from }
                        : { method: "other" }),
                },
              ],
            }
          : {}),
        ...(f.aliases.length
          ? {
              references: f.aliases.map((a) => ({
                id: a,
                source: { name: a.startsWith("CVE-") ? "NVD" : "alias" },
              })),
            }
          : {}),
        ...(f.summary ? { description: f.summary } : {}),
        ...(f.fixedIn ? { recommendation: `upgrade to ${f.fixedIn} or later` } : {}),
        // known exploited (CISA KEV): the catalog's dates as properties
        ...(fs.some((x) => x.knownExploited)
          ? {
              properties: [
                { name: "cisa:kev:knownExploited", value: "true" },
                {
                  name: "cisa:kev:dateAdded",
                  value: fs.find((x) => x.knownExploited)?.knownExploited?.dateAdded ?? "",
                },
                {
                  name: "cisa:kev:dueDate",
                  value: fs.find((x) => x.knownExploited)?.knownExploited?.dueDate ?? "",
                },
              ],
            }
          : {}),
        affects: fs.map((x) => ({
          ref: x.package.id,
          versions: [
            {
              version: x.package.version,
              status: x.status === "affected" ? "affected" : "unknown",
            },
          ],
        })),
      };
    });
  return `${JSON.stringify(bom, null, 2)}\n`;
}
