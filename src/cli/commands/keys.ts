import type { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { app } from "./app.js";
import { outputFile } from "./common.js";
import type { CliDeps } from "./deps.js";

/** Registers the keys commands. */
export function registerKeys(program: Command, deps: CliDeps): void {
  const { out, context, env } = deps;
  // --- key, bundle -----------------------------------------------------------------------------
  const key = program.command("key").description("signing keys");
  key
    .command("generate")
    .description("write PREFIX.key (encrypted with $CLEANIMG_PASSWORD) and PREFIX.pub")
    .option("--type <type>", "ecdsa-p256 | ed25519", "ecdsa-p256")
    .option("--output-key-prefix <prefix>", "file name prefix", outputFile, "cleanimg")
    .option("--unencrypted", "write the private key without a passphrase")
    .action(
      async (o: { type: string; outputKeyPrefix: string; unencrypted?: boolean }, cmd: Command) => {
        const passphrase = env["CLEANIMG_PASSWORD"];
        if (!passphrase && !o.unencrypted) {
          throw new UsageError("CLI_USAGE", "no passphrase for the private key", {
            hint: "set CLEANIMG_PASSWORD, or pass --unencrypted to write it in the clear",
          });
        }
        const r = await app().writeKeyPair(
          o.outputKeyPrefix,
          app().parseKeyType(o.type),
          o.unencrypted ? undefined : passphrase,
        );
        await app().recordAuditEvent(context(cmd), {
          action: "key-generate",
          evidence: {},
          details: { keyid: r.keyid, type: o.type, publicKey: r.publicKey },
        });
        out.result(r, () => `wrote ${r.privateKey} and ${r.publicKey} (key id ${r.keyid})`);
      },
    );
  key
    .command("trust")
    .description(
      "trust a person's public key: their signed VEX decisions (vex add --key) are applied",
    )
    .requiredOption("--person <file>", "the person's public key (PREFIX.pub of key generate)")
    .action(async (o: { person: string }, cmd: Command) => {
      const r = await app().trustPersonKey(context(cmd), o.person);
      out.result(
        r,
        () => `trusted ${r.keyid} for VEX decisions (${r.path}); remove the file to revoke it`,
      );
    });
  registerBundle(program, deps);
  registerSigstore(program, deps);
}

function registerBundle(program: Command, deps: CliDeps): void {
  const { out } = deps;
  const bundleCmd = program.command("bundle").description("Sigstore bundles");
  bundleCmd
    .command("verify")
    .description(
      "verify a Sigstore bundle offline against a trusted root, signed by the identity or key given (exit 1 when it does not verify)",
    )
    .argument("<bundle>", "bundle file (.sigstore.json)")
    .requiredOption("--trusted-root <file>", "Sigstore trusted_root.json")
    .option("--artifact <file>", "the signed file, or the attestation's subject")
    .option("--certificate-identity <san>", "the signer identity accepted (keyless; or --key)")
    .option("--certificate-oidc-issuer <url>", "the identity issuer accepted (keyless; or --key)")
    .option("--key <file>", "PEM public key (bundles signed with a key; or the two above)")
    .action(
      async (
        file: string,
        o: {
          trustedRoot: string;
          artifact?: string;
          certificateIdentity?: string;
          certificateOidcIssuer?: string;
          key?: string;
        },
      ) => {
        const r = await app().verifyBundleFile(file, {
          trustedRoot: o.trustedRoot,
          ...(o.artifact ? { artifact: o.artifact } : {}),
          ...(o.certificateIdentity ? { identity: o.certificateIdentity } : {}),
          ...(o.certificateOidcIssuer ? { issuer: o.certificateOidcIssuer } : {}),
          ...(o.key ? { key: o.key } : {}),
        });
        const { dsse: _dsse, ...shown } = r;
        out.result(
          shown,
          () =>
            `verified: ${r.keyKind === "public-key" ? "signed with the given key" : `signed by ${r.identity?.subjectAlternativeName ?? "?"} (issuer ${r.identity?.issuer ?? "?"})`}`,
        );
      },
    );

  program
    .command("verify-provenance")
    .description(
      "verify SLSA provenance of an artifact, in the manner of slsa-verifier (exit 1 when it does not verify)",
    )
    .argument("<artifact>", "the artifact the provenance is about")
    .requiredOption("--provenance-path <file>", "Sigstore bundle(s), one JSON per line")
    .requiredOption(
      "--source-uri <uri>",
      "the source repository expected, e.g. github.com/org/repo",
    )
    .option(
      "--builder-id <id>",
      "the builder trusted to have built it (its workflow identity); required",
    )
    .requiredOption("--trusted-root <file>", "Sigstore trusted_root.json")
    .action(
      async (
        artifact: string,
        o: { provenancePath: string; sourceUri: string; builderId?: string; trustedRoot: string },
      ) => {
        if (!o.builderId) {
          // no builder is trusted by default: the signer's identity is the builder asked for
          throw new UsageError(
            "CLI_USAGE",
            "--builder-id is required for verification: no builder is trusted by default",
          );
        }
        const r = await app().verifyProvenanceFile(artifact, o.provenancePath, {
          sourceUri: o.sourceUri,
          ...(o.builderId ? { builderId: o.builderId } : {}),
          trustedRoot: o.trustedRoot,
        });
        out.result(
          r,
          () => `PASSED: ${artifact} (${r.artifact}) was built by ${r.builder} from ${r.source}`,
        );
      },
    );
}

function registerSigstore(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
  // the client command-line protocol of sigstore-conformance
  const sigstoreCmd = program
    .command("sigstore")
    .description("Sigstore client commands in the sigstore-conformance protocol");
  sigstoreCmd
    .command("verify-bundle")
    .description(
      "verify-bundle --bundle FILE (--certificate-identity ID --certificate-oidc-issuer URL | --key FILE) [--trusted-root FILE] ARTIFACT",
    )
    .argument("<artifact>", "the signed file (a sha256:DIGEST is not supported: give the file)")
    .requiredOption("--bundle <file>", "the Sigstore bundle")
    .option("--certificate-identity <san>", "the signer identity accepted (keyless; or --key)")
    .option("--certificate-oidc-issuer <url>", "the identity issuer accepted (keyless; or --key)")
    .option("--key <file>", "PEM public key of a key-signed bundle (or the two above)")
    .option(
      "--trusted-root <file>",
      "trusted_root.json (default: $CLEANIMG_HOME/sigstore/trusted_root.json)",
    )
    .option("--staging", "use the staging instance's trusted root (needs --trusted-root offline)")
    .action(
      async (
        artifact: string,
        o: {
          bundle: string;
          certificateIdentity?: string;
          certificateOidcIssuer?: string;
          key?: string;
          trustedRoot?: string;
          staging?: boolean;
        },
        cmd: Command,
      ) => {
        if (/^sha256:[0-9a-f]{64}$/.test(artifact)) {
          throw new UsageError(
            "CLI_USAGE",
            "verifying by digest alone is not supported: give the artifact file",
          );
        }
        const root = o.trustedRoot ?? `${context(cmd).home}/sigstore/trusted_root.json`;
        const r = await app().verifyBundleFile(o.bundle, {
          trustedRoot: root,
          artifact,
          ...(o.certificateIdentity ? { identity: o.certificateIdentity } : {}),
          ...(o.certificateOidcIssuer ? { issuer: o.certificateOidcIssuer } : {}),
          ...(o.key ? { key: o.key } : {}),
        });
        out.result({ verified: true, keyKind: r.keyKind }, () => "Operation succeeded!");
      },
    );
  sigstoreCmd
    .command("sign-bundle")
    .description(
      "sign-bundle --identity-token TOKEN --bundle FILE [--signing-config FILE | --staging | --fulcio-url URL --rekor-url URL] ARTIFACT (keyless), or --key FILE instead of a token",
    )
    .argument("<artifact>", "the file to sign")
    .requiredOption("--bundle <file>", "where to write the Sigstore v0.3 bundle", outputFile)
    .option("--identity-token <jwt>", "OIDC identity token (keyless)")
    .option("--key <file>", "sign with this private key (PEM or cosign.key) instead of keyless")
    .option("--signing-config <file>", "signing_config.json naming Fulcio, Rekor and TSA")
    .option("--trusted-root <file>", "accepted for the conformance protocol (verification uses it)")
    .option("--fulcio-url <url>", "Fulcio (certificate authority) of a private instance")
    .option("--rekor-url <url>", "Rekor transparency log to record the signature in")
    .option("--tsa-url <url>", "RFC 3161 timestamp authority")
    .option("--staging", "use the public-good staging instance (needs network)")
    .action(
      async (
        artifact: string,
        o: {
          bundle: string;
          identityToken?: string;
          key?: string;
          signingConfig?: string;
          fulcioUrl?: string;
          rekorUrl?: string;
          tsaUrl?: string;
          staging?: boolean;
        },
        cmd: Command,
      ) => {
        const env = context(cmd).env;
        const password = o.key
          ? (env["CLEANIMG_SIGNING_KEY_PASSWORD"] ?? env["COSIGN_PASSWORD"])
          : undefined;
        const r = await app().signBundleFile(artifact, o.bundle, {
          ...(o.identityToken ? { identityToken: o.identityToken } : {}),
          ...(o.key ? { key: o.key } : {}),
          ...(password !== undefined ? { keyPassword: password } : {}),
          ...(o.signingConfig ? { signingConfig: o.signingConfig } : {}),
          ...(o.fulcioUrl ? { fulcioURL: o.fulcioUrl } : {}),
          ...(o.rekorUrl ? { rekorURL: o.rekorUrl } : {}),
          ...(o.tsaUrl ? { tsaURL: o.tsaUrl } : {}),
          ...(o.staging ? { staging: true } : {}),
        });
        out.result(
          { bundle: o.bundle, ...r },
          () => `wrote ${o.bundle} (${r.keyKind}, ${r.tlogEntries} log entries)`,
        );
      },
    );
}
