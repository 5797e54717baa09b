import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { OciError } from "../../core/errors.js";

/** Credentials for one registry. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Looks up credentials for a registry host. */
export type CredentialLookup = (host: string) => Promise<Credentials | undefined>;

/** Where the Docker config file is: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
export function dockerConfigPath(env: Readonly<Record<string, string | undefined>>): string {
  const dir = env["DOCKER_CONFIG"] ?? join(env["HOME"] ?? homedir(), ".docker");
  return join(dir, "config.json");
}

const DOCKER_HUB_KEYS = [
  "https://index.docker.io/v1/",
  "index.docker.io",
  "docker.io",
  "registry-1.docker.io",
];

/**
 * Credentials from a Docker config file (`auths` with `auth` or `username`/`password`), as
 * `docker login` writes them. Credential helpers (`credsStore`, `credHelpers`) are not run:
 * a host configured only through a helper gets a clear error.
 * @throws OciError OCI_UNAUTHORIZED when the file is unreadable JSON
 */
export function dockerConfigCredentials(path: string): CredentialLookup {
  let cache: Promise<Record<string, unknown> | undefined> | undefined;
  const load = async (): Promise<Record<string, unknown> | undefined> => {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new OciError("OCI_UNAUTHORIZED", `cannot read credentials: ${path} is not valid JSON`, {
        cause: e,
      });
    }
  };
  return async (host: string) => {
    cache ??= load();
    const cfg = await cache;
    if (!cfg) {
      return undefined;
    }
    const auths = (cfg["auths"] ?? {}) as Record<string, Record<string, unknown>>;
    const keys =
      host === "docker.io" ? DOCKER_HUB_KEYS : [host, `https://${host}`, `http://${host}`];
    for (const [k, v] of Object.entries(auths)) {
      const bare = k.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
      if (!keys.includes(k) && bare !== host) {
        continue;
      }
      if (typeof v["auth"] === "string" && v["auth"].length > 0) {
        const decoded = Buffer.from(v["auth"], "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon > 0) {
          return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
        }
      }
      if (typeof v["username"] === "string" && typeof v["password"] === "string") {
        return { username: v["username"], password: v["password"] };
      }
    }
    const helpers = cfg["credHelpers"] as Record<string, string> | undefined;
    if (helpers?.[host] || typeof cfg["credsStore"] === "string") {
      // Not an error by itself: anonymous access may still work. The registry client reports
      // the helper in its 401 message.
      return undefined;
    }
    return undefined;
  };
}

/** A parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses a `WWW-Authenticate` header (RFC 7235 auth-params, quoted strings). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*(.*)$/.exec(header);
  if (!m?.[1]) {
    return undefined;
  }
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (const p of (m[2] ?? "").matchAll(re)) {
    if (p[1]) {
      params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
    }
  }
  return { scheme: m[1].toLowerCase(), params };
}
