import type { EvidenceStore } from "../store/index.js";

/**
 * The settings the chain reads, resolved once from the environment by the application
 * (`settingsFromEnv` in app): nothing in this module reads the environment itself.
 */
export interface ChainSettings {
  /** CLEANIMG_SIGNING_KEY: a signing key of one's own (PEM or cosign.key), instead of the home's. */
  readonly signingKey?: string;
  /** CLEANIMG_SIGNING_KEY_PASSWORD, else cosign's COSIGN_PASSWORD: the signing key's password. */
  readonly signingKeyPassword?: string;
  /** CLEANIMG_FULCIO_URL: keyless signing through this Fulcio. */
  readonly fulcioURL?: string;
  /** CLEANIMG_IDENTITY_TOKEN, else SIGSTORE_ID_TOKEN: the OIDC token keyless signing presents. */
  readonly identityToken?: string;
  /** CLEANIMG_REKOR_URL: evidence is also logged in this Rekor. */
  readonly rekorURL?: string;
  /** CLEANIMG_SIGSTORE_TRUSTED_ROOT: the Sigstore trusted root (JSON) for keyless evidence. */
  readonly sigstoreTrustedRoot?: string;
  /** CLEANIMG_TRUSTED_IDENTITIES: the keyless identities allowed to sign ("SAN|ISSUER;…"). */
  readonly trustedIdentities?: string;
  /** CLEANIMG_AUTHOR: who is acting, named in audit events (default user@host). */
  readonly author?: string;
}

/** What recording and verifying evidence needs: the store, where the keys live, the settings. */
export interface ChainContext {
  /** The home directory: keys/, and the witness of a PostgreSQL store. */
  readonly home: string;
  evidence(): EvidenceStore;
  readonly settings: ChainSettings;
}
