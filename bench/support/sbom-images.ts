// The four images of the SBOM speed table, built from real Debian bookworm packages (apt-get
// download, cached) and cached as OCI layouts under .cache/bench/sbom-NAME:
// - distroless: the six packages of a distroless base (base-files, netbase, tzdata, libc6,
//   libssl3, ca-certificates) with distroless's status.d records, one layer;
// - python-node: Python 3 with requests, yaml and numpy, and Node.js with npm, every dependency
//   (apt-cache depends --recurse), in two layers;
// - whiteouts: four layers, two of which purge packages the layer before installed (the
//   whiteouts `dpkg --purge` leaves) and one re-installs some of them;
// - jars: OpenJDK 17 and Java libraries (Spring, Jetty, Tomcat, Guava, Jackson, Batik, Netty,
//   Bouncy Castle, Maven, Ant... with dependencies), plus an application layer with a fat JAR
//   (every library jar stored under BOOT-INF/lib, as Spring Boot packs them) and a WAR holding
//   the same jars under WEB-INF/lib: nested archives.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImageLayout, type LayerSpec } from "../../test/support/build-image.js";
import { fetchDebs } from "../../test/support/debs.js";

export interface BenchImage {
  readonly name: string;
  /** The OCI layout, tagged `bench`. */
  readonly layout: string;
}

/** The named packages and everything they depend on (no recommends), as apt resolves them. */
function withDependencies(names: readonly string[]): string[] {
  const out = execFileSync(
    "apt-cache",
    [
      "depends",
      "--recurse",
      "--no-recommends",
      "--no-suggests",
      "--no-conflicts",
      "--no-breaks",
      "--no-replaces",
      "--no-enhances",
      ...names,
    ],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  // virtual packages print as <name>; the packages that provide them are listed too
  return [...new Set(out.split("\n").filter((l) => /^[a-z0-9]/.test(l)))].sort();
}

/**
 * The version Debian's archive has of a package (this machine's Node.js may come from another
 * repository, whose candidate `apt-get download` cannot fetch), as `name=version`.
 */
function fromDebian(name: string): string {
  const line = execFileSync("apt-cache", ["madison", name], { encoding: "utf8" })
    .split("\n")
    .find((l) => l.includes("deb.debian.org"));
  const version = line?.split("|")[1]?.trim();
  return version ? `${name}=${version}` : name;
}

const PYTHON_NODE = ["python3", "python3-requests", "python3-yaml", "python3-numpy"];
const NODE = ["nodejs", "npm"];
const JAVA = [
  "openjdk-17-jre-headless",
  "libspring-core-java",
  "libjetty9-java",
  "libtomcat9-java",
  "libguava-java",
  "libjackson2-databind-java",
  "libbatik-java",
  "libcommons-math3-java",
  "libbcprov-java",
  "libgoogle-gson-java",
  "libnetty-java",
  "libhibernate-validator-java",
  "libeclipse-jdt-core-java",
  "libxalan2-java",
  "libxerces2-java",
  "libicu4j-java",
  "libmaven3-core-java",
  "ant",
];

/** A fat JAR and a WAR of every jar under usr/share/java of the given packages (zip, stored). */
function applicationArchives(debs: readonly string[]): { jar: Buffer; war: Buffer } {
  const tmp = mkdtempSync(join(tmpdir(), "cleanimg-bench-jars-"));
  try {
    for (const deb of debs) {
      // a package without jars makes tar exit 2 (nothing matched): not an error here
      execFileSync(
        "bash",
        [
          "-c",
          `dpkg-deb --fsys-tarfile "$1" | tar -x --wildcards './usr/share/java/*' || true`,
          "-",
          deb,
        ],
        { cwd: tmp, stdio: ["ignore", "ignore", "ignore"] },
      );
    }
    const sh = (script: string): void => {
      execFileSync("bash", ["-c", script], { cwd: tmp, stdio: ["ignore", "ignore", "inherit"] });
    };
    // real jars only (Debian's unversioned names are symlinks to them); stored, not deflated,
    // as Spring Boot stores nested jars
    sh(`set -e; mkdir -p app/BOOT-INF/lib app/WEB-INF/lib
      find usr/share/java -type f -name '*.jar' -exec cp {} app/BOOT-INF/lib/ \\;
      cp app/BOOT-INF/lib/*.jar app/WEB-INF/lib/
      printf 'Manifest-Version: 1.0\\nMain-Class: org.springframework.boot.loader.JarLauncher\\nStart-Class: example.App\\n' > MANIFEST.MF
      mkdir -p app/META-INF && cp MANIFEST.MF app/META-INF/
      (cd app && zip -q -0 -r ../app.jar META-INF BOOT-INF && zip -q -0 -r ../app.war META-INF WEB-INF)`);
    return { jar: readFileSync(join(tmp, "app.jar")), war: readFileSync(join(tmp, "app.war")) };
  } catch (e) {
    throw new Error(`building the application archives: ${(e as Error).message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function specs(name: string): LayerSpec[] {
  switch (name) {
    case "distroless":
      return [
        {
          kind: "debs",
          dpkgStatus: "status.d",
          debs: fetchDebs([
            "base-files",
            "netbase",
            "tzdata",
            "libc6",
            "libssl3",
            "ca-certificates",
          ]),
        },
      ];
    case "python-node": {
      const python = withDependencies(PYTHON_NODE);
      const node = withDependencies(NODE)
        .filter((p) => !python.includes(p))
        .map((p) => (p === "nodejs" ? fromDebian(p) : p));
      return [
        { kind: "debs", debs: fetchDebs(python) },
        { kind: "debs", debs: fetchDebs(node) },
      ];
    }
    case "whiteouts": {
      const base = withDependencies(["python3", "perl", "curl"]);
      const gone = fetchDebs(
        ["curl", "libcurl4", "python3-pkg-resources"].filter((p) => base.includes(p)),
      );
      const tools = withDependencies(["git", "python3-setuptools"]).filter(
        (p) => !base.includes(p),
      );
      return [
        { kind: "debs", debs: fetchDebs(base) },
        { kind: "purge", debs: gone },
        { kind: "debs", debs: fetchDebs(tools) },
        { kind: "purge", debs: fetchDebs(["git", "git-man"]) },
      ];
    }
    case "jars": {
      const all = withDependencies(JAVA);
      const debs = fetchDebs(all);
      const jdk = all.filter((p) => /^openjdk|^libc6$|^libgcc|^zlib|^libstdc|^base-files/.test(p));
      const apps = applicationArchives(debs);
      return [
        { kind: "debs", debs: fetchDebs(jdk) },
        { kind: "debs", debs: fetchDebs(all.filter((p) => !jdk.includes(p))) },
        {
          kind: "files",
          files: [
            { name: "app/", type: "dir" },
            { name: "app/app.jar", type: "file", mode: 0o644, body: apps.jar },
            { name: "app/app.war", type: "file", mode: 0o644, body: apps.war },
          ],
        },
      ];
    }
    default:
      throw new Error(`no bench image ${name}`);
  }
}

export const BENCH_IMAGE_NAMES = ["distroless", "python-node", "whiteouts", "jars"] as const;

/** The image's OCI layout, built once. */
export async function benchImage(cache: string, name: string): Promise<BenchImage> {
  const layout = join(cache, `sbom-${name}`);
  if (!existsSync(join(layout, "index.json"))) {
    process.stderr.write(`building the ${name} benchmark image (once)\n`);
    rmSync(layout, { recursive: true, force: true });
    await buildImageLayout({ dir: layout, tag: "bench", layers: specs(name) });
  }
  return { name, layout };
}
