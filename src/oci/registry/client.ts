import { type Digest, digestHex, sha256, verifyBytes, verifyStream } from "../../core/digest.js";
import { type ErrorCode, OciError } from "../../core/errors.js";
import { concatBytes, DEFAULT_LIMITS, readAllLimited } from "../../core/limits.js";
import { MediaType } from "../media-types.js";
import { formatImageRef, type ImageRef, isLoopbackHost, repositoryName } from "../ref.js";
import type { ImageDestination, ImageSource } from "../transport.js";
import { type Descriptor, type ImageIndex, parseManifest } from "../types.js";
import { type Challenge, type CredentialLookup, parseChallenge } from "./auth.js";

const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
].join(", ");

export interface RegistryOptions {
  /** Plain HTTP, allowed for loopback registries only. */
  readonly insecure?: boolean;
  readonly credentials?: CredentialLookup;
  /** Upload chunk size; blobs up to this size go in one request (monolithic). */
  readonly chunkSize?: number;
  /** Attempts for 429 and 5xx answers. */
  readonly retries?: number;
  /** Replaces the global fetch (tests inject faults through it). */
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
}

/**
 * A client of the OCI distribution API for one repository: manifests, blobs, uploads
 * (monolithic and chunked), cross-repository mounts, the referrers API with the tag-schema
 * fallback, and the Bearer-token / Basic challenge flow.
 */
export class RegistryClient {
  readonly base: string;
  readonly repository: string;
  readonly #opts: Required<Pick<RegistryOptions, "chunkSize" | "retries">> & RegistryOptions;
  readonly #tokens = new Map<string, string>();
  #basic: string | undefined;
  #fetch: typeof fetch;

  constructor(
    readonly ref: ImageRef,
    opts: RegistryOptions = {},
  ) {
    if (opts.insecure && !isLoopbackHost(ref.domain)) {
      throw new OciError(
        "OCI_INSECURE_REFUSED",
        `refusing plain HTTP to ${ref.domain}: --insecure is only for loopback registries`,
        {
          hint: "serve the registry over TLS, or run it on 127.0.0.1",
        },
      );
    }
    const host = ref.domain === "docker.io" ? "registry-1.docker.io" : ref.domain;
    this.base = `${opts.insecure ? "http" : "https"}://${host}`;
    this.repository = ref.path;
    this.#opts = { chunkSize: 8 * 1024 * 1024, retries: 3, ...opts };
    this.#fetch = opts.fetch ?? fetch;
  }

  get description(): string {
    return `registry ${repositoryName(this.ref)}`;
  }

  // --- HTTP with authentication -------------------------------------------------------------

