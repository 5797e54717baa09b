import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  auditEvents,
  buildImage,
  createAppContext,
  createToken,
  evaluateImagePolicy,
  exportEvidence,
  generateSbom,
  importVulnData,
  inspectImage,
  revokeToken,
  scan,
  verifyAuditTrail,
  verifyChain,
} from "../../src/app/index.js";
import { type Digest, digestHex, sha256 } from "../../src/core/digest.js";
import {
  Metrics,
  openapi,
  type RunningServer,
  routes,
  startServer,
} from "../../src/server/index.js";
import { admissionReview, WORKLOAD_KINDS } from "../support/admission.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");

/**
 * The server over a store holding real evidence: images built from a spec and from Debian
 * packages, scanned against real vulnerability data. Covers every endpoint's authorization, the
 * admission webhook on every workload kind, ingest, and the verdict cache.
 */
describe("cleanimg server", () => {
  let home: string;
  let ctx: AppContext;
  let srv: RunningServer;
  const tokens: Record<string, string> = {};
  let revoked = "";
  const digests: Record<string, Digest> = {};

  const spec = (name: string, body: string): string => {
    const dir = tempDir("cleanimg-server-ctx-");
    mkdirSync(join(dir, "app"));
    writeFileSync(join(dir, "app", "config.txt"), `content of ${name}\n`);
    writeFileSync(join(dir, "cleanimg.yaml"), `image: ${name}\n${body}`);
    return join(dir, "cleanimg.yaml");
  };

  const call = async (
    method: string,
    path: string,
    opts: { token?: string | undefined; body?: unknown; raw?: string } = {},
    // biome-ignore lint/suspicious/noExplicitAny: response JSON, checked field by field
  ): Promise<{ status: number; body: any; headers: Headers }> => {
    const r = await fetch(`${srv.url}${path}`, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined || opts.raw !== undefined
          ? { "content-type": "application/json" }
          : {}),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.raw !== undefined ? { body: opts.raw } : {}),
    });
    const text = await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // text (metrics)
    }
    return { status: r.status, body, headers: r.headers };
  };

  beforeAll(async () => {
    home = tempDir("cleanimg-server-");
    ctx = createAppContext({
      home,
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000", CLEANIMG_AUTHOR: "test" },
    });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    // complete evidence, satisfying the default policy
    for (const name of ["static", "broken"]) {
      await buildImage(ctx, {
        spec: spec(`${name}:1.0.0`, "files:\n  - src: app/\n    dst: /app/\n"),
      });
      await scan(ctx, `${name}:1.0.0`);
    }
    // Debian packages the database cannot assess: the policy denies it
    await buildImage(ctx, {
      spec: spec("hello:1.0.0", "packages: [hello]\nentrypoint: [/usr/bin/hello]\n"),
    });
    await scan(ctx, "hello:1.0.0");
    // a Python package with known vulnerabilities: findings for the dashboard
    const py = tempDir("cleanimg-server-py-");
    const info = join(py, "site", "requests-2.28.1.dist-info");
    mkdirSync(info, { recursive: true });
    writeFileSync(
      join(info, "METADATA"),
      "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n",
    );
    writeFileSync(
      join(py, "cleanimg.yaml"),
      "image: payments/api:1.4.2\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
    );
    await buildImage(ctx, { spec: join(py, "cleanimg.yaml") });
    await scan(ctx, "payments/api:1.4.2");
    for (const n of ["static", "broken", "hello"]) {
      digests[n] = (await inspectImage(ctx, `${n}:1.0.0`, { record: false })).manifest.digest;
    }
    digests["payments"] = (
      await inspectImage(ctx, "payments/api:1.4.2", { record: false })
    ).manifest.digest;
    // break one chain: alter the bytes of its SBOM document
    const sbomLink = (await verifyChain(ctx, digests["broken"] as Digest)).links.find(
      (l) => l.stage === "sbom",
    );
    const p = join(home, "evidence", "blobs", "sha256", digestHex(sbomLink?.evidence as Digest));
    const b = readFileSync(p);
    b[5] = (b[5] ?? 0) ^ 1;
    writeFileSync(p, b);
    for (const role of ["reader", "writer", "admin"]) {
      tokens[role] = (await createToken(ctx, { name: `${role}-test`, role })).token;
    }
    const r = await createToken(ctx, { name: "revoked", role: "admin" });
    await revokeToken(ctx, r.record.id);
    revoked = r.token;
    // the authorization matrix sends bad tokens by the dozen from one address: let them all be
    // answered 401 (test/hostile/server-limits.test.ts covers the throttle on failures)
    srv = await startServer(ctx, { listen: "127.0.0.1:0", authFailureLimit: 10_000 });
  }, 400_000);
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  describe("authorization", () => {
    const ROLE_ORDER = ["reader", "writer", "admin"];
    const sample = (path: string, digest: Digest, tokenId: string): string =>
      path
        .replace("{digest}", digest)
        .replace("{framework}", "fedramp-high")
        .replace("{id}", tokenId);

    it("lets no call without a valid token, or with too low a role, read or write anything", async () => {
      const table = routes(ctx, undefined as never, new Metrics(), {});
      expect(table.length).toBeGreaterThanOrEqual(17);
      const auditBefore = await ctx.evidence().size("audit");
      const linksBefore = (await ctx.evidence().find({})).length;
      const wrong = `cit_${"0".repeat(16)}_${"A".repeat(43)}`;
      const throwaway = await createToken(ctx, { name: "throwaway", role: "reader" });
      const bodies: Record<string, unknown> = {
        "/v1/images/{digest}/evidence": { items: [{ bundle: { mediaType: "x" } }] },
        "/v1/images/{digest}/documents": { document: { spdxVersion: "SPDX-2.3" } },
        "/v1/tokens": { name: "matrix", role: "reader" },
        "/admission": admissionReview("Pod", { containers: ["static:1.0.0"] }, { dryRun: true }),
      };
      const seen: string[] = [];
      for (const r of table) {
        const path = sample(r.path, digests["static"] as Digest, throwaway.record.id);
        const body = r.method === "POST" ? (bodies[r.path] ?? {}) : undefined;
        const attempt = (token?: string) =>
          call(r.method, path, {
            ...(token ? { token } : {}),
            ...(body !== undefined ? { body } : {}),
          });
        if (r.access === "public") {
          expect((await attempt()).status, `${r.method} ${r.path}`).toBe(200);
          continue;
        }
        // no token, an unknown one, a malformed one, a revoked admin token: 401 every time
        for (const t of [undefined, wrong, "not-a-token", revoked]) {
          const res = await attempt(t);
          expect(res.status, `${r.method} ${r.path} with ${t ?? "no token"}`).toBe(401);
          expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
        }
        for (const role of ROLE_ORDER) {
          if (r.method === "DELETE" && role === "admin") {
            continue; // below, once
          }
          const res = await attempt(tokens[role]);
          const allowed = ROLE_ORDER.indexOf(role) >= ROLE_ORDER.indexOf(r.access);
          if (allowed) {
            expect(
              [401, 403],
              `${r.method} ${r.path} as ${role}: ${JSON.stringify(res.body)}`,
            ).not.toContain(res.status);
          } else {
            expect(res.status, `${r.method} ${r.path} as ${role}`).toBe(403);
            expect(res.body.detail).toContain(`needs the ${r.access} role`);
          }
        }
        seen.push(`${r.method} ${r.path}`);
      }
      // the refused calls wrote nothing; the allowed writes did (the token made, the document)
      const refusedOnly = await ctx.evidence().size("audit");
      expect(refusedOnly).toBeGreaterThan(auditBefore);
      const writes = (await auditEvents(ctx)).slice(auditBefore + 1); // after the throwaway token
      for (const e of writes) {
        expect(e.actor, JSON.stringify(e)).toMatch(/^token:(writer|admin)-test\//);
      }
      expect((await ctx.evidence().find({})).length).toBeGreaterThan(linksBefore);
      // DELETE as admin revokes; the revoked token is refused from the next request on
      const del = await call("DELETE", `/v1/tokens/${throwaway.record.id}`, {
        token: tokens["admin"],
      });
      expect(del.status).toBe(200);
      const after = await call("GET", "/v1/images", { token: throwaway.token });
      expect(after.status).toBe(401);
      expect(after.body.detail).toMatch(/revoked/);
      expect(seen).toContain("POST /admission");
    });

    it("publishes every route in /openapi.json with its role", async () => {
      const doc = (await call("GET", "/openapi.json")).body;
      expect(doc.openapi).toBe("3.1.0");
      const table = routes(ctx, undefined as never, new Metrics(), {});
      expect(doc).toEqual(JSON.parse(JSON.stringify(openapi(table))));
      for (const r of table) {
        const op = doc.paths[r.path][r.method.toLowerCase()];
        expect(op, `${r.method} ${r.path}`).toBeDefined();
        if (r.access === "public") {
          expect(op.security).toEqual([]);
        } else {
          expect(op["x-cleanimg-role"]).toBe(r.access);
        }
      }
    });
  });

  describe("requests", () => {
    it("rejects bad bodies with the place of the problem, and bodies over the limit", async () => {
      const t = tokens["writer"] as string;
      const d = digests["static"] as Digest;
      let r = await call("POST", `/v1/images/${d}/evidence`, { token: t, raw: "{not json" });
      expect(r.status).toBe(400);
      expect(r.body.detail).toMatch(/not JSON/);
      r = await call("POST", `/v1/images/${d}/evidence`, {
        token: t,
        body: { items: [{ bundle: 3 }] },
      });
      expect(r.status).toBe(400);
      expect(r.body.detail).toBe("$.items[0].bundle: must be an object, not number");
      r = await call("POST", `/v1/images/${d}/evidence`, {
        token: t,
        body: { items: [], extra: 1 },
      });
      expect(r.status).toBe(400);
      r = await call("POST", "/v1/images/sha256:nothex/evidence", {
        token: t,
        body: { items: [] },
      });
      expect(r.status).toBe(400);
      expect(r.body.detail).toMatch(/not a sha256/);
      r = await call("POST", "/admission", {
        token: t,
        raw: JSON.stringify({ pad: "x".repeat(4 * 1024 * 1024) }),
      });
      expect(r.status).toBe(413);
      r = await call("DELETE", "/v1/tokens/%E0%A4%A", { token: tokens["admin"] });
      expect(r.status).toBe(400);
      expect(r.body.detail).toMatch(/not valid percent-encoding/);
      r = await call("GET", "/v1/nothing", { token: t });
      expect(r.status).toBe(404);
      r = await call("PUT", "/v1/images", { token: t });
      expect(r.status).toBe(405);
    });

    it("rate-limits per token", async () => {
      const small = await startServer(ctx, { listen: "127.0.0.1:0", rateLimit: 5 });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) {
          const r = await fetch(`${small.url}/v1/images`, {
            headers: { authorization: `Bearer ${tokens["reader"]}` },
          });
          await r.text();
          statuses.push(r.status);
          if (r.status === 429) {
            expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
          }
        }
        // a burst of twice the rate, then refused
        expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
        expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
        // another token has its own bucket
        const other = await fetch(`${small.url}/v1/images`, {
          headers: { authorization: `Bearer ${tokens["writer"]}` },
        });
        expect(other.status).toBe(200);
      } finally {
        await small.close();
      }
    });

    it("answers per image, fleet-wide, in reports and the audit trail", async () => {
      const t = tokens["reader"] as string;
      const d = digests["static"] as Digest;
      const st = await call("GET", `/v1/images/${d}`, { token: t });
      expect(st.status).toBe(200);
      expect(st.body.image.digest).toBe(d);
      expect(st.body.checks.find((c: { id: string }) => c.id === "sbom").result).toBe("PASS");
      const chain = await call("GET", `/v1/images/${d}/chain`, { token: t });
      expect(chain.body.intact).toBe(true);
      const broken = await call("GET", `/v1/images/${digests["broken"]}/chain`, { token: t });
      expect(broken.body.firstBroken).toBe("sbom");
      const fleet = await call("GET", "/v1/images", { token: t });
      expect(fleet.body.images.map((r: { digest: string }) => r.digest)).toEqual(
        expect.arrayContaining(Object.values(digests)),
      );
      const rep = await call("GET", `/v1/images/${d}/reports/fedramp-high`, { token: t });
      expect(rep.status).toBe(200);
      expect(rep.body.framework.controls).toBe(410);
      expect(rep.body.controls).toHaveLength(410);
      expect(rep.body.image.digest).toBe(d);
      const blob = await fetch(`${srv.url}/v1/blobs/${chain.body.links[0].attestation}`, {
        headers: { authorization: `Bearer ${t}` },
      });
      expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(
        chain.body.links[0].attestation,
      );
      const audit = await call("GET", "/v1/audit?from=2000-01-01&to=2100-01-01", { token: t });
      expect(audit.body.events.length).toBeGreaterThan(10);
      expect((await call("GET", "/v1/audit?from=yesterday", { token: t })).status).toBe(400);
      expect((await call("GET", "/v1/audit/verify", { token: t })).body.intact).toBe(true);
    });

    it("ingests an exported chain into another store, verified, attributed to the token", async () => {
      // a second store that trusts this one's keys, behind its own server
      const home2 = tempDir("cleanimg-server-b-");
      mkdirSync(join(home2, "keys", "trusted"), { recursive: true });
      mkdirSync(join(home2, "keys", "trusted-logs"), { recursive: true });
      writeFileSync(
        join(home2, "keys", "trusted", "a.pub"),
        readFileSync(join(home, "keys", "signing.pub")),
      );
      writeFileSync(
        join(home2, "keys", "trusted-logs", "a.pub"),
        readFileSync(join(home, "keys", "log.pub")),
      );
      const ctx2 = createAppContext({ home: home2, env: {} });
      const w = (await createToken(ctx2, { name: "ci", role: "writer" })).token;
      const s2 = await startServer(ctx2, { listen: "127.0.0.1:0" });
      try {
        const d = digests["static"] as Digest;
        const e = await exportEvidence(ctx, { name: "static:1.0.0", digest: d });
        const post = (body: unknown) =>
          fetch(`${s2.url}/v1/images/${d}/evidence`, {
            method: "POST",
            headers: { authorization: `Bearer ${w}`, "content-type": "application/json" },
            body: JSON.stringify(body),
            // biome-ignore lint/suspicious/noExplicitAny: response JSON, checked field by field
          }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
        // a bundle altered in transit is refused, the rest kept
        const tampered = JSON.parse(JSON.stringify(e));
        tampered.items[0].bundle.dsseEnvelope.payload = Buffer.from('{"x":1}').toString("base64");
        const r1 = await post(tampered);
        expect(r1.status).toBe(200);
        expect(r1.body.rejected).toHaveLength(1);
        const r2 = await post(e);
        expect(r2.status).toBe(200);
        expect(r2.body.rejected).toEqual([]);
        // again: nothing new
        expect((await post(e)).body.imported).toBe(0);
        const chain = await verifyChain(ctx2, d);
        expect(chain.intact).toBe(true);
        expect(chain.links.filter((l) => l.state === "valid").map((l) => l.stage)).toEqual(
          (await verifyChain(ctx, d)).links.filter((l) => l.state === "valid").map((l) => l.stage),
        );
        const imports = (await auditEvents(ctx2)).filter((x) => x.action === "evidence-import");
        expect(imports.length).toBeGreaterThan(0);
        expect(imports.every((x) => /^token:ci\//.test(x.actor))).toBe(true);
        expect((await verifyAuditTrail(ctx2)).intact).toBe(true);
        // about another image: refused
        const other = await post({ ...e, image: { ...e.image, digest: digests["hello"] } });
        expect(other.status).toBe(400);
      } finally {
        await s2.close();
        await ctx2.close();
      }
    });
  });

  describe("dashboard", () => {
    it("shows the fleet, an image's chain and findings, posture and the audit trail in headless Chromium", async () => {
      // policy decisions today, for the posture chart
      await evaluateImagePolicy(ctx, "static:1.0.0");
      await evaluateImagePolicy(ctx, "payments/api:1.4.2");
      await evaluateImagePolicy(ctx, "hello:1.0.0");
      const browser = await chromium.launch({
        executablePath: "/usr/bin/chromium",
        args: ["--no-sandbox"],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error") {
            problems.push(m.text());
          }
        });
        page.on("pageerror", (e) => problems.push(e.message));
        const res = await page.goto(srv.url);
        expect(res?.headers()["content-security-policy"]).toMatch(/script-src 'sha256-/);
        // nothing is shown before a token is given
        expect(await page.locator("#fleet tbody tr").count()).toBe(0);
        await page.fill("#token", tokens["reader"] as string);
        await page.click("#login button");
        await page.waitForSelector("body.ready");
        const rows = await page
          .locator("#fleet tbody tr")
          .evaluateAll((trs) =>
            trs.map((tr) => [...tr.children].map((td) => td.textContent ?? "")),
          );
        const row = (name: string) => rows.find((r) => r[0] === name) ?? [];
        expect(row("docker.io/library/static")).toEqual([
          "docker.io/library/static",
          "1.0.0",
          "L1",
          "✓ signed",
          "✓ complete",
          "✓ signed",
          "intact",
          "READY",
        ]);
        // the index alone would call it ready: the verified chain says otherwise
        expect(row("docker.io/library/broken").slice(6)).toEqual(["broken at sbom", "NOT READY"]);
        expect(row("docker.io/payments/api")[0]).toBe("docker.io/payments/api");
        // the broken image's chain names its broken link
        await page.click(`#fleet tbody tr[data-digest="${digests["broken"]}"]`);
        await page.waitForSelector('#chain li[data-stage="sbom"].broken');
        expect(await page.textContent("#chain-verdict")).toBe("chain broken at sbom");
        expect(await page.textContent('#chain li[data-stage="sbom"] .reason')).toMatch(
          /was altered/,
        );
        // an image with findings: each with its VEX status
        await page.click(`#fleet tbody tr[data-digest="${digests["payments"]}"]`);
        await page.waitForSelector('#chain li[data-stage="scan"].valid');
        await page.waitForSelector("#findings tbody tr");
        const findings = await page.locator("#findings tbody tr").allInnerTexts();
        expect(findings.length).toBeGreaterThan(0);
        expect(findings.every((f) => /requests 2\.28\.1/.test(f))).toBe(true);
        expect(
          findings.every((f) =>
            /\t(affected|not_affected|fixed|under_investigation|unassessed)\t/.test(f),
          ),
        ).toBe(true);
        expect(await page.textContent("#findings-evidence")).toMatch(/scan sha256:.*VEX sha256:/);
        // posture: today's bars; audit search narrows by text
        const bars = await page
          .locator("#posture rect")
          .evaluateAll((rs) => rs.map((r) => [r.getAttribute("class"), r.getAttribute("height")]));
        expect(bars.filter(([c, h]) => c === "allow" && Number(h) > 0)).toHaveLength(1);
        expect(bars.filter(([c, h]) => c === "deny" && Number(h) > 0)).toHaveLength(1);
        await page.fill("#q", "token-create");
        await page.click("#search button");
        await expect
          .poll(async () => {
            const t = await page.locator("#audit tbody tr").allInnerTexts();
            return t.length > 0 && t.every((x) => x.includes("token-create"));
          })
          .toBe(true);
        expect(await page.locator("#audit tbody tr").count()).toBeGreaterThanOrEqual(4);
        await page.fill("#q", "");
        await page.click("#search button");
        await expect.poll(() => page.locator("#audit tbody tr").count()).toBeGreaterThan(4);
        await page.click(`#fleet tbody tr[data-digest="${digests["payments"]}"]`);
        await page.waitForSelector("#findings tbody tr");
        if (process.env["CLEANIMG_UPDATE_SCREENSHOTS"]) {
          await page.screenshot({
            path: resolve(import.meta.dirname, "../../docs/dashboard.png"),
            fullPage: true,
          });
        }
        expect(problems).toEqual([]);
        // a wrong token: the page says so and shows nothing
        const p2 = await browser.newPage();
        await p2.goto(srv.url);
        await p2.fill("#token", `cit_${"1".repeat(16)}_${"B".repeat(43)}`);
        await p2.click("#login button");
        await p2.waitForSelector("#status.bad");
        expect(await p2.textContent("#status")).toBe("unknown token");
        expect(await p2.locator("#fleet tbody tr").count()).toBe(0);
      } finally {
        await browser.close();
      }
    });
  });

  describe("admission webhook", () => {
    const review = async (body: unknown) => {
      const r = await call("POST", "/admission", { token: tokens["writer"], body });
      expect(r.status).toBe(200);
      expect(r.body.apiVersion).toBe("admission.k8s.io/v1");
      expect(r.body.kind).toBe("AdmissionReview");
      expect(r.body.response.uid).toBe((body as { request: { uid: string } }).request.uid);
      return r.body.response as { allowed: boolean; status?: { code: number; message: string } };
    };
    const pinned = (n: string) => `${n}:1.0.0@${digests[n]}`;

    for (const kind of WORKLOAD_KINDS) {
      it(`allows a ${kind} whose images' chains verify and satisfy the policy, and denies one whose don't`, async () => {
        const ok = await review(
          admissionReview(kind, {
            containers: [pinned("static")],
            initContainers: [pinned("static")],
          }),
        );
        expect(ok.allowed, ok.status?.message).toBe(true);
        const no = await review(
          admissionReview(kind, {
            containers: [pinned("static")],
            initContainers: [pinned("hello")],
          }),
        );
        expect(no.allowed).toBe(false);
        expect(no.status?.code).toBe(403);
        expect(no.status?.message).toMatch(
          /initContainers\/init-0 \(hello:1\.0\.0@sha256:[0-9a-f]{64}\): policy cleanimg-default denies it: require_vulnerability_assessment/,
        );
      });
    }

    it("denies an image with no evidence, a broken chain and a tag-only reference, saying why and how to fix it", async () => {
      const none = await review(
        admissionReview("Deployment", { containers: [`ghost:1.0@${sha256("no such image")}`] }),
      );
      expect(none.allowed).toBe(false);
      expect(none.status?.message).toMatch(/no evidence is recorded for sha256:.*evidence pull/);
      const broken = await review(
        admissionReview("Deployment", { containers: [pinned("broken")] }),
      );
      expect(broken.allowed).toBe(false);
      expect(broken.status?.message).toMatch(
        /broken at sbom: its evidence document .* was altered; re-run that stage/,
      );
      const tag = await review(admissionReview("Pod", { containers: ["static:1.0.0"] }));
      expect(tag.allowed).toBe(false);
      expect(tag.status?.message).toMatch(
        /static:1\.0\.0 is not pinned by digest.*use static:1\.0\.0@sha256:<digest>/,
      );
      const junk = await review({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: { uid: "u1", kind: { kind: "ConfigMap" }, object: {} },
      });
      expect(junk.allowed).toBe(false);
      expect(junk.status?.message).toMatch(/ConfigMap is not a workload kind/);
    });

    it("records each allowed image as its chain's deployment link, tied to the admission request", async () => {
      const body = admissionReview(
        "Deployment",
        { containers: [pinned("static")] },
        { namespace: "payments" },
      );
      expect((await review(body)).allowed).toBe(true);
      const chain = await verifyChain(ctx, digests["static"] as Digest);
      expect(chain.intact).toBe(true);
      const dep = chain.links.find((l) => l.stage === "deployment");
      expect(dep?.state).toBe("valid");
      expect(dep?.predicate?.inputs["environment"]).toBe("kubernetes/payments");
      const doc = JSON.parse(
        Buffer.from((await ctx.evidence().getBlob(dep?.evidence as Digest)).bytes).toString(),
      );
      expect(doc.admission).toMatchObject({
        uid: body.request["uid"],
        kind: "Deployment",
        namespace: "payments",
        user: "system:serviceaccount:ci:deployer",
      });
      // the policy decision it names is the chain's current one
      const pol = chain.links.find((l) => l.stage === "policy");
      expect(doc.decision).toBe(pol?.envelope);
      expect(dep?.predicate?.previous).toEqual([{ stage: "policy", envelope: pol?.envelope }]);
      // a dry run is answered and not recorded
      const before = await ctx.evidence().size("audit");
      await review(
        admissionReview(
          "Pod",
          { containers: [pinned("static")] },
          { namespace: "dry", dryRun: true },
        ),
      );
      expect(await ctx.evidence().size("audit")).toBe(before);
      // denials are in the audit trail
      const denials = (await auditEvents(ctx)).filter((e) => e.action === "admission");
      expect(denials.length).toBeGreaterThan(0);
      expect(denials[0]?.details["allowed"]).toBe("false");
      expect((await verifyAuditTrail(ctx)).intact).toBe(true);
    });

    it("answers from the cache until the image's evidence changes", async () => {
      const metric = async (name: string): Promise<number> => {
        const m = (await call("GET", "/metrics", { token: tokens["reader"] })).body as string;
        return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(m)?.[1]);
      };
      const body = () =>
        admissionReview("Pod", { containers: [pinned("static")] }, { namespace: "payments" });
      expect((await review(body())).allowed).toBe(true);
      const hits = await metric("cleanimg_admission_cache_hits_total");
      const misses = await metric("cleanimg_admission_cache_misses_total");
      expect((await review(body())).allowed).toBe(true);
      expect(await metric("cleanimg_admission_cache_hits_total")).toBe(hits + 1);
      expect(await metric("cleanimg_admission_cache_misses_total")).toBe(misses);
      // a new SBOM: the scan and VEX made from the old one are stale now, and the verdict follows
      await generateSbom(ctx, "static:1.0.0");
      const stale = await review(body());
      expect(stale.allowed).toBe(false);
      // stale evidence is "not ready", with what to re-run, never "broken"
      expect(stale.status?.message).toMatch(/not ready \(stale, not tampered with\)/);
      expect(stale.status?.message).not.toMatch(/broken/);
      expect(await metric("cleanimg_admission_cache_invalidations_total")).toBeGreaterThan(0);
      // scanned again: allowed again
      await scan(ctx, "static:1.0.0");
      expect((await review(body())).allowed).toBe(true);
      expect((await verifyChain(ctx, digests["static"] as Digest)).intact).toBe(true);
      // a policy decision recorded elsewhere replaces the one the verdict rests on: the verdict
      // is made again, and the next deployment link names the current decision
      const inv = await metric("cleanimg_admission_cache_invalidations_total");
      await evaluateImagePolicy(ctx, "static:1.0.0");
      const billing = admissionReview(
        "Pod",
        { containers: [pinned("static")] },
        { namespace: "billing" },
      );
      expect((await review(billing)).allowed).toBe(true);
      expect(await metric("cleanimg_admission_cache_invalidations_total")).toBe(inv + 1);
      const chain = await verifyChain(ctx, digests["static"] as Digest);
      expect(chain.intact, JSON.stringify(chain.links)).toBe(true);
      expect(
        chain.links.find((l) => l.stage === "deployment")?.predicate?.inputs["environment"],
      ).toBe("kubernetes/billing");
    });

    it("allows exempt namespaces without checks, with a warning", async () => {
      writeFileSync(
        join(home, "config.json"),
        JSON.stringify({ admission: { exemptNamespaces: ["kube-system"] } }),
      );
      const s = await startServer(ctx, { listen: "127.0.0.1:0" });
      const proxyIn = (namespace: string) =>
        fetch(`${s.url}/admission`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${tokens["writer"]}`,
            "content-type": "application/json",
          },
          body: JSON.stringify(
            admissionReview("DaemonSet", { containers: ["kube-proxy:v1.30"] }, { namespace }),
          ),
        });
      try {
        const r = await proxyIn("kube-system");
        const body = (await r.json()) as { response: { allowed: boolean; warnings: string[] } };
        expect(body.response.allowed).toBe(true);
        expect(body.response.warnings[0]).toMatch(/kube-system is exempt/);
        const other = await proxyIn("default");
        expect(((await other.json()) as { response: { allowed: boolean } }).response.allowed).toBe(
          false,
        );
      } finally {
        await s.close();
        writeFileSync(join(home, "config.json"), "{}");
      }
    });
  });
});
