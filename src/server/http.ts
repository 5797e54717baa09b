import type { Role, StoreHealth, TokenRecord } from "../app/index.js";
import type { Digest } from "../core/digest.js";
import type { Schema } from "./validate.js";

/** What the routes are made of: the request a handler sees and the reply it gives. */

export type Access = "public" | Role;

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a handler needs of an HTTP request, whatever carries it (node:http, a test). */
export interface ServerRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly remoteAddress?: string;
  readonly body: AsyncIterable<Uint8Array>;
}

export interface Call {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly token?: TokenRecord;
  /** The audit-trail actor of this call. */
  readonly actor: string;
}

export interface Route {
  readonly method: "GET" | "POST" | "DELETE";
  /** With `{param}` segments, as in OpenAPI. */
  readonly path: string;
  readonly access: Access;
  readonly summary: string;
  readonly body?: Schema;
  /** Largest body in bytes (default 1 MiB). */
  readonly maxBody?: number;
  readonly query?: readonly { name: string; description: string }[];
  handle(c: Call): Promise<Reply>;
  /**
   * The answer while the store does not answer (the request's body read, when the route has
   * one; `undefined` when it does not parse or validate); default: 503 naming the failing part.
   */
  onStoreUnavailable?(body: unknown, health: StoreHealth): Reply;
}

export const DIGEST_PARAM = "^sha256:[a-f0-9]{64}$";

export const json = (status: number, body: unknown): Reply => ({ status, body });

export const problem = (status: number, title: string, detail: string): Reply => ({
  status,
  body: { type: "about:blank", title, status, detail },
  contentType: "application/problem+json",
});

export function digestParam(c: Call): Digest {
  return c.params["digest"] as Digest;
}
