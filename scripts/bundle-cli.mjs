// Bundles the command lines (dist/cli/main.js, dist/cli/kubectl-images.js) from src/ after tsc
// has written dist/: our modules become a few files, loaded at once instead of ~260 resolved one
// by one, which is most of a command's start-up (docs/adr/0014). Packages stay external (they
// load from node_modules, better-sqlite3 is native). The application and the server stay
// separate chunks, loaded only when a command runs (the dynamic imports in cli/). The chunks sit
// beside main.js in dist/cli, two levels under the package root, where the data/ paths resolve
// as from dist/compliance. The library entry (dist/index.js) stays tsc's output.
import { readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const out = join(root, "dist/cli");
for (const f of readdirSync(out)) {
  if (/^[a-z]+-[A-Z0-9]{8}\.js(\.map)?$/.test(f)) {
    rmSync(join(out, f));
  }
}
await build({
  entryPoints: [join(root, "src/cli/main.ts"), join(root, "src/cli/kubectl-images.ts")],
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  allowOverwrite: true,
  logLevel: "warning",
});
