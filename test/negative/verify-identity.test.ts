import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

/**
 * Every verifier refuses to run without naming whom it trusts: a certificate identity and
 * issuer, or a key (the builder, for provenance). "Any signer" is never success: the refusal is
 * a usage error (exit 2) whose one line names the missing flags, as cosign's does.
 */
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const ATT = resolve(import.meta.dirname, "../../../shared/corpus/attestations");
const CONF = join(ATT, "sigstore-conformance/bundle-verify");
const ROOT = join(ATT, "sigstore-trust/trusted_root.public-good.json");
const BUNDLE = join(CONF, "happy-path-v0.3/bundle.sigstore.json");
const ARTIFACT = join(CONF, "a.txt");
const OTHER_KEY = join(CONF, "managed-key-happy-path/key.pub");
const IDENTITY =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER = "https://token.actions.githubusercontent.com";

const home = tempDir();
const cli = (args: string[], h = home) => {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "", CLEANIMG_HOME: h, CLEANIMG_PASSWORD: "" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
/** A usage refusal: exit 2, one line naming exactly the missing flags. */
const refused = (r: ReturnType<typeof cli>, named: RegExp, notNamed?: RegExp) => {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(named);
  if (notNamed) {
    expect(r.stderr).not.toMatch(notNamed);
  }
};

const verifiers: [string, (extra: string[]) => string[]][] = [
  [
    "sigstore verify-bundle",
    (extra) => [
      "sigstore",
      "verify-bundle",
      "--bundle",
      BUNDLE,
      "--trusted-root",
      ROOT,
      ...extra,
      ARTIFACT,
    ],
  ],
  [
    "bundle verify",
    (extra) => [
      "bundle",
      "verify",
      BUNDLE,
      "--trusted-root",
      ROOT,
      "--artifact",
      ARTIFACT,
      ...extra,
    ],
  ],
];

describe.each(verifiers)("%s needs an identity or a key", (_name, args) => {
  it("refuses without identity, issuer and key (exit 2, naming both flags)", () => {
    refused(
      cli(args([])),
      /--certificate-identity and --certificate-oidc-issuer are required for verification in keyless mode/,
    );
  });
  it("refuses an identity without its issuer, and an issuer without its identity", () => {
    refused(
      cli(args(["--certificate-identity", IDENTITY])),
      /--certificate-oidc-issuer is required for verification in keyless mode/,
      /--certificate-identity /,
    );
    refused(
      cli(args(["--certificate-oidc-issuer", ISSUER])),
      /^\S+ error: --certificate-identity is required for verification in keyless mode/,
    );
  });
  it("does not accept a keyless bundle's any signer because some key was given", () => {
    const r = cli(args(["--key", OTHER_KEY]));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /signed keyless .*--certificate-identity and --certificate-oidc-issuer/,
    );
  });
  it("verifies with the identity and issuer given (the conformance protocol)", () => {
    const r = cli(args(["--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER]));
    expect(r.code, r.stderr).toBe(0);
  });
});

describe("the other verifiers", () => {
  it("verify-provenance refuses without --builder-id (no builder is trusted by default)", () => {
    const bcr = join(ATT, "slsa-verifier/bcr");
    const args = [
      "verify-provenance",
      join(bcr, "MODULE.bazel"),
      "--provenance-path",
      join(bcr, "MODULE.bazel.intoto.jsonl"),
      "--source-uri",
      "github.com/aspect-build/rules_lint",
      "--trusted-root",
      ROOT,
    ];
    refused(cli(args), /--builder-id is required for verification/);
    const ok = cli([
      ...args,
      "--builder-id",
      "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml",
    ]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("db import refuses a signed export without --key, and imports it with the exporter's key", () => {
    const dir = tempDir();
    const exporter = join(dir, "exporter");
    expect(
      cli(["key", "generate", "--unencrypted", "--output-key-prefix", join(dir, "k")], exporter)
        .code,
    ).toBe(0);
    const file = join(dir, "db.export");
    const exported = cli(["db", "export", "--key", join(dir, "k.key"), "-o", file], exporter);
    expect(exported.code, exported.stderr).toBe(0);
    const target = join(dir, "target");
    refused(cli(["db", "import", file], target), /--key is required for verification/);
    const ok = cli(["db", "import", file, "--key", join(dir, "k.pub")], target);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("intoto verify and intoto sign --verify refuse without the keys to verify with", () => {
    const r = cli(["intoto", "verify", "-l", join(tempDir(), "root.layout")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--layout-keys/);
    const s = cli(["intoto", "sign", "--verify", "-f", join(tempDir(), "x.link")]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/-k KEY/);
  });
});