  async #authHeader(challenge: Challenge, scope: string): Promise<string | undefined> {
    const creds = await this.#opts.credentials?.(this.ref.domain);
    if (challenge.scheme === "basic") {
      if (!creds) {
        return undefined;
      }
      this.#basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
      return this.#basic;
    }
    if (challenge.scheme !== "bearer") {
      throw new OciError(
        "OCI_UNAUTHORIZED",
        `${this.description}: unsupported authentication scheme "${challenge.scheme}"`,
      );
    }
    const realm = challenge.params["realm"];
    if (!realm) {
      throw new OciError(
        "OCI_UNAUTHORIZED",
        `${this.description}: Bearer challenge without a realm`,
      );
    }
    const url = new URL(realm);
    if (challenge.params["service"]) {
      url.searchParams.set("service", challenge.params["service"]);
    }
    url.searchParams.set("scope", challenge.params["scope"] ?? scope);
    const headers: Record<string, string> = {};
    if (creds) {
      headers["authorization"] =
        `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
      url.searchParams.set("account", creds.username);
    }
    const res = await this.#fetch(url, {
      headers,
      ...(this.#opts.signal ? { signal: this.#opts.signal } : {}),
    });
    if (!res.ok) {
      throw new OciError(
        res.status === 401 ? "OCI_UNAUTHORIZED" : "OCI_DENIED",
        `${this.description}: token service ${url.origin} answered ${res.status}`,
        {
          hint: creds
            ? "check the credentials in your Docker config"
            : "log in: add credentials to your Docker config file",
        },
      );
    }
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) {
      throw new OciError(
        "OCI_UNAUTHORIZED",
        `${this.description}: token service returned no token`,
      );
    }
    this.#tokens.set(scope, `Bearer ${token}`);
    return `Bearer ${token}`;
  }

  /** Sends a request, answering one authentication challenge and retrying 429/5xx. */
  async request(
    method: string,
    pathOrUrl: string,
    init: {
      headers?: Record<string, string>;
      body?: Uint8Array;
      push?: boolean;
      redirect?: "follow" | "manual" | "error";
    } = {},
  ): Promise<Response> {
    const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${this.base}${pathOrUrl}`;
    const scope = `repository:${this.repository}:${init.push ? "pull,push" : "pull"}`;
    let auth = this.#tokens.get(scope) ?? this.#basic;
    let challenged = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...init.headers };
      if (auth) {
        headers["authorization"] = auth;
      }
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method,
          headers,
          ...(init.body ? { body: init.body } : {}),
          redirect: init.redirect ?? "follow",
          ...(this.#opts.signal ? { signal: this.#opts.signal } : {}),
        });
      } catch (e) {
        if (attempt < this.#opts.retries && !this.#opts.signal?.aborted && !isCertificateError(e)) {
          await delay(200 * 2 ** attempt);
          continue;
        }
        throw new OciError(
          "OCI_REGISTRY_ERROR",
          `${this.description}: ${method} ${new URL(url).pathname} failed: ${(e as Error).message}${causeText(e)}`,
          {
            cause: e,
            hint: isCertificateError(e)
              ? "the registry's TLS certificate is not trusted: add its CA to the system store or point NODE_EXTRA_CA_CERTS at it"
              : this.base.startsWith("https") && isLoopbackHost(this.ref.domain)
                ? "a local registry without TLS needs --insecure"
                : "check that the registry is reachable",
          },
        );
      }
      if (res.status === 401 && !challenged) {
        const header = res.headers.get("www-authenticate");
        const ch = header ? parseChallenge(header) : undefined;
        await res.body?.cancel();
        if (ch) {
          challenged = true;
          const next = await this.#authHeader(ch, scope);
          if (next) {
            auth = next;
            attempt--;
            continue;
          }
        }
        throw new OciError("OCI_UNAUTHORIZED", `${this.description}: authentication required`, {
          hint: "add credentials for this registry to your Docker config file (docker login writes it)",
        });
      }
      if ((res.status === 429 || res.status >= 500) && attempt < this.#opts.retries) {
        await res.body?.cancel();
        const after = Number(res.headers.get("retry-after"));
        await delay(
          Number.isFinite(after) && after > 0 ? Math.min(after, 10) * 1000 : 200 * 2 ** attempt,
        );
        continue;
      }
      return res;
    }
  }

  async #fail(res: Response, what: string, notFound: ErrorCode): Promise<never> {
    let detail = "";
    try {
      const text = await res.text();
      const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      detail = (body.errors ?? [])
        .map((e) => `${e.code ?? ""} ${e.message ?? ""}`.trim())
        .join("; ");
    } catch {
      // not a distribution error body; the status says enough
    }
    const code: ErrorCode =
      res.status === 404
        ? notFound
        : res.status === 401
          ? "OCI_UNAUTHORIZED"
          : res.status === 403
            ? "OCI_DENIED"
            : "OCI_REGISTRY_ERROR";
    throw new OciError(
      code,
      `${this.description}: ${what}: HTTP ${res.status}${detail ? ` (${detail})` : ""}`,
    );
  }

  // --- reading -------------------------------------------------------------------------------

  /**
   * Fetches a manifest by tag or digest. A digest reference is verified; for a tag the digest
   * is computed from the bytes (and checked against Docker-Content-Digest when present).
   */
  async getManifest(reference: string): Promise<{ descriptor: Descriptor; bytes: Uint8Array }> {
    const res = await this.request("GET", `/v2/${this.repository}/manifests/${reference}`, {
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (!res.ok) {
      await this.#fail(res, `manifest ${reference}`, "OCI_MANIFEST_UNKNOWN");
    }
    const bytes = await readAllLimited(
      bodyOf(res),
      DEFAULT_LIMITS.maxJsonBytes,
      `manifest ${reference} from ${this.description}`,
    );
    const digest = sha256(bytes);
    if (reference.includes(":")) {
      verifyBytes(bytes, {
        digest: reference as Digest,
        what: `manifest ${reference} from ${this.description}`,
      });
    } else {
      const claimed = res.headers.get("docker-content-digest");
      if (claimed?.startsWith("sha256:") && claimed !== digest) {
        throw new OciError(
          "CORE_DIGEST_MISMATCH",
          `${this.description}: manifest ${reference} has digest ${digest}, the registry says ${claimed}`,
        );
      }
    }
    const ct = (res.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
    const parsed = parseManifest(bytes, `manifest ${reference} from ${this.description}`, ct);
    return { descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length }, bytes };
  }

  /** True when the registry has the manifest (HEAD). */
  async hasManifest(reference: string): Promise<boolean> {
    const res = await this.request("HEAD", `/v2/${this.repository}/manifests/${reference}`, {
      headers: { accept: MANIFEST_ACCEPT },
    });
    return res.ok;
  }

  /** Streams a blob, verified while it streams. */
  async *blob(desc: Descriptor): AsyncGenerator<Uint8Array> {
    const res = await this.request("GET", `/v2/${this.repository}/blobs/${desc.digest}`);
    if (!res.ok) {
      await this.#fail(res, `blob ${desc.digest}`, "OCI_BLOB_UNKNOWN");
    }
    yield* verifyStream(bodyOf(res), {
      digest: desc.digest,
      size: desc.size,
      what: `blob ${desc.digest} from ${this.description}`,
    });
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    const res = await this.request("HEAD", `/v2/${this.repository}/blobs/${desc.digest}`);
    await res.body?.cancel();
    if (res.ok) {
      return true;
    }
    if (res.status === 404) {
      return false;
    }
    return this.#fail(res, `blob ${desc.digest}`, "OCI_BLOB_UNKNOWN");
  }

  /** Tags of the repository (all pages). */
  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${this.repository}/tags/list?n=1000`;
    for (let page = 0; next && page < 1000; page++) {
      const res = await this.request("GET", next);
      if (!res.ok) {
        await this.#fail(res, "tag list", "OCI_MANIFEST_UNKNOWN");
      }
      const body = (await res.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const link = res.headers.get("link");
      const m = link ? /<([^>]+)>/.exec(link) : null;
      next = m?.[1];
    }
    return tags;
  }

  // --- writing -------------------------------------------------------------------------------

  /**
   * Tries a cross-repository mount of a blob. Returns true when the registry mounted it (201);
   * a 202 starts an ordinary upload, which is cancelled.
   */
  async mountBlob(desc: Descriptor, fromRepository: string): Promise<boolean> {
    const res = await this.request(
      "POST",
      `/v2/${this.repository}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(fromRepository)}`,
      { push: true },
    );
    await res.body?.cancel();
    if (res.status === 201) {
      return true;
    }
    if (res.status === 202) {
      const loc = res.headers.get("location");
      if (loc) {
        const r = await this.request("DELETE", this.#absolute(loc), { push: true });
        await r.body?.cancel();
      }
      return false;
    }
    return this.#fail(res, `mount of ${desc.digest}`, "OCI_BLOB_UNKNOWN");
  }

  #absolute(location: string): string {
    return new URL(location, this.base).toString();
  }

  /**
   * Uploads a blob: one PUT when it fits in a chunk (monolithic), PATCH chunks otherwise.
   * The stream is verified as it is read; memory is bounded by the chunk size.
   */
  async putBlob(desc: Descriptor, data: AsyncIterable<Uint8Array>): Promise<void> {
    const start = await this.request("POST", `/v2/${this.repository}/blobs/uploads/`, {
      push: true,
    });
    await start.body?.cancel();
    if (start.status !== 202) {
      await this.#fail(start, `upload of ${desc.digest}`, "OCI_BLOB_UNKNOWN");
    }
    let location = this.#absolute(start.headers.get("location") ?? "");
    const chunkSize = this.#opts.chunkSize;
    const verified = verifyStream(data, {
      digest: desc.digest,
      size: desc.size,
      what: `blob ${desc.digest}`,
    });
    let buf: Uint8Array[] = [];
    let buffered = 0;
    let sent = 0;
    const sendChunk = async (body: Uint8Array): Promise<void> => {
      const res = await this.request("PATCH", location, {
        push: true,
        body,
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${sent}-${sent + body.length - 1}`,
          "content-length": String(body.length),
        },
      });
      await res.body?.cancel();
      if (res.status !== 202) {
        await this.#fail(res, `chunk upload of ${desc.digest}`, "OCI_BLOB_UNKNOWN");
      }
      location = this.#absolute(res.headers.get("location") ?? location);
      sent += body.length;
    };
    for await (const chunk of verified) {
      buf.push(chunk);
      buffered += chunk.length;
      // Send whole chunks of exactly chunkSize bytes; keep the rest for the next round.
      while (buffered > chunkSize) {
        const all = concatBytes(buf, buffered);
        await sendChunk(all.subarray(0, chunkSize));
        buf = [all.subarray(chunkSize)];
        buffered -= chunkSize;
      }
    }
    // Monolithic when nothing was sent yet: the whole blob goes with the closing PUT.
    const last = concatBytes(buf, buffered);
    const url = new URL(location);
    url.searchParams.set("digest", desc.digest);
    const res = await this.request("PUT", url.toString(), {
      push: true,
      body: last,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(last.length),
      },
    });
    await res.body?.cancel();
    if (res.status !== 201) {
      await this.#fail(res, `upload of ${desc.digest}`, "OCI_BLOB_UNKNOWN");
    }
  }

  /** Pushes a manifest under a tag or its digest. Returns the registry's OCI-Subject header. */
  async putManifest(
    reference: string,
    desc: Descriptor,
    bytes: Uint8Array,
  ): Promise<{ subject: string | null }> {
    verifyBytes(bytes, { digest: desc.digest, size: desc.size, what: `manifest ${desc.digest}` });
    const res = await this.request("PUT", `/v2/${this.repository}/manifests/${reference}`, {
      push: true,
      body: bytes,
      headers: { "content-type": desc.mediaType },
    });
    await res.body?.cancel();
    if (res.status !== 201) {
      await this.#fail(res, `manifest push ${reference}`, "OCI_MANIFEST_UNKNOWN");
    }
    return { subject: res.headers.get("oci-subject") };
  }

  // --- referrers -----------------------------------------------------------------------------

  /**
   * Lists the referrers of a manifest: the referrers API when the registry has it, else the
   * tag-schema fallback (`sha256-<hex>` tag holding an index).
   */
  async referrers(
    subject: Digest,
    artifactType?: string,
  ): Promise<{ index: ImageIndex; via: "api" | "tag" }> {
    const q = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : "";
    const res = await this.request("GET", `/v2/${this.repository}/referrers/${subject}${q}`, {
      headers: { accept: MediaType.OciIndex },
    });
    const ct = res.headers.get("content-type") ?? "";
    if (res.ok && ct.includes(MediaType.OciIndex)) {
      const bytes = await readAllLimited(bodyOf(res), DEFAULT_LIMITS.maxJsonBytes, "referrers");
      const parsed = parseManifest(bytes, `referrers of ${subject}`, MediaType.OciIndex);
      if (parsed.kind === "index") {
        const filtered = res.headers.get("oci-filters-applied")?.includes("artifactType");
        const manifests =
          artifactType && !filtered
            ? parsed.index.manifests.filter((m) => m.artifactType === artifactType)
            : parsed.index.manifests;
        return { index: { ...parsed.index, manifests }, via: "api" };
      }
    }
    await res.body?.cancel();
    if (res.ok || res.status === 404) {
      const index = await this.#fallbackIndex(subject);
      const manifests = artifactType
        ? index.manifests.filter((m) => m.artifactType === artifactType)
        : index.manifests;
      return { index: { ...index, manifests }, via: "tag" };
    }
    return this.#fail(res, `referrers of ${subject}`, "OCI_MANIFEST_UNKNOWN");
  }

  async #fallbackIndex(subject: Digest): Promise<ImageIndex> {
    const tag = referrersTag(subject);
    try {
      const { bytes } = await this.getManifest(tag);
      const parsed = parseManifest(bytes, `referrers tag ${tag}`, MediaType.OciIndex);
      if (parsed.kind === "index") {
        return parsed.index;
      }
    } catch (e) {
      if (!(e instanceof OciError && e.code === "OCI_MANIFEST_UNKNOWN")) {
        throw e;
      }
    }
    return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  }

  /**
   * Pushes a manifest that has a `subject`, and keeps the tag-schema fallback index current
   * when the registry does not process subjects itself (no OCI-Subject header).
   */
  async putReferrer(desc: Descriptor, bytes: Uint8Array): Promise<{ via: "api" | "tag" }> {
    const parsed = parseManifest(bytes, `referrer ${desc.digest}`, desc.mediaType);
    const m = parsed.kind === "manifest" ? parsed.manifest : parsed.index;
    if (!m.subject) {
      throw new OciError("OCI_INVALID_MANIFEST", `referrer ${desc.digest} has no subject`);
    }
    const { subject } = await this.putManifest(desc.digest, desc, bytes);
    if (subject) {
      return { via: "api" };
    }
    const index = await this.#fallbackIndex(m.subject.digest);
    if (index.manifests.some((x) => x.digest === desc.digest)) {
      return { via: "tag" };
    }
    const entry: Descriptor = {
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      ...(m.artifactType || (parsed.kind === "manifest" && parsed.manifest.config.mediaType)
        ? {
            artifactType:
              m.artifactType ??
              (parsed.kind === "manifest" ? parsed.manifest.config.mediaType : ""),
          }
        : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
    };
    const next = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [...index.manifests, entry],
    };
    const nb = new TextEncoder().encode(JSON.stringify(next));
    await this.putManifest(
      referrersTag(m.subject.digest),
      { mediaType: MediaType.OciIndex, digest: sha256(nb), size: nb.length },
      nb,
    );
    return { via: "tag" };
  }
}

