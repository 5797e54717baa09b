import { type Digest, isDigest, parseDigest } from "../core/digest.js";
import { OciError } from "../core/errors.js";
import { OciArchiveDestination, openOciArchive } from "./archive.js";
import { DockerArchiveDestination, DockerArchiveSource } from "./docker-archive.js";
import { DirectoryFiles } from "./files.js";
import { LayoutDestination, LayoutSource } from "./layout.js";
import type { LocalImageStore } from "./local-store.js";
import { formatImageRef, type ImageRef, parseImageRef } from "./ref.js";
import type { CredentialLookup } from "./registry/auth.js";
import { RegistryClient, RegistryDestination, RegistrySource } from "./registry/client.js";
import type { ImageDestination, ImageSource } from "./transport.js";

/** Where an image is: the transports of skopeo's naming, plus the local store. */
export type ImageLocation =
  | { readonly kind: "oci"; readonly path: string; readonly tag?: string }
  | { readonly kind: "oci-archive"; readonly path: string; readonly tag?: string }
  | { readonly kind: "docker-archive"; readonly path: string; readonly ref?: string }
  | { readonly kind: "registry"; readonly ref: ImageRef }
  | { readonly kind: "local"; readonly ref: ImageRef }
  /** A bare reference: the local store when it has the image, else the registry. */
  | { readonly kind: "bare"; readonly ref: ImageRef; readonly explicitRegistry: boolean }
  /** A bare digest (`sha256:<hex>`): the image with that digest in the local store, only. */
  | { readonly kind: "digest"; readonly digest: Digest };

function splitPath(rest: string): { path: string; suffix?: string } {
  const i = rest.indexOf(":");
  return i < 0 ? { path: rest } : { path: rest.slice(0, i), suffix: rest.slice(i + 1) };
}

/** What a user means as a bare digest, well formed or not (`sha256:…`, `SHA512:…`). */
const DIGEST_LIKE = /^sha(256|384|512):/i;

/**
 * Parses `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:REF]`,
 * `docker://REF` (or `registry:REF`), `local:REF`, or a bare reference.
 * @throws OciError OCI_TRANSPORT_UNKNOWN, OCI_INVALID_REFERENCE; ToolError CORE_INVALID_DIGEST for
 *   a malformed bare digest
 */
export function parseImageLocation(s: string): ImageLocation {
  if (isDigest(s)) {
    return { kind: "digest", digest: s };
  }
  if (DIGEST_LIKE.test(s)) {
    // a digest, mistyped: never a repository named "sha256" on Docker Hub
    return { kind: "digest", digest: parseDigest(s) };
  }
  const m = /^([a-z][a-z-]*):(\/\/)?(.*)$/.exec(s);
  const scheme = m?.[1];
  const rest = m?.[3] ?? "";
  switch (scheme) {
    case "oci":
    case "oci-layout": {
      const { path, suffix } = splitPath(rest);
      return { kind: "oci", path: need(path, s), ...(suffix ? { tag: suffix } : {}) };
    }
    case "oci-archive": {
      const { path, suffix } = splitPath(rest);
      return { kind: "oci-archive", path: need(path, s), ...(suffix ? { tag: suffix } : {}) };
    }
    case "docker-archive": {
      const { path, suffix } = splitPath(rest);
      return { kind: "docker-archive", path: need(path, s), ...(suffix ? { ref: suffix } : {}) };
    }
    case "docker":
    case "registry":
      return { kind: "registry", ref: parseImageRef(rest) };
    case "local":
      return DIGEST_LIKE.test(rest)
        ? { kind: "digest", digest: parseDigest(rest) }
        : { kind: "local", ref: parseImageRef(rest) };
    case "dir":
      throw new OciError("OCI_TRANSPORT_UNKNOWN", `"${s}" is a directory, not an image`, {
        hint: "dir: is accepted by commands that read a filesystem (sbom, scan), not by image commands",
      });
    default:
      break;
  }
  // Anything else ("myapp:1.0", "localhost:5000/app") is an image reference.
  const ref = parseImageRef(s);
  const first = s.split("/")[0] ?? "";
  const explicitRegistry = s.includes("/") && (/[.:]/.test(first) || first === "localhost");
  return { kind: "bare", ref, explicitRegistry };
}

function need(path: string, s: string): string {
  if (!path) {
    throw new OciError("OCI_INVALID_REFERENCE", `"${s}" names no path`);
  }
  return path;
}

/** What opening a location needs. */
export interface OpenContext {
  readonly local: LocalImageStore;
  readonly insecure?: boolean;
  readonly credentials?: CredentialLookup;
}

/**
 * Opens a location for reading.
 * @throws OciError
 */
export async function openSource(loc: ImageLocation, ctx: OpenContext): Promise<ImageSource> {
  switch (loc.kind) {
    case "oci":
      return new LayoutSource(new DirectoryFiles(loc.path, `oci layout ${loc.path}`), loc.tag);
    case "oci-archive":
      return openOciArchive(loc.path, loc.tag);
    case "docker-archive":
      return DockerArchiveSource.open(loc.path, loc.ref);
    case "registry":
      return new RegistrySource(new RegistryClient(loc.ref, registryOpts(ctx)));
    case "local": {
      const img = await ctx.local.find(loc.ref);
      if (!img) {
        throw new OciError(
          "OCI_MANIFEST_UNKNOWN",
          `no image ${formatImageRef(loc.ref)} in the local store`,
          {
            hint: "list images with: cleanimg-init image ls",
          },
        );
      }
      return ctx.local.source(img);
    }
    case "digest": {
      const img = await ctx.local.findDigest(loc.digest);
      if (!img) {
        throw new OciError(
          "OCI_MANIFEST_UNKNOWN",
          `no image with digest ${loc.digest} in the local image store`,
          {
            hint: "a bare digest names an image of the local store (cleanimg-init image ls); give NAME@DIGEST or docker://NAME@DIGEST for a registry",
          },
        );
      }
      return ctx.local.source(img);
    }
    case "bare": {
      const img = await ctx.local.find(loc.ref);
      if (img) {
        return ctx.local.source(img);
      }
      return new RegistrySource(
        new RegistryClient(loc.ref, registryOpts(ctx)),
        " (not in the local image store)",
      );
    }
  }
}

/** Opens a location for writing. A bare reference without a registry host goes to the local store. */
export function openDestination(loc: ImageLocation, ctx: OpenContext): ImageDestination {
  switch (loc.kind) {
    case "oci":
      return new LayoutDestination(loc.path, loc.tag ? { refName: loc.tag } : {});
    case "oci-archive":
      return new OciArchiveDestination(loc.path, loc.tag);
    case "docker-archive":
      return new DockerArchiveDestination(loc.path, loc.ref);
    case "registry":
      return new RegistryDestination(new RegistryClient(loc.ref, registryOpts(ctx)));
    case "local":
      return ctx.local.destination(loc.ref);
    case "digest":
      throw new OciError(
        "OCI_INVALID_REFERENCE",
        `${loc.digest} names an image by its content: nothing can be written to it`,
        { hint: "write to a name (NAME:TAG) instead" },
      );
    case "bare":
      return loc.explicitRegistry
        ? new RegistryDestination(new RegistryClient(loc.ref, registryOpts(ctx)))
        : ctx.local.destination(loc.ref);
  }
}

function registryOpts(ctx: OpenContext): { insecure?: boolean; credentials?: CredentialLookup } {
  return {
    ...(ctx.insecure ? { insecure: true } : {}),
    ...(ctx.credentials ? { credentials: ctx.credentials } : {}),
  };
}
