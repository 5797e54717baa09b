import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseIsoDate } from "../core/dates.js";
import { ToolError } from "../core/errors.js";
import { readInput } from "../core/input.js";
import { assertYamlDepth, yaml, yamlErrorMessage } from "../core/yaml.js";
import {
  type InTotoKey,
  type InTotoSigner,
  type Layout,
  loadInTotoPublicKey,
  parseRule,
  signMetadata,
} from "../intoto/index.js";
import { writeFileAtomic } from "../oci/index.js";

/** in-toto layouts written from a YAML description (`intoto layout create`). */

interface LayoutSpec {
  expires?: string | Date;
  readme?: string;
  keys?: Record<string, string>;
  steps?: {
    name?: string;
    functionaries?: string[];
    threshold?: number;
    expected_command?: string[] | string;
    materials?: (string | string[])[];
    products?: (string | string[])[];
  }[];
  inspect?: {
    name?: string;
    run?: string[] | string;
    materials?: (string | string[])[];
    products?: (string | string[])[];
  }[];
}

const bad = (where: string, what: string): never => {
  throw new ToolError("INTOTO_METADATA_INVALID", `layout description, ${where}: ${what}`);
};

/** The expiry: a date that exists, or a duration from now (`90d`, `12h`), to the second. */
function layoutExpiry(e: unknown, now: Date): string {
  let expires: string;
  if (e instanceof Date) {
    expires = e.toISOString();
  } else if (typeof e === "string" && /^\d+[dh]$/.test(e)) {
    const n = Number(e.slice(0, -1));
    expires = new Date(
      now.getTime() + n * (e.endsWith("d") ? 86_400_000 : 3_600_000),
    ).toISOString();
  } else if (typeof e === "string" && /^\d{4}-/.test(e.trim())) {
    const t = parseIsoDate(e.trim());
    if (t === undefined) {
      return bad(
        "expires",
        `"${e}" is not a date that exists: give one that does (2027-01-31T00:00:00Z) or a duration (90d, 12h)`,
      );
    }
    expires = new Date(t).toISOString();
  } else {
    return bad("expires", "give a date (2027-01-31T00:00:00Z) or a duration (90d, 12h)");
  }
  return `${expires.slice(0, 19)}Z`;
}

/** Artifact rules as strings (`MATCH foo WITH PRODUCTS FROM build`) or lists, each checked. */
function ruleList(where: string, list: (string | string[])[] | undefined): string[][] {
  return (list ?? []).map((r, i) => {
    const rule = Array.isArray(r) ? r.map(String) : String(r).trim().split(/\s+/);
    try {
      parseRule(rule);
    } catch (err) {
      bad(`${where}[${i}]`, (err as Error).message);
    }
    return rule;
  });
}

const argvOf = (v: string[] | string | undefined): string[] =>
  Array.isArray(v) ? v.map(String) : typeof v === "string" ? v.trim().split(/\s+/) : [];

/**
 * A layout from its readable YAML description (docs/intoto.md): functionaries by name with
 * their public key files (relative to the description), rules as `MATCH foo WITH PRODUCTS FROM
 * build` strings or lists, expiry as a date or a duration (`90d`, `12h`).
 * @throws ToolError INTOTO_METADATA_INVALID naming the field that is wrong
 */
export async function layoutFromYaml(
  text: string,
  baseDir: string,
  now = new Date(),
): Promise<Layout> {
  let spec: LayoutSpec;
  assertYamlDepth(text, "the layout description");
  try {
    spec = yaml().parse(text, { prettyErrors: false, logLevel: "error" }) as LayoutSpec;
  } catch (e) {
    throw new ToolError(
      "INTOTO_METADATA_INVALID",
      `the layout description is not YAML: ${yamlErrorMessage(text, e)}`,
    );
  }
  if (!spec || typeof spec !== "object") {
    bad("top level", "expected a mapping with keys, steps and inspect");
  }
  const expires = layoutExpiry(spec.expires, now);
  const keys: Record<string, InTotoKey> = {};
  const idOf = new Map<string, string>();
  for (const [name, file] of Object.entries(spec.keys ?? {})) {
    const k = loadInTotoPublicKey(
      await readFile(resolve(baseDir, String(file)), "utf8").catch(() =>
        bad(`keys.${name}`, `cannot read ${file}`),
      ),
    );
    keys[k.keyid] = k;
    idOf.set(name, k.keyid);
  }
  const names = new Set<string>();
  const steps = (spec.steps ?? []).map((s, i) => {
    const where = `steps[${i}]`;
    if (!s.name || !/^[\w.-]+$/.test(s.name)) {
      bad(`${where}.name`, "a step needs a name of letters, digits, . _ -");
    }
    if (names.has(s.name as string)) {
      bad(`${where}.name`, `${s.name} is named twice`);
    }
    names.add(s.name as string);
    const pubkeys = (s.functionaries ?? []).map(
      (f) => idOf.get(f) ?? bad(`${where}.functionaries`, `${f} is not in keys`),
    );
    const threshold = s.threshold ?? 1;
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > pubkeys.length) {
      bad(
        `${where}.threshold`,
        `must be from 1 to the number of functionaries (${pubkeys.length})`,
      );
    }
    return {
      _type: "step" as const,
      name: s.name as string,
      pubkeys,
      threshold,
      expected_command: argvOf(s.expected_command),
      expected_materials: ruleList(`${where}.materials`, s.materials),
      expected_products: ruleList(`${where}.products`, s.products),
    };
  });
  const inspect = (spec.inspect ?? []).map((s, i) => {
    const where = `inspect[${i}]`;
    if (!s.name || !/^[\w.-]+$/.test(s.name) || names.has(s.name)) {
      bad(`${where}.name`, "an inspection needs a name of its own");
    }
    names.add(s.name as string);
    const run = argvOf(s.run);
    if (run.length === 0) {
      bad(`${where}.run`, "an inspection needs a command");
    }
    return {
      _type: "inspection" as const,
      name: s.name as string,
      run,
      expected_materials: ruleList(`${where}.materials`, s.materials),
      expected_products: ruleList(`${where}.products`, s.products),
    };
  });
  return {
    _type: "layout",
    expires,
    readme: spec.readme ?? "",
    keys,
    steps,
    inspect,
  };
}

/** Creates a layout from its YAML description, signed by the owner keys. */
export async function createLayoutFile(o: {
  description: string;
  signers: readonly InTotoSigner[];
  output: string;
  useDsse?: boolean;
}): Promise<{ output: string; layout: Layout }> {
  const text = (await readInput(o.description, "the layout description")).toString("utf8");
  const layout = await layoutFromYaml(text, dirname(resolve(o.description)));
  await writeFileAtomic(
    o.output,
    signMetadata(layout, o.signers, o.useDsse ? "dsse" : "metablock"),
  );
  return { output: o.output, layout };
}
