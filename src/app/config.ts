import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isDigest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import type { AppContext } from "./context.js";

/** The configuration file `$CLEANIMG_HOME/config.json` (all fields optional). */
export interface CleanimgConfig {
  /** Manifest digests of approved base images. */
  readonly approvedBaseImages?: readonly string[];
  /** The SLSA Build level (v1.0) the check list requires (default 1). */
  readonly requiredSlsaBuildLevel?: number;
  /** Parameters for policies (`params` in CEL rules), over the policy's own defaults. */
  readonly policyParams?: Readonly<Record<string, unknown>>;
  /** The admission webhook of `serve` (docs/server.md). */
  readonly admission?: AdmissionSettings;
  /** The vulnerability data's maximum age for scans (a duration: 5d, 36h; default 5d). */
  readonly maxDbAge?: string;
}

export interface AdmissionSettings {
  /** Namespaces whose requests are allowed without checks (answered with a warning). */
  readonly exemptNamespaces?: readonly string[];
  /** A CEL (or Rego) policy file; the default policy otherwise. */
  readonly policy?: string;
  /** How long a verdict is kept at most (seconds; default 300). */
  readonly cacheSeconds?: number;
}

/** Reads `$CLEANIMG_HOME/config.json`. @throws ToolError CORE_CONFIG_INVALID when malformed */
export async function loadConfig(ctx: AppContext): Promise<CleanimgConfig> {
  const p = join(ctx.home, "config.json");
  if (!existsSync(p)) {
    return {};
  }
  let c: CleanimgConfig;
  try {
    c = JSON.parse(await readFile(p, "utf8")) as CleanimgConfig;
  } catch (e) {
    throw new ToolError("CORE_CONFIG_INVALID", `${p} is not valid JSON: ${(e as Error).message}`, {
      hint: 'e.g. {"approvedBaseImages": ["sha256:…"]}',
    });
  }
  if (
    c.approvedBaseImages !== undefined &&
    (!Array.isArray(c.approvedBaseImages) || !c.approvedBaseImages.every(isDigest))
  ) {
    throw new ToolError(
      "CORE_CONFIG_INVALID",
      `${p}: approvedBaseImages must be a list of digests`,
      {
        hint: 'e.g. {"approvedBaseImages": ["sha256:…"]}',
      },
    );
  }
  return c;
}
