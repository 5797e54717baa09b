import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { AppContext } from "../app/index.js";
import { ToolError } from "../core/errors.js";
import { createServerApp, type ServerOptions } from "./app.js";
import { problem, type Reply, type ServerRequest } from "./http.js";

/** Listening only: the node:http(s) server that hands each request to the server app. */

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, r: Reply): void {
  const isBytes = Buffer.isBuffer(r.body) || typeof r.body === "string";
  const body = isBytes ? (r.body as Buffer | string) : JSON.stringify(r.body);
  res.writeHead(r.status, {
    "content-type": r.contentType ?? "application/json",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...r.headers,
  });
  res.end(body);
}

/** What the app sees of a node:http request. */
export function toServerRequest(req: IncomingMessage): ServerRequest {
  return {
    method: req.method ?? "",
    url: req.url ?? "/",
    headers: req.headers,
    ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
    body: req,
  };
}

/** Starts the server. */
export async function startServer(
  ctx: AppContext,
  opts: ServerOptions = {},
): Promise<RunningServer> {
  const app = await createServerApp({ ctx, options: opts });
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    app.handle(toServerRequest(req)).then(
      (r) => send(res, r),
      (e: unknown) => {
        if (!res.headersSent) {
          send(res, problem(500, "Internal error", (e as Error).message));
        } else {
          res.destroy();
        }
      },
    );
  };
  const server =
    opts.tlsCert && opts.tlsKey
      ? createHttpsServer(
          { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) },
          onRequest,
        )
      : createHttpServer(onRequest);
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 300_000;
  const [host, port] = parseListen(opts.listen ?? "127.0.0.1:8080");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shown = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return {
    url: `${opts.tlsCert ? "https" : "http"}://${shown}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** "HOST:PORT", "[::1]:PORT" or ":PORT" (127.0.0.1). */
export function parseListen(s: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `--listen ${s} is not HOST:PORT`, {
      hint: "e.g. 127.0.0.1:8080, [::1]:8443 or :8080",
    });
  }
  return [m[1] ?? (m[2] || "127.0.0.1"), port];
}
