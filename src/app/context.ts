import { homedir } from "node:os";
import { join } from "node:path";
import type { ChainContext } from "../chain/index.js";
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
      if (!store && url && /^postgres(ql)?:\/\//.test(url)) {
        store = new PostgresEvidenceStore(url);
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
