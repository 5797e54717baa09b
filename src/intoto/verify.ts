import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { parseIsoDate } from "../core/dates.js";
import { isToolError, type ToolError } from "../core/errors.js";
import type { InTotoKey } from "./keys.js";
import {
  type Artifacts,
  type Inspection,
  type Layout,
  type Link,
  type Metadata,
  parseMetadata,
  type Step,
  signedBy,
} from "./metadata.js";
import { fnmatchRegExp, RuleError, verifyItemRules } from "./rules.js";

/**
 * in-toto-verify, in the reference implementation's order: layout signatures (every given
 * layout key), expiry, links per step (`STEP.KEYID8.link` of each authorized functionary),
 * functionary signatures and thresholds (distinct keys), agreement of the links of a step,
 * inspections run in the working directory, then the artifact rules of every step and
 * inspection. Every failure names the check, the step and the artifact.
 */

export interface VerifyOptions {
  readonly layout: Uint8Array;
  readonly layoutName?: string;
  readonly layoutKeys: readonly InTotoKey[];
  /** Where the links are (default: the working directory). */
  readonly linkDir: string;
  /** Where inspections run (and where their artifacts are hashed). */
  readonly workDir: string;
  readonly now?: Date;
}

export interface VerifyResult {
  readonly passed: boolean;
  /** What failed: `layout`, `step NAME`, `inspection NAME`. */
  readonly failure?: { readonly where: string; readonly reason: string };
  /** Links used per step (their functionaries' key ids). */
  readonly steps: readonly { readonly name: string; readonly functionaries: readonly string[] }[];
  readonly inspections: readonly { readonly name: string; readonly returnValue: number }[];
  /**
   * The summary link (the reference's get_summary_link): the first step's materials, the last
   * step's products, command and byproducts.
   */
  readonly summary?: Link;
  /** The products of the last step: what the supply chain produced. */
  readonly finalProducts?: Artifacts;
  readonly warnings: readonly string[];
}

