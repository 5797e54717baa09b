import { lazyModule } from "../core/lazy.js";

// a CommonJS bundle whose exports Node's ESM loader cannot name; loaded on first use (about 15 ms)
const cvssLib = lazyModule<typeof import("ae-cvss-calculator")>("ae-cvss-calculator");

/**
 * CVSS v3.0/v3.1 base scores computed from the vector (FIRST's specification, section 7), and
 * CVSS v4.0 scores (below), so a score is always derived from evidence rather than copied.
 */
const W = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
} as const;

/** CVSS v3.1 Roundup: the smallest number, to one decimal, >= the input (avoids float error). */
export function roundup(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

export interface CvssResult {
  readonly version: "3.0" | "3.1";
  readonly baseScore: number;
  readonly severity: "NONE" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";
}

/** Parses a CVSS:3.x vector and computes its base score; undefined when the vector is invalid. */
export function cvss3BaseScore(vector: string): CvssResult | undefined {
  const parts = vector.trim().split("/");
  const head = /^CVSS:3\.([01])$/.exec(parts[0] ?? "");
  if (!head) {
    return undefined;
  }
  const m: Record<string, string> = {};
  for (const p of parts.slice(1)) {
    const [k, v] = p.split(":");
    if (!k || !v || k in m) {
      return undefined;
    }
    m[k] = v;
  }
  const av = W.AV[m["AV"] as keyof typeof W.AV];
  const ac = W.AC[m["AC"] as keyof typeof W.AC];
  const ui = W.UI[m["UI"] as keyof typeof W.UI];
  const scope = m["S"];
  const prRaw = m["PR"];
  const c = W.C[m["C"] as keyof typeof W.C];
  const i = W.C[m["I"] as keyof typeof W.C];
  const a = W.C[m["A"] as keyof typeof W.C];
  if (
    av === undefined ||
    ac === undefined ||
    ui === undefined ||
    c === undefined ||
    i === undefined ||
    a === undefined ||
    (scope !== "U" && scope !== "C")
  ) {
    return undefined;
  }
  const changed = scope === "C";
  const pr =
    prRaw === "N"
      ? 0.85
      : prRaw === "L"
        ? changed
          ? 0.68
          : 0.62
        : prRaw === "H"
          ? changed
            ? 0.5
            : 0.27
          : undefined;
  if (pr === undefined) {
    return undefined;
  }
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
  const exploitability = 8.22 * av * ac * pr * ui;
  const round = head[1] === "1" ? roundup : (x: number) => Math.ceil(x * 10) / 10;
  const base =
    impact <= 0
      ? 0
      : changed
        ? round(Math.min(1.08 * (impact + exploitability), 10))
        : round(Math.min(impact + exploitability, 10));
  return { version: head[1] === "1" ? "3.1" : "3.0", baseScore: base, severity: severityOf(base) };
}

/** The qualitative rating of a CVSS v3/v4 score. */
export function severityOf(score: number): CvssResult["severity"] {
  return score === 0
    ? "NONE"
    : score < 4
      ? "LOW"
      : score < 7
        ? "MEDIUM"
        : score < 9
          ? "HIGH"
          : "CRITICAL";
}

const V4_BASE: Readonly<Record<string, readonly string[]>> = {
  AV: ["N", "A", "L", "P"],
  AC: ["L", "H"],
  AT: ["N", "P"],
  PR: ["N", "L", "H"],
  UI: ["N", "P", "A"],
  VC: ["H", "L", "N"],
  VI: ["H", "L", "N"],
  VA: ["H", "L", "N"],
  SC: ["H", "L", "N"],
  SI: ["H", "L", "N"],
  SA: ["H", "L", "N"],
};
const V4_THREAT: Readonly<Record<string, readonly string[]>> = { E: ["X", "A", "P", "U"] };
const V4_ENVIRONMENTAL: Readonly<Record<string, readonly string[]>> = {
  CR: ["X", "H", "M", "L"],
  IR: ["X", "H", "M", "L"],
  AR: ["X", "H", "M", "L"],
  MAV: ["X", "N", "A", "L", "P"],
  MAC: ["X", "L", "H"],
  MAT: ["X", "N", "P"],
  MPR: ["X", "N", "L", "H"],
  MUI: ["X", "N", "P", "A"],
  MVC: ["X", "H", "L", "N"],
  MVI: ["X", "H", "L", "N"],
  MVA: ["X", "H", "L", "N"],
  MSC: ["X", "H", "L", "N"],
  MSI: ["X", "S", "H", "L", "N"],
  MSA: ["X", "S", "H", "L", "N"],
};
const V4_SUPPLEMENTAL: Readonly<Record<string, readonly string[]>> = {
  S: ["X", "N", "P"],
  AU: ["X", "N", "Y"],
  R: ["X", "A", "U", "I"],
  V: ["X", "D", "C"],
  RE: ["X", "L", "M", "H"],
  U: ["X", "Clear", "Green", "Amber", "Red"],
};

export interface Cvss4Result {
  readonly version: "4.0";
  /** The CVSS v4.0 score of the vector (threat and environmental metrics applied when present). */
  readonly score: number;
  readonly severity: CvssResult["severity"];
  /** Which metric groups the score rests on (CVSS v4.0 §1.3): B, BT, BE or BTE. */
  readonly nomenclature: "CVSS-B" | "CVSS-BT" | "CVSS-BE" | "CVSS-BTE";
}

/**
 * Parses a CVSS:4.0 vector (every base metric exactly once, known metrics and values only) and
 * computes its score with FIRST's v4.0 algorithm (macro vectors and severity distances), as
 * implemented by ae-cvss-calculator; undefined when the vector is invalid.
 */
export function cvss4Score(vector: string): Cvss4Result | undefined {
  const parts = vector.trim().split("/");
  if (parts[0] !== "CVSS:4.0") {
    return undefined;
  }
  const m = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const [k, v, extra] = p.split(":");
    const allowed = k
      ? (V4_BASE[k] ?? V4_THREAT[k] ?? V4_ENVIRONMENTAL[k] ?? V4_SUPPLEMENTAL[k])
      : undefined;
    if (!k || !v || extra !== undefined || !allowed?.includes(v) || m.has(k)) {
      return undefined;
    }
    m.set(k, v);
  }
  if (Object.keys(V4_BASE).some((k) => !m.has(k))) {
    return undefined;
  }
  const set = (group: Record<string, readonly string[]>): boolean =>
    Object.keys(group).some((k) => (m.get(k) ?? "X") !== "X");
  const threat = set(V4_THREAT);
  const env = set(V4_ENVIRONMENTAL);
  let score: number;
  try {
    score = new (cvssLib().Cvss4P0)(vector.trim()).calculateScores().overall;
  } catch {
    return undefined;
  }
  if (typeof score !== "number" || !Number.isFinite(score)) {
    return undefined;
  }
  return {
    version: "4.0",
    score,
    severity: severityOf(score),
    nomenclature: `CVSS-B${threat ? "T" : ""}${env ? "E" : ""}` as Cvss4Result["nomenclature"],
  };
}
