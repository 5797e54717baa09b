import { homedir } from "node:os";
import { join } from "node:path";
import type { ChainContext } from "../chain/index.js";
import { UsageError } from "../core/errors.js";
import {
  type CredentialLookup,
  dockerConfigCredentials,
  dockerConfigPath,
  LocalImageStore,
  type OpenContext,
} from "../oci/index.js";
import { type EvidenceStore, PostgresEvidenceStore, SqliteEvidenceStore } from "../store/index.js";
import { type Environment, type Settings, settingsFromEnv } from "./settings.js";

/** Progress reports for long work; the CLI shows them on a terminal. */
export type ProgressFn = (message: string) => void;

/** Everything a use case needs, built once by the CLI (or a library user). */
export interface AppContext extends OpenContext, ChainContext {
  /** `$CLEANIMG_HOME`, default `~/.cleanimg`. */
  readonly home: string;
  readonly local: LocalImageStore;
  /** Opens the evidence store lazily (the embedded default under the home directory). */
  evidence(): EvidenceStore;
  readonly progress: ProgressFn;
  /** The environment the CLI was given; the use cases read `settings`, resolved from it once. */
  readonly env: Environment;
  readonly settings: Settings;
  close(): Promise<void>;
}

export interface AppContextOptions {
  readonly home?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly insecure?: boolean;
  /** The evidence store: a postgres:// URL (default: $CLEANIMG_STORE, else the embedded SQLite store). */
  readonly store?: string;
  readonly credentials?: CredentialLookup;
  readonly progress?: ProgressFn;
}

/** The home directory from options or the environment. */
export function resolveHome(opts: AppContextOptions): string {
  return (
    opts.home ?? opts.env?.["CLEANIMG_HOME"] ?? join(opts.env?.["HOME"] ?? homedir(), ".cleanimg")
  );
}

/**
 * A store URL checked before use: only PostgreSQL URLs name another store (the embedded one is
 * the default, with no URL). Anything else was a silent fallback to SQLite, or for a malformed
 * URL an internal error.
 * @throws UsageError naming where the URL came from
 */
function postgresUrl(url: string, from: string): string {
  const hint = `give postgres://USER@HOST:PORT/DB (or postgresql://), or leave ${from} out for the embedded store`;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    // the URL itself is not echoed: it may carry a password
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? "no scheme";
    throw new UsageError("CLI_USAGE", `${from} is not a PostgreSQL URL (${scheme})`, { hint });
  }
  try {
    new URL(url);
  } catch {
    throw new UsageError("CLI_USAGE", `${from} is not a valid URL`, { hint });
  }
  return url;
}

/** Builds the context. Nothing is opened until used. */
export function createAppContext(opts: AppContextOptions = {}): AppContext {
  const home = resolveHome(opts);
  let store: EvidenceStore | undefined;
  return {
    home,
    local: new LocalImageStore(home),
    ...(opts.insecure ? { insecure: true } : {}),
    credentials: opts.credentials ?? dockerConfigCredentials(dockerConfigPath(opts.env ?? {})),
    progress: opts.progress ?? (() => {}),
    env: opts.env ?? {},
    settings: settingsFromEnv(opts.env ?? {}),
    evidence() {
      const url = opts.store ?? opts.env?.["CLEANIMG_STORE"];
      if (!store && url) {
        store = new PostgresEvidenceStore(
          postgresUrl(url, opts.store ? "--store" : "CLEANIMG_STORE"),
        );
      }
      store ??= SqliteEvidenceStore.open(join(home, "evidence"));
      return store;
    },
    async close() {
      await store?.close();
      store = undefined;
    },
  };
}
