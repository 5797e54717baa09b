import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  buildImage,
  createAppContext,
  createToken,
  importVulnData,
  inspectImage,
  scan,
} from "../../src/app/index.js";
import { sha256 } from "../../src/core/digest.js";
import { type RunningServer, startServer } from "../../src/server/index.js";
import { tempDir } from "../support/tmp.js";

const PLUGIN = resolve(import.meta.dirname, "../../src/cli/kubectl-images.ts");
const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const K8S_TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.stand-in";

/** A pod as the API server lists it (v1 Pod, with the kubelet's status). */
function pod(ns: string, name: string, image: string, imageID: string | undefined, ready = true) {
  return {
    metadata: {
      name,
      namespace: ns,
      uid: sha256(name).slice(7, 43),
      labels: { app: name.split("-")[0] },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${name.split("-")[0]}-7d4b9c`,
          uid: "x",
          controller: true,
        },
      ],
    },
    spec: {
      containers: [{ name: "app", image, imagePullPolicy: "IfNotPresent" }],
      restartPolicy: "Always",
      nodeName: "node-1",
    },
    status: {
      phase: imageID ? "Running" : "Pending",
      containerStatuses: imageID
        ? [
            {
              name: "app",
              image,
              imageID,
              ready,
              restartCount: 0,
              started: true,
              state: { running: { startedAt: "2026-11-27T08:00:00Z" } },
              containerID: `containerd://${sha256(name).slice(7)}`,
            },
          ]
        : [
            {
              name: "app",
              image,
              imageID: "",
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: "ContainerCreating" } },
            },
          ],
    },
  };
}

/**
 * The kubectl plugin against a stand-in of the Kubernetes API (HTTPS on 127.0.0.1, bearer token,
 * real-shaped PodLists) through a kubeconfig that points to it.
 */
describe("kubectl images --compliance-status", () => {
  let ctx: AppContext;
  let home: string;
  let api: Server;
  let kubeconfig: string;
  let srv: RunningServer;
  let digest: string;
  const requests: string[] = [];

  beforeAll(async () => {
    home = tempDir("cleanimg-kubectl-");
    ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    const dir = tempDir("cleanimg-kubectl-ctx-");
    mkdirSync(join(dir, "www"));
    writeFileSync(join(dir, "www", "index.html"), "<h1>shop</h1>\n");
    writeFileSync(
      join(dir, "cleanimg.yaml"),
      "image: shop/web:1.0.0\nfiles:\n  - src: www/\n    dst: /srv/\n",
    );
    await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") });
    await scan(ctx, "shop/web:1.0.0");
    digest = (await inspectImage(ctx, "shop/web:1.0.0", { record: false })).manifest.digest;

    // the API server stand-in: its own CA-signed certificate for 127.0.0.1
    const certs = tempDir("cleanimg-kubectl-certs-");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=kube-apiserver",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(certs, "key.pem"),
        "-out",
        join(certs, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    const shop = [
      pod(
        "shop",
        "web-7d4b9c-abcde",
        "registry.example/shop/web:1.0.0",
        `registry.example/shop/web@${digest}`,
      ),
      pod(
        "shop",
        "web-7d4b9c-fghij",
        "registry.example/shop/web:1.0.0",
        `registry.example/shop/web@${digest}`,
      ),
      pod(
        "shop",
        "cache-5f6d7-klmno",
        "docker.io/library/redis:7.2",
        `docker.io/library/redis@${sha256("redis 7.2")}`,
      ),
      pod("shop", "worker-9a8b7-pqrst", "registry.example/shop/worker:2.0", undefined),
    ];
    const system = [
      pod(
        "kube-system",
        "coredns-1a2b3-uvwxy",
        "registry.k8s.io/coredns/coredns:v1.11.1",
        `registry.k8s.io/coredns/coredns@${sha256("coredns")}`,
      ),
    ];
    api = createServer(
      { key: readFileSync(join(certs, "key.pem")), cert: readFileSync(join(certs, "cert.pem")) },
      (req, res) => {
        requests.push(`${req.method} ${req.url}`);
        if (req.headers.authorization !== `Bearer ${K8S_TOKEN}`) {
          res.writeHead(401, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              kind: "Status",
              apiVersion: "v1",
              status: "Failure",
              message: "Unauthorized",
              reason: "Unauthorized",
              code: 401,
            }),
          );
          return;
        }
        const path = new URL(req.url ?? "/", "https://x").pathname;
        const items =
          path === "/api/v1/pods"
            ? [...shop, ...system]
            : path === "/api/v1/namespaces/shop/pods"
              ? shop
              : path.startsWith("/api/v1/namespaces/") && path.endsWith("/pods")
                ? []
                : undefined;
        if (!items) {
          res.writeHead(404, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              kind: "Status",
              apiVersion: "v1",
              status: "Failure",
              reason: "NotFound",
              code: 404,
            }),
          );
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            kind: "PodList",
            apiVersion: "v1",
            metadata: { resourceVersion: "123456" },
            items,
          }),
        );
      },
    );
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    const port = (api.address() as AddressInfo).port;
    kubeconfig = join(certs, "kubeconfig");
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters:
  - name: stand-in
    cluster:
      server: https://127.0.0.1:${port}
      certificate-authority-data: ${readFileSync(join(certs, "cert.pem")).toString("base64")}
