import { type Command, InvalidArgumentError } from "commander";
import { UsageError } from "../../core/errors.js";
import { app } from "./app.js";
import { numberInRange } from "./common.js";
import type { CliDeps } from "./deps.js";

/** The highest --rate-limit (requests per second per token): far above what one server serves. */
const MAX_RATE_LIMIT = 1_000_000;

/** Registers the serve commands. */
export function registerServe(program: Command, deps: CliDeps): void {
  const { out, context } = deps;
  // --- server and its tokens ----------------------------------------------------------------------
  program
    .command("serve")
    .description(
      "serve the evidence API, the Kubernetes admission webhook and metrics over this store (docs/server.md)",
    )
    .option("--listen <host:port>", "address to listen on", "127.0.0.1:8080")
    .option("--tls-cert <file>", "PEM certificate (with --tls-key: serve HTTPS)")
    .option("--tls-key <file>", "PEM private key")
    .option("--rate-limit <n>", "requests per second per token", "1000")
    .action(
      async (
        o: { listen: string; tlsCert?: string; tlsKey?: string; rateLimit: string },
        cmd: Command,
      ) => {
        if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
          throw new UsageError("CLI_USAGE", "--tls-cert and --tls-key go together");
        }
        const rate = numberInRange(o.rateLimit, "--rate-limit", {
          min: 0,
          exclusiveMin: true,
          max: MAX_RATE_LIMIT,
        });
        const c = context(cmd);
        // the server module (and the application behind it) is loaded only by this command
        const { startServer } = await import("../../server/index.js");
        const srv = await startServer(c, {
          listen: o.listen,
          rateLimit: rate,
          ...(o.tlsCert && o.tlsKey ? { tlsCert: o.tlsCert, tlsKey: o.tlsKey } : {}),
        });
        out.progress(`serving on ${srv.url} (GET ${srv.url}/openapi.json)`);
        process.stdout.write(`${JSON.stringify({ listening: srv.url })}\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            srv.close().then(resolve, resolve);
          };
          process.once("SIGTERM", stop);
          process.once("SIGINT", stop);
        });
      },
    );
  const tokenCmd = program.command("token").description("API tokens of the server");
  tokenCmd
    .command("create")
    .description("make a token; its secret is printed once and stored only as a hash")
    .requiredOption("--role <role>", "reader, writer or admin")
    .option("--name <name>", "what the token is for", "token")
    .option("--expires <date>", "expiry (ISO 8601)")
    .action(async (o: { role: string; name: string; expires?: string }, cmd: Command) => {
      const r = await app().createToken(context(cmd), {
        name: o.name,
        role: o.role,
        ...(o.expires ? { expires: o.expires } : {}),
      });
      out.result(r, () => r.token);
    });
  tokenCmd
    .command("list")
    .description("every token, with its role and state (never a secret)")
    .action(async (_o: unknown, cmd: Command) => {
      const r = await app().listTokens(context(cmd));
      out.result(r, () =>
        r.length === 0
          ? "no tokens"
          : r
              .map(
                (t) =>
                  `${t.id}  ${t.role.padEnd(6)}  ${t.name}  created ${t.created}${t.expires ? `  expires ${t.expires}` : ""}${t.revoked ? `  REVOKED ${t.revoked}` : ""}`,
              )
              .join("\n"),
      );
    });
  tokenCmd
    .command("revoke")
    .description("revoke a token (every server sharing the store refuses it from its next request)")
    .argument("<id>", "the token's id (token list)", (v: string) => {
      if (!/^[0-9a-f]{16}$/.test(v)) {
        throw new InvalidArgumentError(
          `"${v}" is not a token id: give the 16 hex digits token list shows`,
        );
      }
      return v;
    })
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await app().revokeToken(context(cmd), id);
      out.result({ revoked: id }, () => `revoked token ${id}`);
    });
}
