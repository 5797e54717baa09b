import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ADMISSION_KINDS, createAppContext } from "../../src/app/index.js";
import { parseListen, startServer } from "../../src/server/index.js";
import { tempDir } from "../support/tmp.js";

const DEPLOY = resolve(import.meta.dirname, "../../deploy");

/** The Kubernetes manifests and the serving-certificate procedure of deploy/. */
// biome-ignore lint/suspicious/noExplicitAny: manifests, read field by field
type Manifest = Record<string, any>;

describe("deploy/", () => {
  const docs = parseAllDocuments(readFileSync(join(DEPLOY, "cleanimg.yaml"), "utf8")).map(
    (d) => d.toJS() as Manifest,
  );
  const byKind = (k: string) => docs.find((d) => d["kind"] === k) as Manifest;

  it("sends every workload kind the webhook checks to /admission, fail-closed, over TLS", () => {
    const hook = byKind("ValidatingWebhookConfiguration")["webhooks"][0];
    expect(hook.failurePolicy).toBe("Fail");
    expect(hook.sideEffects).toBe("NoneOnDryRun");
    expect(hook.admissionReviewVersions).toEqual(["v1"]);
    expect(hook.clientConfig.service.path).toBe("/admission");
    const resources = hook.rules.flatMap((r: { resources: string[] }) => r.resources);
    const plural: Record<string, string> = {
      Pod: "pods",
      Deployment: "deployments",
      StatefulSet: "statefulsets",
      DaemonSet: "daemonsets",
      ReplicaSet: "replicasets",
      ReplicationController: "replicationcontrollers",
      Job: "jobs",
      CronJob: "cronjobs",
    };
    for (const k of ADMISSION_KINDS) {
      expect(resources, k).toContain(plural[k]);
    }
    // the Deployment runs serve with TLS on the port the Service targets
    const c = byKind("Deployment")["spec"]["template"]["spec"]["containers"][0];
    expect(c.args[0]).toBe("serve");
    const listen = c.args.find((a: string) => a.startsWith("--listen=")).slice("--listen=".length);
    expect(parseListen(listen)).toEqual(["0.0.0.0", 8443]);
    expect(c.args).toEqual(
      expect.arrayContaining(["--tls-cert=/tls/tls.crt", "--tls-key=/tls/tls.key"]),
    );
    expect(byKind("Service")["spec"]["ports"][0].targetPort).toBe(c.ports[0].name);
    const config = JSON.parse(byKind("ConfigMap")["data"]["config.json"]);
    expect(config.admission.exemptNamespaces).toContain("kube-system");
  });

  it("makes a serving certificate that the server uses and a client holding the CA accepts", async () => {
    const dir = tempDir("cleanimg-deploy-cert-");
    const bundle = execFileSync("sh", [join(DEPLOY, "make-cert.sh"), dir, "cleanimg", "cleanimg"])
      .toString()
      .trim();
    expect(Buffer.from(bundle, "base64").toString()).toBe(
      readFileSync(join(dir, "ca.crt"), "utf8"),
    );
    const text = execFileSync("openssl", [
      "x509",
      "-in",
      join(dir, "tls.crt"),
      "-noout",
      "-text",
    ]).toString();
    expect(text).toContain("DNS:cleanimg.cleanimg.svc");
    const ctx = createAppContext({ home: tempDir("cleanimg-deploy-home-"), env: {} });
    const srv = await startServer(ctx, {
      listen: "127.0.0.1:0",
      tlsCert: join(dir, "tls.crt"),
      tlsKey: join(dir, "tls.key"),
    });
    try {
      expect(srv.url).toMatch(/^https:/);
      const port = Number(new URL(srv.url).port);
      const get = (ca?: Buffer) =>
        new Promise<number>((done, fail) => {
          const req = request(
            {
              host: "127.0.0.1",
              port,
              path: "/readyz",
              servername: "cleanimg.cleanimg.svc",
              ...(ca ? { ca } : {}),
            },
            (res) => {
              res.resume();
              done(res.statusCode ?? 0);
            },
          );
          req.on("error", fail);
          req.end();
        });
      expect(await get(readFileSync(join(dir, "ca.crt")))).toBe(200);
      // without the CA the certificate is not trusted
      await expect(get()).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    } finally {
      await srv.close();
      await ctx.close();
    }
  });
});
