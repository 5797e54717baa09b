import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * A dependency loaded on first use, not when the module naming it is imported, so that a command
 * pays only for the libraries it runs (`--version` and `--help` load none of them; the start-up
 * test in test/startup.test.ts lists what a bare start loads). It loads the package's CommonJS
 * entry, synchronously, so the functions using it stay synchronous. Type it with
 * `typeof import("pkg")`, which is erased at compile time.
 */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(id) as T;
    return loaded;
  };
}
