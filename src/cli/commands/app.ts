import type * as App from "../../app/index.js";

/**
 * The application, loaded once a command is about to run rather than when the command line
 * starts (docs/adr/0014): `--version`, `--help` and usage errors load no more than commander and
 * the command definitions. main.ts loads it in commander's preAction hook, so every action may
 * call app() synchronously.
 */
export type AppModule = typeof App;

let loaded: AppModule | undefined;

export async function loadApp(): Promise<typeof App> {
  loaded ??= await import("../../app/index.js");
  return loaded;
}

/** The loaded application. @throws Error before loadApp() has finished (a bug in main.ts) */
export function app(): typeof App {
  if (!loaded) {
    throw new Error("the application is used before it was loaded (call loadApp first)");
  }
  return loaded;
}
