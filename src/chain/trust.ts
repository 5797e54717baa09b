import type { KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  type KeylessTrust,
  type TrustedLog,
  type VerifiedEvidenceBundle,
  verifyEvidenceBundle,
} from "../attest/index.js";
import { ToolError, UsageError } from "../core/errors.js";
import type { ChainContext } from "./context.js";
import { trustedKeys, trustedLogs } from "./keys.js";

/**
 * What evidence verification trusts: the signing keys and logs of this store, and for keyless
 * signatures and Rekor entries the Sigstore trusted root (CLEANIMG_SIGSTORE_TRUSTED_ROOT) and
 * the identities allowed to sign (CLEANIMG_TRUSTED_IDENTITIES: "SAN|ISSUER" entries split by ";").
 */
export interface EvidenceTrust {
  readonly keys: readonly KeyObject[];
  readonly logs: readonly TrustedLog[];
  /** The Sigstore trusted root and signing identities, when configured. */
  readonly keyless?: KeylessTrust;
}

export async function evidenceTrust(ctx: ChainContext): Promise<EvidenceTrust> {
  const keys = await trustedKeys(ctx);
  const logs = await trustedLogs(ctx);
  const path = ctx.settings.sigstoreTrustedRoot;
  if (!path) {
    return { keys, logs };
  }
  let sigstoreRoot: unknown;
  try {
    sigstoreRoot = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new ToolError(
      "CORE_INPUT_UNREADABLE",
      `CLEANIMG_SIGSTORE_TRUSTED_ROOT ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const identities = identityList(
    ctx.settings.trustedIdentities,
    "CLEANIMG_TRUSTED_IDENTITIES",
    "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main|https://token.actions.githubusercontent.com",
  );
  return { keys, logs, keyless: { trustedRoot: sigstoreRoot, identities } };
}

/**
 * A `SAN|ISSUER;…` list of keyless identities, the value of the setting `name`.
 * @throws UsageError CLI_USAGE naming the entry that is not SAN|ISSUER
 */
export function identityList(
  value: string | undefined,
  name: string,
  example: string,
): { subjectAlternativeName: string; issuer: string }[] {
  return (value ?? "")
    .split(";")
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => {
      const bar = x.lastIndexOf("|");
      if (bar <= 0) {
        throw new UsageError("CLI_USAGE", `${name}: "${x}" is not SAN|ISSUER`, { hint: example });
      }
      return { subjectAlternativeName: x.slice(0, bar), issuer: x.slice(bar + 1) };
    });
}

/** Verifies one of our evidence bundles with what the store trusts (see EvidenceTrust). */
export function verifyEvidence(bytes: Uint8Array, t: EvidenceTrust): VerifiedEvidenceBundle {
  return verifyEvidenceBundle(bytes, t.keys, t.logs, t.keyless);
}
