import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMISSION_AUDIT_IMAGES, MAX_ADMISSION_CONTAINERS } from "../../src/app/admission.js";
import { type AppContext, createAppContext, createToken } from "../../src/app/index.js";
import { sha256 } from "../../src/core/digest.js";
import { type RunningServer, startServer } from "../../src/server/index.js";
import { AUTH_FAILURE_LIMIT, FailureLimiter } from "../../src/server/rate-limit.js";
import { admissionReview } from "../support/admission.js";
import { httpCall } from "../support/served.js";
import { tempDir } from "../support/tmp.js";

/**
 * Limits a hostile client meets: guessing tokens from one address is throttled (429 with
 * Retry-After for every request from that address until the window passes); an AdmissionReview
 * with more containers than the webhook checks is denied as a bad request; and what one review
 * writes to the audit trail is a bounded summary, however many containers it names.
 */

const badToken = () =>
  `cit_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`;

describe("server limits", { timeout: 300_000 }, () => {
  let ctx: AppContext;
  let srv: RunningServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    ctx = createAppContext({ home: tempDir("cleanimg-limits-"), env: { CLEANIMG_AUTHOR: "t" } });
    for (const role of ["reader", "writer"]) {
      tokens[role] = (await createToken(ctx, { name: `${role}-t`, role })).token;
    }
    srv = await startServer(ctx, { listen: "127.0.0.1:0" });
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  it("throttles failed authentications per client address, correct tokens included", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await httpCall(srv.url, "GET", "/v1/images", { token: badToken() });
      statuses.push(r.status);
      if (r.status === 429) {
        expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
        expect(r.body.detail).toMatch(/failed authentications/);
      }
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 401)).toHaveLength(AUTH_FAILURE_LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50 - AUTH_FAILURE_LIMIT);
    // from that address, a correct token waits too (its answer would tell a guess from a hit)
    const right = await httpCall(srv.url, "GET", "/v1/images", {
      token: tokens["reader"] as string,
    });
    expect(right.status).toBe(429);
    // public endpoints still answer; another address is not throttled
    expect((await httpCall(srv.url, "GET", "/healthz")).status).toBe(200);
    const other = await httpCall(srv.url, "GET", "/v1/images", {
      token: tokens["reader"] as string,
      from: "127.0.0.2",
    });
    expect(other.status).toBe(200);
  });

  it("lets an address try again when its window has passed", () => {
    let t = 0;
    const l = new FailureLimiter(3, 60_000, () => t);
    for (let i = 0; i < 3; i++) {
      expect(l.blocked("a")).toBe(0);
      l.fail("a");
    }
    expect(l.blocked("a")).toBe(60);
    expect(l.blocked("b")).toBe(0);
    t = 59_500;
    expect(l.blocked("a")).toBe(1);
    t = 60_000;
    expect(l.blocked("a")).toBe(0);
    l.fail("a");
    expect(l.blocked("a")).toBe(0);
  });

  const auditEntriesOf = async (f: () => Promise<void>): Promise<Uint8Array[]> => {
    const store = ctx.evidence();
    const before = await store.size("audit");
    await f();
    return store.entries("audit", before);
  };

  it("denies a review naming more containers than it checks as a bad request, writing a bounded event", async () => {
    const body = admissionReview("Pod", { containers: [] });
    const spec = (body.request["object"] as { spec: Record<string, unknown> }).spec;
    const n = 20_000;
    spec["containers"] = Array.from({ length: n }, (_, i) => ({
      name: `c${i}`,
      image: `registry.example/team/some-application-image-${i}:1.0.${i}`,
    }));
    spec["initContainers"] = [{ name: "init", image: "registry.example/init:1" }];
    const raw = JSON.stringify(body);
    expect(raw.length).toBeGreaterThan(1_500_000);
    let r: Awaited<ReturnType<typeof httpCall>> | undefined;
    const written = await auditEntriesOf(async () => {
      r = await httpCall(srv.url, "POST", "/admission", {
        token: tokens["writer"] as string,
        raw,
        from: "127.0.0.3",
      });
    });
    expect(r?.status).toBe(200);
    expect(r?.body.response.allowed).toBe(false);
    expect(r?.body.response.status.code).toBe(400);
    expect(r?.body.response.status.message).toContain(`${n + 1} containers`);
    expect(r?.body.response.status.message).toContain(String(MAX_ADMISSION_CONTAINERS));
    const bytes = written.reduce((s, e) => s + e.byteLength, 0);
    expect(bytes).toBeLessThan(16 * 1024);
  });

  it("records a review at the cap as a summary: counts, the first images, a digest of all", async () => {
    const images = Array.from({ length: 1000 }, (_, i) => `registry.example/team/app-${i}:v${i}`);
    const body = admissionReview("Deployment", { containers: images });
    let r: Awaited<ReturnType<typeof httpCall>> | undefined;
    const written = await auditEntriesOf(async () => {
      r = await httpCall(srv.url, "POST", "/admission", {
        token: tokens["writer"] as string,
        body,
        from: "127.0.0.3",
      });
    });
    expect(r?.status, JSON.stringify(r?.body).slice(0, 500)).toBe(200);
    expect(r?.body.response.allowed).toBe(false);
    expect(r?.body.response.status.code).toBe(403);
    expect(r?.body.response.status.message).toMatch(/app-0:v0 is not pinned by digest/);
    expect(r?.body.response.status.message.length).toBeLessThan(16 * 1024);
    expect(written).toHaveLength(1);
    expect((written[0] as Uint8Array).byteLength).toBeLessThan(16 * 1024);
    const ev = JSON.parse(new TextDecoder().decode(written[0])).event;
    expect(ev.action).toBe("admission");
    expect(ev.details.containers).toBe(String(images.length));
    expect(ev.details.deniedCount).toBe(String(images.length));
    const listed = (ev.details.images as string).split("\n");
    expect(listed).toHaveLength(ADMISSION_AUDIT_IMAGES);
    expect(listed[0]).toBe(`containers/app-0 ${images[0]}`);
    const all = images.map((image, i) => ({ container: `containers/app-${i}`, image }));
    expect(ev.details.imagesDigest).toBe(sha256(JSON.stringify(all)));
    // at the cap, not over it: every image was looked at
    expect(images.length).toBeLessThanOrEqual(MAX_ADMISSION_CONTAINERS);
  });
});