/** The tag-schema fallback tag of a subject digest: `sha256-<hex>`. */
export function referrersTag(subject: Digest): string {
  return `${subject.slice(0, subject.indexOf(":"))}-${digestHex(subject)}`;
}

function causeText(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c ? ` (${c.code ?? c.message ?? ""})` : "";
}

const CERT_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT/;

function isCertificateError(e: unknown): boolean {
  const c = (e as { cause?: { code?: string } }).cause;
  return typeof c?.code === "string" && CERT_ERRORS.test(c.code);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function* bodyOf(res: Response): AsyncGenerator<Uint8Array> {
  if (!res.body) {
    return;
  }
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    yield c;
  }
}

/** Reads an image from a registry. */
export class RegistrySource implements ImageSource {
  readonly description: string;
  constructor(
    private readonly client: RegistryClient,
    note = "",
  ) {
    this.description = `${formatImageRef(client.ref)}${note}`;
  }
  async resolve(): Promise<{ descriptor: Descriptor; bytes: Uint8Array }> {
    const ref = this.client.ref;
    const r = await this.client.getManifest(ref.digest ?? ref.tag ?? "latest");
    if (ref.digest && r.descriptor.digest !== ref.digest) {
      throw new OciError("OCI_INVALID_MANIFEST", `${this.description}: digest mismatch`);
    }
    return r;
  }
  async fetchManifest(desc: Descriptor): Promise<Uint8Array> {
    const r = await this.client.getManifest(desc.digest);
    if (desc.size !== r.bytes.length) {
      throw new OciError(
        "CORE_SIZE_MISMATCH",
        `${this.description}: manifest ${desc.digest} size differs from its descriptor`,
      );
    }
    return r.bytes;
  }
  openBlob(desc: Descriptor): AsyncIterable<Uint8Array> {
    return this.client.blob(desc);
  }
  async close(): Promise<void> {}
}

