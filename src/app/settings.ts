import type { ChainSettings } from "../chain/index.js";

/** The environment as the CLI was given it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Every setting the use cases read from the environment, resolved once when the context is made
 * (`createAppContext`): the chain's (signing key, keyless signing, trust) and the application's.
 */
export interface Settings extends ChainSettings {
  /** CLEANIMG_PUBLISHED_KEY: the public key published for image signatures. */
  readonly publishedKey?: string;
  /** CLEANIMG_CACHE: the build cache directory (default `$CLEANIMG_HOME/cache`). */
  readonly cache?: string;
  /** SOURCE_DATE_EPOCH: the build's timestamp, when set. */
  readonly sourceDateEpoch?: string;
  /** CLEANIMG_TRUSTED_PEOPLE: keyless identities whose VEX decisions apply ("SAN|ISSUER;…"). */
  readonly trustedPeople?: string;
}

/** Reads the settings from an environment; unset variables are left out. */
export function settingsFromEnv(env: Environment): Settings {
  const pick = (...names: string[]): string | undefined => {
    for (const n of names) {
      const v = env[n];
      if (v !== undefined) {
        return v;
      }
    }
    return undefined;
  };
  const all: Record<keyof Settings, string | undefined> = {
    signingKey: pick("CLEANIMG_SIGNING_KEY"),
    signingKeyPassword: pick("CLEANIMG_SIGNING_KEY_PASSWORD", "COSIGN_PASSWORD"),
    fulcioURL: pick("CLEANIMG_FULCIO_URL"),
    identityToken: pick("CLEANIMG_IDENTITY_TOKEN", "SIGSTORE_ID_TOKEN"),
    rekorURL: pick("CLEANIMG_REKOR_URL"),
    sigstoreTrustedRoot: pick("CLEANIMG_SIGSTORE_TRUSTED_ROOT"),
    trustedIdentities: pick("CLEANIMG_TRUSTED_IDENTITIES"),
    author: pick("CLEANIMG_AUTHOR"),
    publishedKey: pick("CLEANIMG_PUBLISHED_KEY"),
    cache: pick("CLEANIMG_CACHE"),
    sourceDateEpoch: pick("SOURCE_DATE_EPOCH"),
    trustedPeople: pick("CLEANIMG_TRUSTED_PEOPLE"),
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Settings;
}