class Failure extends Error {
  constructor(
    readonly where: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** The exclude patterns of the reference implementation (settings.ARTIFACT_EXCLUDE_PATTERNS). */
export const DEFAULT_EXCLUDES = ["*.link*", ".git", "*.pyc", "*~"];

/**
 * Hashes files under `root` as in-toto records artifacts: paths relative to `root`, `/`
 * separated, sha256; excluded names (fnmatch on the relative path and on the base name) skipped,
 * excluded directories not entered; symbolic links not followed.
 */
export function recordArtifacts(
  paths: readonly string[],
  root: string,
  excludes: readonly string[] = DEFAULT_EXCLUDES,
  /** Told each path given that does not exist (in-toto-run skips it; the caller names it). */
  missing?: (path: string) => void,
): Record<string, Record<string, string>> {
  const res = excludes.map(fnmatchRegExp);
  const out: Record<string, Record<string, string>> = {};
  const excluded = (rel: string): boolean => {
    const base = rel.split("/").pop() ?? rel;
    return res.some((r) => r.test(rel) || r.test(base));
  };
  const walk = (abs: string): void => {
    const rel = relative(root, abs).split(sep).join("/");
    if (rel && excluded(rel)) {
      return;
    }
    const st = lstatSync(abs);
    if (st.isDirectory()) {
      for (const e of readdirSync(abs).sort()) {
        walk(join(abs, e));
      }
    } else if (st.isFile()) {
      out[rel] = { sha256: createHash("sha256").update(readFileSync(abs)).digest("hex") };
    }
  };
  for (const p of paths) {
    const abs = join(root, p);
    if (existsSync(abs)) {
      walk(abs);
    } else {
      missing?.(p);
    }
  }
  return out;
}

/**
 * An input too deeply nested to walk is not a failed verification but hostile input, an
 * operational error (exit 3) naming the file: it passes through as it is.
 */
function hostile(e: unknown): ToolError | undefined {
  return isToolError(e) && e.code === "CORE_LIMIT_EXCEEDED" ? e : undefined;
}

/** The layout, verified: every layout key signed it and it has not expired. */
function verifiedLayout(o: VerifyOptions, now: Date): Layout {
  let meta: Metadata<Layout>;
  try {
    meta = parseMetadata<Layout>(o.layout, o.layoutName ?? "the layout");
  } catch (e) {
    throw hostile(e) ?? new Failure("layout", (e as Error).message);
  }
  const layout = meta.signed;
  if (layout._type !== "layout") {
    throw new Failure(
      "layout",
      `${o.layoutName ?? "the file"} is a ${String(layout._type)}, not a layout`,
    );
  }
  if (o.layoutKeys.length === 0) {
    throw new Failure("layout", "no layout key given: a layout is verified by its owner's keys");
  }
  for (const k of o.layoutKeys) {
    if (!signedBy(meta, k)) {
      throw new Failure("layout", `not signed by layout key ${k.keyid}`);
    }
  }
  if (!layout.expires) {
    throw new Failure("layout", "the layout has no valid expiry date");
  }
  // strictly: Date.parse rolls a date that does not exist (February 30) over into March
  const expires = typeof layout.expires === "string" ? parseIsoDate(layout.expires) : undefined;
  if (expires === undefined) {
    throw new Failure(
      "layout",
      `the layout's expiry ${JSON.stringify(layout.expires)} is not a date that exists (ISO 8601, e.g. 2027-01-31T00:00:00Z)`,
    );
  }
  if (expires <= now.getTime()) {
    throw new Failure("layout", `the layout expired at ${layout.expires}`);
  }
  return layout;
}

/**
 * A sublayout in place of a functionary's link: verified with the functionary's key as its
 * layout key, against the links in STEP.KEYID8/; its summary stands for the step's link.
 */
function sublayoutLink(
  o: VerifyOptions,
  step: Step,
  file: string,
  key: InTotoKey,
  now: Date,
  warnings: string[],
): Link {
  const sub = verifyLayout({
    layout: readFileSync(file),
    layoutName: file,
    layoutKeys: [key],
    linkDir: join(o.linkDir, `${step.name}.${key.keyid.slice(0, 8)}`),
    workDir: o.workDir,
    now,
  });
  warnings.push(...sub.warnings.map((w) => `sublayout ${step.name}: ${w}`));
  if (!sub.passed || !sub.summary) {
    throw new Failure(
      `step ${step.name}`,
      `sublayout ${file}: ${sub.failure ? `${sub.failure.where}: ${sub.failure.reason}` : "it has no steps"}`,
    );
  }
  return { ...sub.summary, name: step.name };
}

/** The validly signed links of a step, by functionary key id. */
function stepLinks(
  o: VerifyOptions,
  layout: Layout,
  step: Step,
  now: Date,
  warnings: string[],
): Map<string, Link> {
  const valid = new Map<string, Link>();
  for (const keyid of step.pubkeys ?? []) {
    const file = join(o.linkDir, `${step.name}.${keyid.slice(0, 8)}.link`);
    if (!existsSync(file)) {
      continue;
    }
    const key = layout.keys?.[keyid];
    if (!key) {
      throw new Failure(
        `step ${step.name}`,
        `functionary key ${keyid} is not in the layout's keys`,
      );
    }
    let m: Metadata<Link>;
    try {
      m = parseMetadata<Link>(readFileSync(file), file);
    } catch (e) {
      throw hostile(e) ?? new Failure(`step ${step.name}`, (e as Error).message);
    }
    if (!signedBy(m, { ...key, keyid })) {
      warnings.push(
        `step ${step.name}: ${file} is not validly signed by functionary ${keyid}: ignored`,
      );
      continue;
    }
    if ((m.signed as { _type?: string })._type === "layout") {
      valid.set(keyid, sublayoutLink(o, step, file, { ...key, keyid }, now, warnings));
      continue;
    }
    if (m.signed.name !== step.name) {
      warnings.push(`step ${step.name}: ${file} is a link of step ${m.signed.name}: ignored`);
      continue;
    }
    valid.set(keyid, m.signed);
  }
  return valid;
}

/** The one link a step stands for: its threshold met, its functionaries agreeing. */
function reduceStep(
  o: VerifyOptions,
  step: Step,
  valid: ReadonlyMap<string, Link>,
  warnings: string[],
): Link {
  const threshold = step.threshold ?? 1;
  if (valid.size < threshold) {
    throw new Failure(
      `step ${step.name}`,
      `${valid.size} validly signed link${valid.size === 1 ? "" : "s"} by authorized functionaries, ${threshold} required (looked for ${step.name}.<keyid prefix>.link in ${o.linkDir})`,
    );
  }
  const links = [...valid.values()];
  const first = links[0] as Link;
  for (const l of links.slice(1)) {
    if (
      JSON.stringify(sortArtifacts(l.materials)) !==
        JSON.stringify(sortArtifacts(first.materials)) ||
      JSON.stringify(sortArtifacts(l.products)) !== JSON.stringify(sortArtifacts(first.products))
    ) {
      throw new Failure(
        `step ${step.name}`,
        "the functionaries' links disagree on materials or products",
      );
    }
  }
  if (
    step.expected_command?.length &&
    JSON.stringify(first.command) !== JSON.stringify(step.expected_command)
  ) {
    warnings.push(
      `step ${step.name}: ran ${JSON.stringify(first.command)}, the layout expects ${JSON.stringify(step.expected_command)}`,
    );
  }
  return first;
}

/**
 * Runs an inspection in the working directory; its link records what it saw and left, and
 * `failed` why it did not return 0.
 */
function runInspection(
  o: VerifyOptions,
  insp: Inspection,
): { link: Link; returnValue: number; failed?: string } {
  const materials = recordArtifacts(["."], o.workDir);
  const [cmd, ...args] = insp.run;
  if (!cmd) {
    throw new Failure(`inspection ${insp.name}`, "it has no command");
  }
  const r = spawnSync(cmd, args, { cwd: o.workDir, encoding: "utf8", timeout: 600_000 });
  const returnValue = r.error ? -1 : (r.status ?? -1);
  const failed =
    returnValue === 0
      ? undefined
      : `${insp.run.join(" ")} ${r.error ? `could not run: ${r.error.message}` : `returned ${returnValue}: ${(r.stderr ?? "").trim().slice(0, 500)}`}`;
  const link: Link = {
    _type: "link",
    name: insp.name,
    command: insp.run,
    materials,
    products: failed ? {} : recordArtifacts(["."], o.workDir),
    byproducts: { "return-value": returnValue },
    environment: {},
  };
  return { link, returnValue, ...(failed ? { failed } : {}) };
}

/** The artifact rules of every step and inspection, over the reduced links. */
function checkArtifactRules(layout: Layout, reduced: ReadonlyMap<string, Link>): void {
  for (const item of [...(layout.steps ?? []), ...(layout.inspect ?? [])]) {
    const where = `${item._type === "step" ? "step" : "inspection"} ${item.name}`;
    for (const kind of ["materials", "products"] as const) {
      try {
        verifyItemRules(
          item.name,
          kind,
          kind === "materials" ? (item.expected_materials ?? []) : (item.expected_products ?? []),
          reduced,
        );
      } catch (e) {
        if (e instanceof RuleError) {
          throw new Failure(where, e.message);
        }
        throw e;
      }
    }
  }
}

/** The summary link (first step's materials, last step's products) and the final products. */
function summaryOf(layout: Layout, reduced: ReadonlyMap<string, Link>) {
  const firstStep = layout.steps?.[0];
  const last = layout.steps?.[layout.steps.length - 1];
  const lastLink = last ? reduced.get(last.name) : undefined;
  const firstLink = firstStep ? reduced.get(firstStep.name) : undefined;
  return {
    ...(firstLink && lastLink
      ? {
          summary: {
            _type: "link" as const,
            name: "",
            command: lastLink.command,
            materials: firstLink.materials,
            products: lastLink.products,
            byproducts: lastLink.byproducts,
            environment: {},
          },
        }
      : {}),
    ...(lastLink ? { finalProducts: lastLink.products } : {}),
  };
}

export function verifyLayout(o: VerifyOptions): VerifyResult {
  const warnings: string[] = [];
  const steps: { name: string; functionaries: string[] }[] = [];
  const inspections: { name: string; returnValue: number }[] = [];
  try {
    const now = o.now ?? new Date();
    const layout = verifiedLayout(o, now);
    // links of each step, by its authorized functionaries
    const reduced = new Map<string, Link>();
    for (const step of layout.steps ?? []) {
      const valid = stepLinks(o, layout, step, now, warnings);
      reduced.set(step.name, reduceStep(o, step, valid, warnings));
      steps.push({ name: step.name, functionaries: [...valid.keys()] });
    }
    // inspections, in the working directory
    for (const insp of layout.inspect ?? []) {
      const { link, returnValue, failed } = runInspection(o, insp);
      inspections.push({ name: insp.name, returnValue });
      if (failed) {
        throw new Failure(`inspection ${insp.name}`, failed);
      }
      reduced.set(insp.name, link);
    }
    checkArtifactRules(layout, reduced);
    return { passed: true, steps, inspections, ...summaryOf(layout, reduced), warnings };
  } catch (e) {
    if (e instanceof Failure) {
      return {
        passed: false,
        failure: { where: e.where, reason: e.message },
        steps,
        inspections,
        warnings,
      };
    }
    throw e;
  }
}

function sortArtifacts(a: Artifacts | undefined): [string, unknown][] {
  return Object.entries(a ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));
}