/** Writes an image to a registry; the root manifest is tagged (or pushed by digest) last. */
export class RegistryDestination implements ImageDestination {
  readonly description: string;
  #root: { desc: Descriptor; bytes: Uint8Array } | undefined;
  constructor(private readonly client: RegistryClient) {
    this.description = formatImageRef(client.ref);
  }
  hasBlob(desc: Descriptor): Promise<boolean> {
    return this.client.hasBlob(desc);
  }
  putBlob(desc: Descriptor, data: AsyncIterable<Uint8Array>): Promise<void> {
    return this.client.putBlob(desc, data);
  }
  mountBlob(desc: Descriptor, fromRepository: string): Promise<boolean> {
    return this.client.mountBlob(desc, fromRepository);
  }
  async putManifest(desc: Descriptor, bytes: Uint8Array, root: boolean): Promise<void> {
    if (root) {
      this.#root = { desc, bytes };
      return;
    }
    await this.client.putManifest(desc.digest, desc, bytes);
  }
  async commit(): Promise<void> {
    if (!this.#root) {
      throw new OciError("OCI_INVALID_MANIFEST", `${this.description}: no root manifest to push`);
    }
    const ref = this.client.ref;
    if (ref.digest && ref.digest !== this.#root.desc.digest) {
      throw new OciError(
        "CORE_DIGEST_MISMATCH",
        `${this.description}: the image's digest is ${this.#root.desc.digest}`,
      );
    }
    await this.client.putManifest(
      ref.tag ?? this.#root.desc.digest,
      this.#root.desc,
      this.#root.bytes,
    );
  }
  async close(): Promise<void> {}
}
