import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { AdmissionController, type AppContext } from "../../src/app/index.js";
import type { Digest } from "../../src/core/digest.js";
import type { SqliteEvidenceStore } from "../../src/store/index.js";
import { scannedHome } from "../support/scanned-home.js";

/**
 * An allowed AdmissionReview is recorded (a deployment link, its document, an audit event). The
 * fields it records are bounded as Kubernetes bounds them: a review whose namespace, name or uid
 * is far over (900 KB) is denied with code 400 before anything is written; it wrote a 900 KB
 * audit entry and a 1.8 MB deployment document.
 */

const REF = "fields:1.0.0";
let ctx: AppContext;
let image: Digest;

beforeAll(async () => {
  ({ ctx, image } = await scannedHome(REF));
}, 120_000);

const review = (request: Record<string, unknown>) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
    kind: { group: "", version: "v1", kind: "Pod" },
    namespace: "team-a",
    name: "web",
    operation: "CREATE",
    object: { spec: { containers: [{ name: "app", image: `registry.local/fields@${image}` }] } },
    ...request,
  },
});

/** Bytes the store holds: its blob files and its database. */
function storeBytes(): number {
  const dir = (ctx.evidence() as SqliteEvidenceStore).dir;
  let n = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
      } else {
        n += statSync(p).size;
      }
    }
  };
  walk(dir);
  return n;
}

describe("admission request fields are bounded as Kubernetes bounds them", () => {
  it("a real review is allowed and recorded", async () => {
    const r = await new AdmissionController(ctx).review(review({}));
    expect(r.response.allowed, r.response.status?.message).toBe(true);
  });

  it.each([
    ["namespace", { namespace: "a".repeat(900_000) }, /namespace is 900000 characters long/],
    ["name", { name: "n".repeat(900_000) }, /name is 900000 characters long/],
    ["uid", { uid: "u".repeat(900_000) }, /uid is 900000 characters long/],
    ["namespace that is no DNS label", { namespace: "Team_A/../x" }, /not a DNS label/],
    ["username", { userInfo: { username: "x".repeat(900_000) } }, /username is 900000/],
    [
      "image reference",
      {
        object: {
          spec: {
            containers: [
              {
                name: "app",
                image: `registry.local/${"a".repeat(2_500_000)}@${"sha256:".padEnd(71, "0")}`,
              },
            ],
          },
        },
      },
      /image reference \(2500087, at most 1024\)/,
    ],
  ])(
    "a review with a huge or malformed %s is denied (400) and writes nothing big",
    async (_f, request, why) => {
      const before = storeBytes();
      const r = await new AdmissionController(ctx).review(review(request));
      expect(r.response.allowed).toBe(false);
      expect(r.response.status?.code).toBe(400);
      expect(r.response.status?.message).toMatch(why);
      expect(r.response.uid.length).toBeLessThan(200);
      expect(storeBytes() - before).toBeLessThan(64 * 1024);
    },
  );
});
