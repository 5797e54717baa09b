import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type AppContext, type BuildResult, buildImage } from "../../src/app/index.js";
import { parseSpec } from "../../src/build/index.js";
import { sha256 } from "../../src/core/digest.js";
import { tempDir } from "../support/tmp.js";

/**
 * A real `cleanimg build` that needs no network: the spec installs no Debian packages and a lock
 * file matching it (no packages) is written beside it, so the archive index is never read.
 * `files` are written into the build context (path -> content).
 */
export async function offlineBuild(
  ctx: AppContext,
  spec: string,
  files: Readonly<Record<string, string>> = { "app/config.txt": "static content\n" },
): Promise<BuildResult> {
  const dir = tempDir("cleanimg-negative-ctx-");
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), body);
  }
  writeFileSync(join(dir, "cleanimg.yaml"), spec);
  const s = parseSpec(spec, "cleanimg.yaml");
  const lock = {
    lockVersion: 1,
    resolutionKey: sha256(
      JSON.stringify({ archive: s.archive, architecture: s.architecture, packages: s.packages }),
    ),
    archive: {
      uri: s.archive.uri,
      suite: s.archive.suite,
      architecture: s.architecture,
      inRelease: `sha256:${"0".repeat(64)}`,
      date: "Sat, 01 Jun 2024 00:00:00 UTC",
      version: "12.5",
    },
    packages: [],
  };
  writeFileSync(join(dir, "cleanimg.lock"), `${JSON.stringify(lock, null, 2)}\n`);
  return buildImage(ctx, { spec: join(dir, "cleanimg.yaml") });
}

/** A Python package the PyPI data has advisories for, as pip installs it. */
export const REQUESTS_2_28_1 = {
  "site/requests-2.28.1.dist-info/METADATA":
    "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n",
};
