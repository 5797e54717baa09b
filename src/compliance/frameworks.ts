import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UsageError } from "../core/errors.js";
import { type BaselineFramework, REPORT_FRAMEWORKS } from "./names.js";

export { REPORT_FRAMEWORKS };

/** Frameworks: the shipped baselines (NIST and FedRAMP OSCAL) and their control labels. */

const BASELINES: Readonly<Record<BaselineFramework, { baseline: string; name: string }>> = {
  "fedramp-high": { baseline: "FedRAMP-HIGH", name: "FedRAMP Rev5 High" },
  "fedramp-moderate": { baseline: "FedRAMP-MODERATE", name: "FedRAMP Rev5 Moderate" },
  "fedramp-low": { baseline: "FedRAMP-LOW", name: "FedRAMP Rev5 Low" },
  "nist-800-53": { baseline: "NIST-HIGH", name: "NIST SP 800-53 Rev5 (800-53B High baseline)" },
  "nist-800-53-moderate": {
    baseline: "NIST-MODERATE",
    name: "NIST SP 800-53 Rev5 (800-53B Moderate baseline)",
  },
  "nist-800-53-low": { baseline: "NIST-LOW", name: "NIST SP 800-53 Rev5 (800-53B Low baseline)" },
};

/** A framework: its controls, from the shipped data or an imported OSCAL catalog. */
export interface Framework {
  readonly id: string;
  readonly name: string;
  readonly controls: readonly {
    readonly id: string;
    readonly title: string;
    readonly family: string;
  }[];
  /** Where the control list comes from. */
  readonly source: string;
}

interface ControlRow {
  id: string;
  title: string;
  family: string;
  baselines: string[];
}
const dataFile = (name: string): string =>
  fileURLToPath(new URL(`../../data/${name}`, import.meta.url));
let controlData: ControlRow[] | undefined;
function controls(): ControlRow[] {
  controlData ??= (
    JSON.parse(readFileSync(dataFile("nist-800-53-rev5-baselines.json"), "utf8")) as {
      controls: ControlRow[];
    }
  ).controls;
  return controlData;
}

/** Titles of NIST SP 800-53 rev5 controls in any baseline (for profiles imported by id). */
export function nistControlTitle(id: string): { title: string; family: string } | undefined {
  const c = controls().find((x) => x.id === id);
  return c ? { title: c.title, family: c.family } : undefined;
}

/** A shipped framework by id. @throws UsageError when there is none */
export function builtinFramework(id: string): Framework {
  const b = Object.hasOwn(BASELINES, id) ? BASELINES[id as BaselineFramework] : undefined;
  if (b) {
    return {
      id,
      name: b.name,
      controls: controls().filter((c) => c.baselines.includes(b.baseline)),
      source: "NIST/FedRAMP OSCAL baselines (data/nist-800-53-rev5-baselines.json)",
    };
  }
  if (REPORT_FRAMEWORKS.includes(id)) {
    const f = (
      JSON.parse(readFileSync(dataFile("frameworks.json"), "utf8")) as {
        frameworks: Record<string, { name: string; controls: Framework["controls"] }>;
      }
    ).frameworks[id];
    if (f) {
      return { id, name: f.name, controls: f.controls, source: "data/frameworks.json" };
    }
  }
  throw new UsageError("CLI_USAGE", `no report for framework "${id}" in this version`, {
    hint: `one of ${REPORT_FRAMEWORKS.join(", ")} (fedramp = fedramp-high), or a catalog imported with cleanimg-init catalog import`,
  });
}

/** Parses a framework name; `fedramp` alone (the design's form) is FedRAMP High. */
export function parseFramework(s: string): string {
  return s === "fedramp" ? "fedramp-high" : s;
}

/** Displays a control id as its framework writes it (ac-2.1 -> AC-2(1), i-2a -> I.2(a)). */
export function controlLabel(id: string): string {
  if (/^[a-z]{2}-\d+(\.\d+)?$/.test(id)) {
    const [base, enh] = id.split(".");
    return `${(base ?? "").toUpperCase()}${enh ? `(${enh})` : ""}`;
  }
  const cra = /^(i|ii)-(\d+)([a-z])?$/.exec(id);
  if (cra) {
    return `${(cra[1] as string).toUpperCase()}.${cra[2]}${cra[3] ? `(${cra[3]})` : ""}`;
  }
  return id.toUpperCase();
}
