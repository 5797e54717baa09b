import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { AttestError } from "../core/errors.js";
import { verifySigstoreBundle } from "./sigstore.js";

const ATT = resolve(import.meta.dirname, "../../../shared/corpus/attestations");
const CONF = join(ATT, "sigstore-conformance/bundle-verify");
const PUBLIC_GOOD = JSON.parse(
  readFileSync(join(ATT, "sigstore-trust/trusted_root.public-good.json"), "utf8"),
);
const DEFAULT_IDENTITY =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER = "https://token.actions.githubusercontent.com";

function verifyCase(name: string): { passed: boolean; reason?: string } {
  const dir = join(CONF, name);
  const read = (f: string): Buffer | undefined =>
    existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : undefined;
  try {
    const bundle = JSON.parse((read("bundle.sigstore.json") as Buffer).toString("utf8"));
    const key = read("key.pub");
    const root = read("trusted_root.json");
    verifySigstoreBundle(bundle, {
      artifact: new Uint8Array(read("artifact") ?? readFileSync(join(CONF, "a.txt"))),
      trustedRoot: root ? JSON.parse(root.toString("utf8")) : PUBLIC_GOOD,
      identity: read("identity")?.toString("utf8").trim() ?? DEFAULT_IDENTITY,
      issuer: read("issuer")?.toString("utf8").trim() ?? DEFAULT_ISSUER,
      ...(key ? { publicKeyPem: key.toString("utf8") } : {}),
    });
    return { passed: true };
  } catch (e) {
    return { passed: false, reason: (e as Error).message };
  }
}

describe("Sigstore bundle verification: sigstore-conformance cases", () => {
  const cases = readdirSync(CONF, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  it("has the 70 recorded cases, 21 to pass and 49 to fail", () => {
    expect(cases).toHaveLength(70);
    expect(cases.filter((c) => c.endsWith("_fail"))).toHaveLength(49);
  });
  // the recorded verdict is the case directory's name: "_fail" means verification must fail
  const recorded = (name: string): boolean => !name.endsWith("_fail");
  it.each(cases)("%s", (name) => {
    const r = verifyCase(name);
    expect(r, r.reason).toMatchObject({ passed: recorded(name) });
  });
  it("gets every recorded verdict of the whole suite", () => {
    const wrong = cases.filter((c) => verifyCase(c).passed !== recorded(c));
    const right = cases.length - wrong.length;
    process.stdout.write(
      `sigstore-conformance bundle-verify: ${right} of ${cases.length} verdicts as recorded${wrong.length ? `; wrong: ${wrong.join(", ")}` : ""}\n`,
    );
    expect(wrong).toEqual([]);
    expect(right).toBe(cases.length);
  });
});

describe("Sigstore bundle verification: slsa-verifier unit bundles", () => {
  const bundle = (f: string) =>
    JSON.parse(readFileSync(join(ATT, "slsa-verifier/bundle-unit/bundle", f), "utf8"));
  it.each(["valid.intoto.sigstore", "valid-v0.3.intoto.sigstore"])(
    "%s verifies and names its signer",
    (f) => {
      const r = verifySigstoreBundle(bundle(f), { trustedRoot: PUBLIC_GOOD });
      expect(r.keyKind).toBe("certificate");
      expect(r.identity?.issuer).toBe(DEFAULT_ISSUER);
      expect(r.dsse?.payloadType).toBe("application/vnd.in-toto+json");
    },
  );
  it.each([
    "invalid-set.intoto.sigstore",
    "mismatch-tlog.intoto.sigstore",
    "invalid-dsse-sig.intoto.sigstore",
  ])("%s is rejected", (f) => {
    expect(() => verifySigstoreBundle(bundle(f), { trustedRoot: PUBLIC_GOOD })).toThrow(
      AttestError,
    );
  });
});
