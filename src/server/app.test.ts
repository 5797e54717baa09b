import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppContext, createAppContext, createToken } from "../app/index.js";
import { createServerApp, type ServerApp } from "./app.js";
import type { ServerRequest } from "./http.js";

/**
 * The server app as a function from request to reply, with no socket: routing, authentication
 * and body limits answer the same as over HTTP (test/e2e/server.test.ts covers the wire).
 */
describe("createServerApp", () => {
  let ctx: AppContext;
  let app: ServerApp;
  let writer = "";
  const home = mkdtempSync(join(tmpdir(), "cleanimg-server-app-"));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  const request = (
    method: string,
    url: string,
    opts: { token?: string; body?: string | Uint8Array[] } = {},
  ): ServerRequest => {
    const chunks =
      typeof opts.body === "string" ? [new TextEncoder().encode(opts.body)] : (opts.body ?? []);
    return {
      method,
      url,
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      remoteAddress: "127.0.0.1",
      body: (async function* () {
        yield* chunks;
      })(),
    };
  };

  beforeAll(async () => {
    ctx = createAppContext({ home: home, env: {} });
    app = await createServerApp({ ctx, options: { maxEvidenceBytes: 1024 } });
    writer = (await createToken(ctx, { name: "writer-test", role: "writer" })).token;
  });

  it("answers health without a token, and names the route table in /openapi.json", async () => {
    const h = await app.handle(request("GET", "/healthz"));
    expect(h.status).toBe(200);
    const doc = await app.handle(request("GET", "/openapi.json"));
    expect(doc.status).toBe(200);
    const paths = Object.keys(JSON.parse(doc.body as string).paths);
    expect(paths).toEqual(expect.arrayContaining(app.routes.map((r) => r.path)));
  });

  it("answers 404 for an unknown path and 405 with allow for a wrong method", async () => {
    const nf = await app.handle(request("GET", "/v1/nothing-here"));
    expect(nf.status).toBe(404);
    expect(nf.contentType).toBe("application/problem+json");
    const na = await app.handle(request("DELETE", "/healthz"));
    expect(na.status).toBe(405);
    expect(na.headers?.["allow"]).toBe("GET");
  });

  it("refuses a protected endpoint without a token (401) and a bad digest (400)", async () => {
    const d = `sha256:${"a".repeat(64)}`;
    const r = await app.handle(request("GET", `/v1/images/${d}/chain`));
    expect(r.status).toBe(401);
    expect(r.headers?.["www-authenticate"]).toMatch(/^Bearer realm="cleanimg"/);
    const bad = await app.handle(request("GET", "/v1/images/sha256:zz/chain", { token: writer }));
    expect(bad.status).toBe(400);
  });

  it("stops reading a body over the route's limit: 413, and the connection closes", async () => {
    const d = `sha256:${"b".repeat(64)}`;
    let read = 0;
    const big: Uint8Array[] = [];
    for (let i = 0; i < 64; i++) {
      big.push(new Uint8Array(256).fill(0x20));
    }
    const req = request("POST", `/v1/images/${d}/evidence`, { token: writer });
    const counted: ServerRequest = {
      ...req,
      body: (async function* () {
        for (const c of big) {
          read += c.length;
          yield c;
        }
      })(),
    };
    const r = await app.handle(counted);
    expect(r.status).toBe(413);
    expect(r.headers?.["connection"]).toBe("close");
    expect(read).toBeLessThan(64 * 256);
  });

  it("answers 400 on a body that is not JSON or nests too deep, never 500", async () => {
    const d = `sha256:${"c".repeat(64)}`;
    const notJson = await app.handle(
      request("POST", `/v1/images/${d}/evidence`, { token: writer, body: "{nope" }),
    );
    expect(notJson.status).toBe(400);
    const deep = await app.handle(
      request("POST", `/v1/images/${d}/evidence`, {
        token: writer,
        body: `${"[".repeat(500)}${"]".repeat(500)}`,
      }),
    );
    expect(deep.status).toBe(400);
    expect((deep.body as { title: string }).title).toBe("Too deep");
  });

  it("reads a target starting with // as a path, not a host (negative: //x/v1/tokens was /v1/tokens)", async () => {
    const r = await app.handle(request("GET", "//x/v1/tokens", { token: writer }));
    expect(r.status).toBe(404);
    const h = await app.handle(request("GET", "//healthz"));
    expect(h.status).toBe(404);
  });

  it("answers a body that fails with any thrown value (even null) with one reply, never a rejection", async () => {
    const d = `sha256:${"d".repeat(64)}`;
    const req = request("POST", `/v1/images/${d}/evidence`, { token: writer });
    const r = await app.handle({
      ...req,
      body: (async function* () {
        yield new Uint8Array(1);
        throw null;
      })(),
    });
    expect(r.status).toBe(500);
  });
});
