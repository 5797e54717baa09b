import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { tempDir } from "../support/tmp.js";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command line in this process, capturing what it writes to stdout. */
async function inProcess(args: string[], env: Record<string, string>): Promise<Run> {
  const { run } = await import("../../src/cli/main.js");
  let stdout = "";
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await run(["node", "cleanimg-init", ...args], env);
    return { code, stdout, stderr: "" };
  } finally {
    process.stdout.write = write;
  }
}

function cli(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/root", ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("cleanimg-init command line", () => {
  let home: string;
  let layout: string;
  beforeAll(async () => {
    home = tempDir("cleanimg-cli-");
    layout = join(tempDir(), "img");
    await buildImageLayout({
      dir: layout,
      tag: "1.0",
      layers: [{ kind: "debs", debs: fetchDebs(["base-files", "busybox-static"]) }],
    });
  });
  const env = () => ({ CLEANIMG_HOME: home });

  it("answers --help on every command", async () => {
    const commands = [
      [],
      ["image"],
      ["image", "inspect"],
      ["image", "files"],
      ["image", "export"],
      ["image", "copy"],
      ["image", "ls"],
      ["image", "tag"],
      ["image", "rm"],
      ["evidence"],
      ["evidence", "ls"],
      ["build"],
      ["scan"],
      ["status"],
      ["report"],
      ["policy"],
      ["policy", "eval"],
      ["policy", "test"],
      ["audit"],
      ["vex"],
      ["vex", "add"],
      ["db"],
      ["db", "import"],
      ["db", "export"],
      ["db", "status"],
      ["sbom"],
      ["key", "generate"],
      ["bundle", "verify"],
      ["version", "compare"],
      ["verify"],
      ["tlog"],
      ["tlog", "verify"],
      ["tlog", "checkpoint"],
    ];
    // in this process (one process per command made this test the slowest of the file);
    // one command line still runs as its own process below
    for (const c of commands) {
      const r = await inProcess([...c, "--help"], env());
      expect(r.code, c.join(" ")).toBe(0);
      expect(r.stdout).toContain("Usage:");
    }
    expect(cli(["--help"]).stdout).toContain("Exit codes:");
  });

  it("asks for a build spec when --build finds none", () => {
    const r = cli(
      ["--build", "--image", "myapp:1.0.0", "--spec", "/nonexistent/cleanimg.yaml"],
      env(),
    );
    // a spec named and missing is an input that cannot be read (3); none named and none here, usage (2)
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot read the build spec \/nonexistent\/cleanimg.yaml/);
    expect(r.stderr).toMatch(/docs\/build.md/);
  });

  it("answers the design's status and audit forms on an empty store without claiming anything", () => {
    const fleet = cli(["--compliance-status"], env());
    expect(fleet.code, fleet.stderr).toBe(0);
    expect(fleet.stdout).toMatch(/no images with evidence in the store/);
    const trail = cli(["--audit-trail", "--from=2025-09-01", "--to=2025-10-04"], env());
    expect(trail.code, trail.stderr).toBe(0);
    expect(trail.stdout).toMatch(/2025-09-01 \.\. 2025-10-04: 0 events; log verified intact/);
  });

  it("names the frameworks it can report on", () => {
    const r = cli(
      ["--compliance", "pci-dss", "--image", "myapp:1.0.0", "--output", "r.json"],
      env(),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no report for framework "pci-dss" in this version/);
    expect(r.stderr).toMatch(/fedramp-high/);
  });

  it("copies into the local store, lists, tags, inspects, walks and removes with --json", () => {
    const copy = cli(["image", "copy", `oci:${layout}:1.0`, "myapp:1.0.0", "--json"], env());
    expect(copy.code, copy.stderr).toBe(0);
    const copied = JSON.parse(copy.stdout);
    expect(copied.digest).toMatch(/^sha256:/);
    expect(JSON.parse(cli(["image", "ls", "--json"], env()).stdout)).toEqual([
      expect.objectContaining({ name: "docker.io/library/myapp:1.0.0", digest: copied.digest }),
    ]);
    expect(cli(["image", "tag", "myapp:1.0.0", "myapp:latest", "--json"], env()).code).toBe(0);
    const inspect = JSON.parse(cli(["image", "inspect", "myapp:1.0.0", "--json"], env()).stdout);
    expect(inspect.manifest.digest).toBe(copied.digest);
    expect(inspect.layers).toHaveLength(1);
    const files = JSON.parse(cli(["image", "files", "myapp", "--json"], env()).stdout);
    expect(files.files.find((f: { path: string }) => f.path === "/bin/busybox")).toMatchObject({
      type: "file",
      mode: "0755",
      layer: 0,
    });
    const human = cli(["image", "files", "myapp:1.0.0"], env()).stdout;
    expect(human).toMatch(/^-rwxr-xr-x 0\/0 +\d+ L0 \/bin\/busybox$/m);
    const evidence = JSON.parse(
      cli(["evidence", "ls", "--subject", copied.digest, "--json"], env()).stdout,
    );
    expect(evidence.map((e: { kind: string }) => e.kind).sort()).toEqual([
      "file-inventory",
      "image-config",
      "image-manifest",
    ]);
    const sbomFile = join(tempDir(), "sbom.spdx.json");
    const sbom = cli(["sbom", "myapp:1.0.0", "--format", "spdx-2.3", "-o", sbomFile, "--json"], {
      ...env(),
      SOURCE_DATE_EPOCH: "1700000000",
    });
    expect(JSON.parse(sbom.stdout)).toMatchObject({ output: sbomFile, format: "spdx-2.3" });
    expect(JSON.parse(readFileSync(sbomFile, "utf8")).creationInfo.created).toBe(
      "2023-11-14T22:13:20Z",
    );
    expect(cli(["sbom", "myapp:1.0.0", "--format", "swid"], env()).code).toBe(2);
    // Syft's and Trivy's format names give the same documents
    for (const [name, format, spec] of [
      ["cyclonedx-json@1.7", "cyclonedx-1.7", "1.7"],
      ["cyclonedx-json", "cyclonedx-1.6", "1.6"],
      ["cyclonedx", "cyclonedx-1.6", "1.6"],
      ["spdx-json", "spdx-2.3", undefined],
    ] as const) {
      const f = join(tempDir(), "aliased.json");
      const r = cli(["sbom", "myapp:1.0.0", "--format", name, "-o", f, "--json"], env());
      expect(JSON.parse(r.stdout), name).toMatchObject({ format });
      const doc = JSON.parse(readFileSync(f, "utf8"));
      expect(doc.specVersion ?? doc.spdxVersion, name).toBe(spec ?? "SPDX-2.3");
    }
    const out = join(tempDir(), "rootfs");
    const exp = JSON.parse(cli(["image", "export", "myapp:1.0.0", out, "--json"], env()).stdout);
    expect(exp.files).toBeGreaterThan(10);
    const rm = JSON.parse(cli(["image", "rm", "myapp:latest", "--json"], env()).stdout);
    expect(rm).toEqual({
      removed: "docker.io/library/myapp:latest",
      names: ["docker.io/library/myapp:latest"],
      blobsDeleted: 0,
    });
    const rm2 = JSON.parse(cli(["image", "rm", "myapp:1.0.0", "--json"], env()).stdout);
    expect(rm2.blobsDeleted).toBe(3);
    expect(JSON.parse(cli(["image", "ls", "--json"], env()).stdout)).toEqual([]);
  });

  it("prints one-line errors with a hint, exit 2 for usage and 3 for operational errors", () => {
    const bad = cli(["image", "inspect", "Not A Ref"], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^cleanimg-init: error: invalid image reference/);
    expect(bad.stderr).toContain("hint:");
    expect(bad.stderr).not.toContain("    at ");
    const missing = cli(["image", "inspect", `oci:${tempDir()}`], env());
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("not an OCI image layout");
    const debug = cli(["image", "inspect", `oci:${tempDir()}`, "--debug"], env());
    expect(debug.stderr).toContain("    at ");
    const json = cli(["image", "inspect", "Not A Ref", "--json"], env());
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: "OCI_INVALID_REFERENCE" } });
    expect(cli(["image", "frobnicate"], env()).code).toBe(2);
    expect(cli(["image", "copy", "only-one"], env()).code).toBe(2);
  });

  it("compares versions like dpkg --compare-versions, one pair or a batch of JSON lines", () => {
    expect(cli(["version", "compare", "--ecosystem", "Debian", "1:1.0-1", "2.0-1"]).stdout).toBe(
      "1\n",
    );
    expect(cli(["version", "compare", "--ecosystem", "Maven", "1.0-SNAPSHOT", "1.0"]).stdout).toBe(
      "-1\n",
    );
    expect(
      JSON.parse(
        cli(["version", "compare", "--ecosystem", "npm", "1.2.3", "1.2.3", "--json"]).stdout,
      ),
    ).toMatchObject({ cmp: 0 });
    const bad = cli(["version", "compare", "--ecosystem", "PyPI", "1.0", "not-a-version"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("not a valid PyPI version");
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", MAIN, "version", "compare", "--ecosystem", "Alpine", "--batch"],
      {
        input: '{"a":"1.0_rc1","b":"1.0"}\n{"a":"1.0-r1","b":"1.0-r1"}\n{"a":"x","b":"1"}\n',
        encoding: "utf8",
      },
    );
    expect(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { a: "1.0_rc1", b: "1.0", cmp: -1 },
      { a: "1.0-r1", b: "1.0-r1", cmp: 0 },
      { a: "x", b: "1", cmp: null, error: '"x" is not a valid Alpine version' },
    ]);
  });

  it("speaks the sigstore-conformance client protocol: sigstore verify-bundle", () => {
    const conf = resolve(
      import.meta.dirname,
      "../../../shared/corpus/attestations/sigstore-conformance/bundle-verify",
    );
    const root = resolve(
      import.meta.dirname,
      "../../../shared/corpus/attestations/sigstore-trust/trusted_root.public-good.json",
    );
    const identity =
      "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    const issuer = "https://token.actions.githubusercontent.com";
    const verify = (c: string, extra: string[]) =>
      cli(
        [
          "sigstore",
          "verify-bundle",
          "--bundle",
          join(conf, c, "bundle.sigstore.json"),
          "--trusted-root",
          root,
          ...extra,
          join(conf, "a.txt"),
        ],
        env(),
      );
    const ok = verify("happy-path-v0.3", [
      "--certificate-identity",
      identity,
      "--certificate-oidc-issuer",
      issuer,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Operation succeeded!/);
    expect(
      verify("happy-path-v0.3", [
        "--certificate-identity",
        "https://example.com/other",
        "--certificate-oidc-issuer",
        issuer,
      ]).code,
    ).toBe(1);
    expect(
      verify("signature-mismatch_fail", [
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        issuer,
      ]).code,
    ).toBe(1);
    const managed = cli(
      [
        "sigstore",
        "verify-bundle",
        "--bundle",
        join(conf, "managed-key-happy-path", "bundle.sigstore.json"),
        "--key",
        join(conf, "managed-key-happy-path", "key.pub"),
        "--trusted-root",
        root,
        join(conf, "a.txt"),
      ],
      env(),
    );
    expect(managed.code, managed.stderr).toBe(0);
    // offline by default: signing names its services or does not start
    const unsigned = join(tempDir(), "b.json");
    const offline = cli(
      [
        "sigstore",
        "sign-bundle",
        "--identity-token",
        "x",
        "--bundle",
        unsigned,
        join(conf, "a.txt"),
      ],
      env(),
    );
    expect(offline.code).toBe(2);
    expect(offline.stderr).toMatch(/no Sigstore services named/);
    expect(existsSync(unsigned)).toBe(false);
  });

  it("generates encrypted keys without overwriting, and verifies Sigstore bundles with exit 0 or 1", () => {
    const dir = tempDir();
    expect(
      cli(["key", "generate", "--output-key-prefix", join(dir, "k")], {
        CLEANIMG_HOME: join(dir, "home"),
      }).code,
    ).toBe(2); // no passphrase
    const gen = cli(
      ["key", "generate", "--type", "ed25519", "--output-key-prefix", join(dir, "k"), "--json"],
      { CLEANIMG_PASSWORD: "pw", CLEANIMG_HOME: join(dir, "home") },
    );
    expect(gen.code).toBe(0);
    // the audit trail records the new key
    const trail = JSON.parse(
      cli(["audit", "--details", "--json"], { CLEANIMG_HOME: join(dir, "home") }).stdout,
    );
    expect(
      trail.events.map((e: { action: string; details: { keyid: string } }) => [
        e.action,
        e.details.keyid,
      ]),
    ).toEqual([["key-generate", JSON.parse(gen.stdout).keyid]]);
    expect(readFileSync(join(dir, "k.key"), "utf8")).toContain("ENCRYPTED PRIVATE KEY");
    const again = cli(["key", "generate", "--output-key-prefix", join(dir, "k")], {
      CLEANIMG_PASSWORD: "pw",
      CLEANIMG_HOME: join(dir, "home"),
    });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("it exists");
    const conf = resolve(
      import.meta.dirname,
      "../../../shared/corpus/attestations/sigstore-conformance/bundle-verify",
    );
    const root = resolve(
      import.meta.dirname,
      "../../../shared/corpus/attestations/sigstore-trust/trusted_root.public-good.json",
    );
    const ok = cli([
      "bundle",
      "verify",
      join(conf, "managed-key-happy-path/bundle.sigstore.json"),
      "--trusted-root",
      root,
      "--artifact",
      join(conf, "a.txt"),
      "--key",
      join(conf, "managed-key-happy-path/key.pub"),
      "--json",
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ keyKind: "public-key" });
    const bad = cli([
      "bundle",
      "verify",
      join(conf, "managed-key-wrong-key_fail/bundle.sigstore.json"),
      "--trusted-root",
      root,
      "--artifact",
      join(conf, "a.txt"),
      "--key",
      join(conf, "managed-key-wrong-key_fail/key.pub"),
    ]);
    expect(bad.code).toBe(1);
  });

  it("colours errors on a terminal and honours NO_COLOR", () => {
    const run = (extra: string): string =>
      execFileSync(
        "script",
        [
          "-qec",
          `${extra} ${process.execPath} --import tsx ${MAIN} image inspect 'Bad Ref'`,
          "/dev/null",
        ],
        {
          encoding: "utf8",
          env: { ...process.env, CLEANIMG_HOME: home, TERM: "xterm" },
        },
      ).toString();
    const colored = (() => {
      try {
        return run("");
      } catch (e) {
        return String((e as { stdout?: string }).stdout);
      }
    })();
    const plain = (() => {
      try {
        return run("NO_COLOR=1");
      } catch (e) {
        return String((e as { stdout?: string }).stdout);
      }
    })();
    expect(colored).toContain("\x1b[31m");
    expect(plain).not.toContain("\x1b[");
    expect(plain).toContain("error:");
  });
});
