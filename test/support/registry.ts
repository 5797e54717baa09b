import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createPrivateKey, createSign, X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { tempDir } from "./tmp.js";

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly username?: string;
  readonly password?: string;
  /** A Docker config directory (DOCKER_CONFIG) whose config.json holds the credentials. */
  readonly dockerConfig?: string;
  /** The registry's TLS certificate (tls mode), to be trusted by clients. */
  readonly caFile?: string;
  /** Requests the token service answered (token mode). */
  readonly tokenRequests: { scope: string | null; account: string | null }[];
  stop(): Promise<void>;
}

export type RegistryAuth = "none" | "htpasswd" | "token";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString("base64url");
}

async function waitReady(
  host: string,
  proc: ChildProcess,
  log: () => string,
  caFile?: string,
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) {
      throw new Error(`docker-registry exited: ${log()}`);
    }
    try {
      const r = caFile
        ? await new Promise<{ status: number }>((resolve, reject) => {
            // readiness over TLS without trusting the certificate (the test's client does that)
            import("node:https").then(({ get }) =>
              get(`https://${host}/v2/`, { rejectUnauthorized: false }, (res) => {
                res.resume();
                resolve({ status: res.statusCode ?? 0 });
              }).on("error", reject),
            );
          })
        : await fetch(`http://${host}/v2/`);
      if (r.status === 200 || r.status === 401) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not start: ${log()}`);
}

/**
 * Starts the CNCF distribution registry (Debian package docker-registry) on 127.0.0.1 with
 * filesystem storage in a temporary directory, optionally with htpasswd (Basic) or token
 * (Bearer) authentication. Token mode runs a small token service that signs JWTs with a
 * throw-away certificate the registry trusts, as an external auth server would.
 */
export async function startRegistry(
  auth: RegistryAuth = "none",
  opts: { tls?: boolean } = {},
): Promise<TestRegistry> {
  const dir = tempDir("cleanimg-registry-");
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const username = "ci-user";
  const password = "s3cret-pass";
  const tokenRequests: { scope: string | null; account: string | null }[] = [];
  let tokenServer: Server | undefined;
  let authYaml = "";
  if (auth === "htpasswd") {
    execFileSync("htpasswd", ["-Bbc", join(dir, "htpasswd"), username, password], {
      stdio: "ignore",
    });
    authYaml = `auth:\n  htpasswd:\n    realm: cleanimg-test\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (auth === "token") {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "2",
        "-subj",
        "/CN=cleanimg-test-token",
      ],
      { stdio: "ignore" },
    );
    const key = createPrivateKey(readFileSync(join(dir, "key.pem")));
    const cert = new X509Certificate(readFileSync(join(dir, "cert.pem")));
    const tport = await freePort();
    tokenServer = createServer((req, res) => {
      const url = new URL(req.url ?? "/", `http://127.0.0.1:${tport}`);
      const basic = req.headers.authorization?.startsWith("Basic ")
        ? Buffer.from(req.headers.authorization.slice(6), "base64").toString()
        : undefined;
      tokenRequests.push({
        scope: url.searchParams.get("scope"),
        account: url.searchParams.get("account"),
      });
      if (basic !== `${username}:${password}`) {
        res.writeHead(401).end();
        return;
      }
      const access = (url.searchParams.getAll("scope") ?? []).map((s) => {
        const [type, name, actions] = s.split(":");
        return { type, name, actions: (actions ?? "").split(",") };
      });
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: "JWT", alg: "RS256", x5c: [cert.raw.toString("base64")] };
      const claims = {
        iss: "cleanimg-test-issuer",
        sub: username,
        aud: "cleanimg-test-registry",
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: String(Math.random()),
        access,
      };
      const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const sig = createSign("RSA-SHA256").update(signingInput).sign(key);
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ token: `${signingInput}.${b64url(sig)}` }));
    });
    await new Promise<void>((r) => tokenServer?.listen(tport, "127.0.0.1", r));
    authYaml = `auth:\n  token:\n    realm: http://127.0.0.1:${tport}/token\n    service: cleanimg-test-registry\n    issuer: cleanimg-test-issuer\n    rootcertbundle: ${join(dir, "cert.pem")}\n`;
  }
  let tlsYaml = "";
  let caFile: string | undefined;
  if (opts.tls) {
    // a self-signed certificate for 127.0.0.1; clients trust it through NODE_EXTRA_CA_CERTS
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
        "-keyout",
        join(dir, "tls.key"),
        "-out",
        join(dir, "tls.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    tlsYaml = `  tls:\n    certificate: ${join(dir, "tls.crt")}\n    key: ${join(dir, "tls.key")}\n`;
    caFile = join(dir, "tls.crt");
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, "data")}
  delete:
    enabled: true
http:
  addr: ${host}
${tlsYaml}${authYaml}`;
  writeFileSync(join(dir, "config.yml"), config);
  let log = "";
  const proc = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout?.on("data", (d) => {
    log += d;
  });
  proc.stderr?.on("data", (d) => {
    log += d;
  });
  await waitReady(host, proc, () => log, caFile);
  let dockerConfig: string | undefined;
  if (auth !== "none") {
    dockerConfig = join(dir, "docker");
    mkdirSync(dockerConfig);
    writeFileSync(
      join(dockerConfig, "config.json"),
      JSON.stringify({
        auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } },
      }),
    );
  }
  return {
    host,
    ...(auth !== "none" ? { username, password } : {}),
    ...(dockerConfig ? { dockerConfig } : {}),
    ...(caFile ? { caFile } : {}),
    tokenRequests,
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once("exit", r)));
      await new Promise((r) => (tokenServer ? tokenServer.close(r) : r(null)));
    },
  };
}
