import { describe, expect, it } from "vitest";
import { AttestError, TrustPolicyError } from "../core/errors.js";
import { acceptIdentity, type VerifiedBundle } from "./sigstore.js";

const ISSUER = "https://token.actions.githubusercontent.com";
const SAN = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const signedBy = (san: string, issuer = ISSUER): VerifiedBundle => ({
  keyKind: "certificate",
  identity: { subjectAlternativeName: san, issuer },
  mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
});

/** The trust policy is its own step, with its own error class, after verification proved who signed. */
describe("acceptIdentity", () => {
  it("accepts the identity given, exactly, and an identity with its issuer left open", () => {
    expect(() =>
      acceptIdentity(signedBy(SAN), [{ subjectAlternativeName: SAN, issuer: ISSUER }]),
    ).not.toThrow();
    expect(() => acceptIdentity(signedBy(SAN), [{ subjectAlternativeName: SAN }])).not.toThrow();
    expect(() =>
      acceptIdentity(signedBy(SAN), [
        { subjectAlternativeName: "x", issuer: ISSUER },
        { subjectAlternativeName: SAN, issuer: ISSUER },
      ]),
    ).not.toThrow();
  });

  it("refuses a part, a pattern, another case or another issuer, as a TrustPolicyError naming the signer", () => {
    for (const t of [
      { subjectAlternativeName: SAN.slice(0, -1), issuer: ISSUER },
      { subjectAlternativeName: "acme/app", issuer: ISSUER },
      { subjectAlternativeName: `^${SAN.replace(/\./g, "\\.")}$`, issuer: ISSUER },
      { subjectAlternativeName: SAN.toUpperCase(), issuer: ISSUER },
      { subjectAlternativeName: SAN, issuer: `${ISSUER}/` },
    ]) {
      let e: unknown;
      try {
        acceptIdentity(signedBy(SAN), [t]);
      } catch (x) {
        e = x;
      }
      expect(e, JSON.stringify(t)).toBeInstanceOf(TrustPolicyError);
      expect(e).toBeInstanceOf(AttestError);
      expect((e as TrustPolicyError).code).toBe("ATTEST_VERIFY_FAILED");
      expect((e as Error).message).toContain(`signed by ${SAN}`);
    }
  });

  it("refuses a key-signed bundle and an empty trust list", () => {
    expect(() => acceptIdentity({ ...signedBy(SAN), keyKind: "public-key" }, [{}])).toThrow(
      TrustPolicyError,
    );
    expect(() => acceptIdentity(signedBy(SAN), [])).toThrow(TrustPolicyError);
  });
});