users:
  - name: tester
    user:
      token: ${K8S_TOKEN}
contexts:
  - name: stand-in
    context: { cluster: stand-in, user: tester, namespace: shop }
current-context: stand-in
`,
    );
    srv = await startServer(ctx, { listen: "127.0.0.1:0" });
  }, 300_000);
  afterAll(async () => {
    await srv?.close();
    api?.close();
    await ctx?.close();
  });

  // asynchronous: the API stand-in and the server answer from this process
  const plugin = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const p = spawn(process.execPath, ["--import", "tsx", PLUGIN, ...args], {
        env: { ...process.env, KUBECONFIG: kubeconfig, CLEANIMG_HOME: home, ...env },
      });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => {
        stdout += d;
      });
      p.stderr.on("data", (d) => {
        stderr += d;
      });
      p.on("close", (status) => done({ status, stdout, stderr }));
    });

  it("lists the running images of the context's namespace with their status from the local store", async () => {
    const r = await plugin(["--compliance-status"]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^IMAGE\s+VERSION\s+SLSA\s+SBOM\s+VEX\s+SIGNATURE\s+CHAIN\s+FEDRAMP\s+PODS\s+DIGEST$/,
    );
    const row = (img: string) => lines.find((l) => l.startsWith(`${img} `))?.split(/\s{2,}/);
    expect(row("registry.example/shop/web")).toEqual([
      "registry.example/shop/web",
      "1.0.0",
      "L1",
      "✓",
      "✓",
      "✓",
      "intact",
      "READY",
      "2",
      digest.slice(0, 19),
    ]);
    // running, but nothing recorded for what runs
    expect(row("docker.io/library/redis")?.slice(6, 9)).toEqual(["no evidence", "UNKNOWN", "1"]);
    // not started: the kubelet has not said what digest runs, and the spec pins none
    expect(row("registry.example/shop/worker")?.slice(6, 8)).toEqual(["digest unknown", "UNKNOWN"]);
    expect(r.status).toBe(1);
    expect(requests).toContain("GET /api/v1/namespaces/shop/pods");
  });

  it("reads every namespace with -A, and the status from a server with a reader token", async () => {
    const token = (await createToken(ctx, { name: "kubectl", role: "reader" })).token;
    const r = await plugin(["--compliance-status", "-A", "--server", srv.url, "-o", "json"], {
      CLEANIMG_TOKEN: token,
    });
    expect(r.stderr).toBe("");
    const rows = JSON.parse(r.stdout) as {
      image: string;
      fedramp: string;
      digest: string;
      pods: number;
    }[];
    expect(rows.map((x) => x.image)).toEqual([
      "docker.io/library/redis",
      "registry.example/shop/web",
      "registry.example/shop/worker",
      "registry.k8s.io/coredns/coredns",
    ]);
    expect(rows.find((x) => x.image === "registry.example/shop/web")).toMatchObject({
      fedramp: "READY",
      digest,
      pods: 2,
    });
    expect(requests).toContain("GET /api/v1/pods");
    // a wrong token is an error, not an empty table
    const bad = await plugin(["--compliance-status", "--server", srv.url], {
      CLEANIMG_TOKEN: `cit_${"0".repeat(16)}_${"A".repeat(43)}`,
    });
    expect(bad.status).toBe(3);
    expect(bad.stderr).toMatch(/401 unknown token/);
  });

  it("fails clearly when the cluster refuses the kubeconfig's credentials", async () => {
    const cfg = readFileSync(kubeconfig, "utf8").replace(K8S_TOKEN, "wrong");
    const f = join(tempDir("cleanimg-kubectl-bad-"), "kubeconfig");
    writeFileSync(f, cfg);
    const r = await plugin(["--compliance-status", "--kubeconfig", f]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^kubectl-images: .*401/);
  });
});
