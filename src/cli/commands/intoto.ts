import { resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { readInput } from "../../core/input.js";
import { app } from "./app.js";
import { outputFile } from "./common.js";
import type { CliDeps } from "./deps.js";

/** Registers the intoto commands. */
export function registerInToto(program: Command, deps: CliDeps): void {
  const { out } = deps;
  // --- in-toto ---------------------------------------------------------------------------------
  const intoto = program
    .command("intoto")
    .description("in-toto links and layouts, with the reference implementation's options");
  intoto
    .command("run")
    .description(
      "run a step: record materials, run the command, record products, sign the link (in-toto-run)",
    )
    .requiredOption("-n, --step-name <name>", "the step's name in the layout")
    .requiredOption(
      "-k, --key <file>",
      "the functionary's private key (PEM, or securesystemslib JSON Ed25519)",
    )
    .option(
      "-t, --key-type <type>",
      "rsa, ecdsa or ed25519 (read from the key file; accepted for compatibility)",
    )
    .option("-m, --materials <paths...>", "files or directories recorded before the command")
    .option("-p, --products <paths...>", "files or directories recorded after the command")
    .option("-x, --no-command", "record artifacts only, run nothing")
    .option(
      "--exclude <patterns...>",
      "fnmatch patterns of artifacts not to record (default *.link* .git *.pyc *~)",
    )
    .option("--base-path <dir>", "resolve and record artifact paths relative to this directory")
    .option("-d, --metadata-directory <dir>", "where to write the link (default: here)")
    .option("--use-dsse", "write the link as a DSSE envelope")
    .option("--password <password>", "the key's password (an encrypted PEM key)")
    .argument("[command...]", "the command, after --")
    .action(
      async (
        command: string[],
        o: {
          stepName: string;
          key: string;
          materials?: string[];
          products?: string[];
          command: boolean;
          exclude?: string[];
          basePath?: string;
          metadataDirectory?: string;
          useDsse?: boolean;
          password?: string;
        },
      ) => {
        const r = await app().intotoRun({
          name: o.stepName,
          signer: await app().loadInTotoSigner(o.key, o.password),
          ...(o.materials ? { materials: o.materials } : {}),
          ...(o.products ? { products: o.products } : {}),
          command,
          ...(o.command ? {} : { noCommand: true }),
          ...(o.exclude ? { excludes: o.exclude } : {}),
          ...(o.basePath ? { basePath: o.basePath } : {}),
          ...(o.metadataDirectory ? { metadataDirectory: o.metadataDirectory } : {}),
          ...(o.useDsse ? { useDsse: true } : {}),
          cwd: process.cwd(),
        });
        const rv = r.link.byproducts["return-value"];
        out.issues(r.issues);
        out.result(
          {
            link: r.path,
            returnValue: rv ?? null,
            materials: Object.keys(r.link.materials).length,
            products: Object.keys(r.link.products).length,
            issues: r.issues,
          },
          () =>
            `wrote ${r.path} (${Object.keys(r.link.materials).length} materials, ${Object.keys(r.link.products).length} products${rv !== undefined ? `, return value ${rv}` : ""})`,
        );
      },
    );
  registerInTotoRecord(deps, intoto);
  registerInTotoSign(deps, intoto);
  registerInTotoLayout(deps, intoto);
}

function registerInTotoRecord(deps: CliDeps, intoto: Command): void {
  const { out } = deps;
  const record = intoto
    .command("record")
    .description("record a step whose commands run outside cleanimg (in-toto-record)");
  record
    .command("start")
    .description("record the materials into a signed preliminary link")
    .requiredOption("-n, --step-name <name>", "the step's name in the layout")
    .requiredOption("-k, --key <file>", "the functionary's private key")
    .option("-t, --key-type <type>", "accepted for compatibility (read from the key file)")
    .option("-m, --materials <paths...>", "files or directories to record")
    .option("--exclude <patterns...>", "fnmatch patterns not to record")
    .option("--base-path <dir>", "record paths relative to this directory")
    .option("--password <password>", "the key's password")
    .action(
      async (o: {
        stepName: string;
        key: string;
        materials?: string[];
        exclude?: string[];
        basePath?: string;
        password?: string;
      }) => {
        const r = await app().intotoRecordStart({
          name: o.stepName,
          signer: await app().loadInTotoSigner(o.key, o.password),
          ...(o.materials ? { materials: o.materials } : {}),
          ...(o.exclude ? { excludes: o.exclude } : {}),
          ...(o.basePath ? { basePath: o.basePath } : {}),
          cwd: process.cwd(),
        });
        out.issues(r.issues);
        out.result({ path: r.path, issues: r.issues }, () => `wrote ${r.path}`);
      },
    );
  record
    .command("stop")
    .description("record the products and sign the finished link")
    .requiredOption("-n, --step-name <name>", "the step's name in the layout")
    .requiredOption("-k, --key <file>", "the functionary's private key (the one record start used)")
    .option("-t, --key-type <type>", "accepted for compatibility (read from the key file)")
    .option("-p, --products <paths...>", "files or directories to record")
    .option("--exclude <patterns...>", "fnmatch patterns not to record")
    .option("--base-path <dir>", "record paths relative to this directory")
    .option("-d, --metadata-directory <dir>", "where to write the link (default: here)")
    .option("--use-dsse", "write the link as a DSSE envelope")
    .option("--password <password>", "the key's password")
    .action(
      async (o: {
        stepName: string;
        key: string;
        products?: string[];
        exclude?: string[];
        basePath?: string;
        metadataDirectory?: string;
        useDsse?: boolean;
        password?: string;
      }) => {
        const r = await app().intotoRecordStop({
          name: o.stepName,
          signer: await app().loadInTotoSigner(o.key, o.password),
          ...(o.products ? { products: o.products } : {}),
          ...(o.exclude ? { excludes: o.exclude } : {}),
          ...(o.basePath ? { basePath: o.basePath } : {}),
          ...(o.metadataDirectory ? { metadataDirectory: o.metadataDirectory } : {}),
          ...(o.useDsse ? { useDsse: true } : {}),
          cwd: process.cwd(),
        });
        out.issues(r.issues);
        out.result({ link: r.path, issues: r.issues }, () => `wrote ${r.path}`);
      },
    );
}

function registerInTotoSign(deps: CliDeps, intoto: Command): void {
  const { out } = deps;
  intoto
    .command("sign")
    .description("sign a layout or link, or verify its signatures (in-toto-sign)")
    .requiredOption("-f, --file <file>", "the layout or link")
    .option("-k, --key <files...>", "private keys to sign with (or, with --verify, public keys)")
    .option(
      "-t, --key-type <type>",
      "rsa, ecdsa or ed25519 (read from the key file; accepted for compatibility)",
    )
    .option(
      "-o, --output <file>",
      "where to write (default: a link's NAME.KEYID8.link, a layout in place)",
      outputFile,
    )
    .option("-a, --append", "keep the signatures already there")
    .option("--verify", "check that every key given has signed the file")
    .option("--password <password>", "the keys' password")
    .action(
      async (o: {
        file: string;
        key?: string[];
        output?: string;
        append?: boolean;
        verify?: boolean;
        password?: string;
      }) => {
        if (!o.key?.length) {
          throw new UsageError("CLI_USAGE", "give the keys with -k KEY...");
        }
        const r = o.verify
          ? await app().intotoSign({
              file: o.file,
              verifyKeys: await app().loadInTotoPublicKeys(o.key),
            })
          : await app().intotoSign({
              file: o.file,
              signers: await Promise.all(o.key.map((k) => app().loadInTotoSigner(k, o.password))),
              ...(o.output ? { output: o.output } : {}),
              ...(o.append ? { append: true } : {}),
            });
        out.result(r, () =>
          r.verified ? `${o.file} is signed by ${r.verified.join(", ")}` : `wrote ${r.output}`,
        );
      },
    );
}

function registerInTotoLayout(deps: CliDeps, intoto: Command): void {
  const { out, context } = deps;
  intoto
    .command("layout")
    .description("layouts")
    .command("create")
    .description("make a layout from its YAML description, signed by the owner (docs/intoto.md)")
    .requiredOption("-f, --file <yaml>", "the description")
    .requiredOption("-k, --key <files...>", "the owners' private keys")
    .requiredOption("-o, --output <file>", "the signed layout to write", outputFile)
    .option("--use-dsse", "write it as a DSSE envelope")
    .option("--password <password>", "the keys' password")
    .action(
      async (o: {
        file: string;
        key: string[];
        output: string;
        useDsse?: boolean;
        password?: string;
      }) => {
        const r = await app().createLayoutFile({
          description: o.file,
          signers: await Promise.all(o.key.map((k) => app().loadInTotoSigner(k, o.password))),
          output: o.output,
          ...(o.useDsse ? { useDsse: true } : {}),
        });
        out.result(
          { output: r.output, expires: r.layout.expires, steps: r.layout.steps.map((s) => s.name) },
          () =>
            `wrote ${r.output}: steps ${r.layout.steps.map((s) => s.name).join(", ")}; expires ${r.layout.expires}`,
        );
      },
    );
  intoto
    .command("verify")
    .description("verify a supply chain against its layout (in-toto-verify)")
    .requiredOption("-l, --layout <file>", "the signed layout")
    .requiredOption(
      "-k, --layout-keys <files...>",
      "the layout owners' public keys (every one must have signed it)",
    )
    .option("-d, --link-dir <dir>", "where the links are (default: here)")
    .option(
      "--image <ref>",
      "record the result as a signed verification summary (SLSA VSA) in this image's evidence",
    )
    .action(
      async (
        o: { layout: string; layoutKeys: string[]; linkDir?: string; image?: string },
        cmd: Command,
      ) => {
        const layout = await readInput(o.layout, "the layout");
        const r = app().intotoVerify({
          layout: new Uint8Array(layout),
          layoutName: o.layout,
          layoutKeys: await app().loadInTotoPublicKeys(o.layoutKeys),
          ...(o.linkDir ? { linkDir: o.linkDir } : {}),
          cwd: process.cwd(),
        });
        out.result(r, () =>
          [
            ...r.warnings.map((w) => `warning: ${w}`),
            r.passed
              ? `PASSED: ${r.steps.map((s) => s.name).join(", ")}${r.inspections.length ? `; inspections ${r.inspections.map((i) => i.name).join(", ")}` : ""}${r.finalProducts ? `; final products ${Object.keys(r.finalProducts).join(", ")}` : ""}`
              : `FAILED at ${r.failure?.where}: ${r.failure?.reason}`,
          ].join("\n"),
        );
        if (o.image) {
          const rec = await app().recordInTotoVerification(context(cmd), o.image, {
            result: r,
            layout: new Uint8Array(layout),
            layoutName: o.layout,
            linkDir: resolve(o.linkDir ?? "."),
          });
          out.progress(`recorded the verification summary ${rec.attestation} for ${rec.image}`);
        }
        if (!r.passed) {
          deps.fail();
        }
      },
    );
}
