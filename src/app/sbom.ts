import { readFile } from "node:fs/promises";
import { latestLink, type RecordedLink, recordChainLink } from "../chain/index.js";
import { SbomError, UsageError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import { openSource, type Platform, parseImageLocation, resolveImage } from "../oci/index.js";
import {
  type BuildInfo,
  CATALOGERS,
  catalogFilesystem,
  catalogInterest,
  catalogReduce,
  catalogSniffers,
  checkNtiaMinimumElements,
  ELF_DYNAMIC_SNIFFER,
  executionClosure,
  type NtiaIssue,
  type RuntimeContext,
  readSbom,
  renderSbom,
  SBOM_FORMAT_ALIASES,
  SBOM_FORMATS,
  type Sbom,
  type SbomFormat,
  sbomMediaType,
} from "../sbom/index.js";
import { DirectoryResolver, ImageFilesystem, ImageResolver } from "../source/index.js";
import type { EvidenceLink } from "../store/index.js";
import type { AppContext } from "./context.js";
import { catalogCacheKey, evidenceLayerCache } from "./layer-cache.js";

import { TOOL } from "./names.js";

export { TOOL };

export interface SbomOptions {
  readonly format?: SbomFormat;
  readonly platform?: Platform;
  /** Creation time; default now. The CLI passes SOURCE_DATE_EPOCH when set. */
  readonly created?: Date;
  readonly record?: boolean;
  readonly limits?: Partial<Limits>;
  /** Reuse and record layer readings in the evidence store (default true). */
  readonly layerCache?: boolean;
  /** The build that produced the image, when the SBOM is made by it (SPDX 3 Build profile). */
  readonly build?: BuildInfo;
}

export interface SbomResult {
  readonly sbom: Sbom;
  readonly format: SbomFormat;
  readonly document: string;
  readonly quality: readonly NtiaIssue[];
  readonly evidence?: EvidenceLink;
  /** The signed chain link recorded for the SBOM (images, when recording). */
  readonly link?: RecordedLink;
}

/** Parses a format name. @throws UsageError CLI_USAGE */
export function parseSbomFormat(s: string): SbomFormat {
  if ((SBOM_FORMATS as readonly string[]).includes(s)) {
    return s as SbomFormat;
  }
  const alias = Object.hasOwn(SBOM_FORMAT_ALIASES, s) ? SBOM_FORMAT_ALIASES[s] : undefined;
  if (alias) {
    return alias;
  }
  throw new UsageError("CLI_USAGE", `unknown SBOM format "${s}"`, {
    hint: `one of ${SBOM_FORMATS.join(", ")} (or ${Object.keys(SBOM_FORMAT_ALIASES).join(", ")})`,
  });
}

/**
 * Catalogs an image (any location) or a directory (`dir:PATH`), or reads an SBOM made by
 * another tool (`sbom:FILE`), and renders it in the format asked for.
 * Side effects: for images, records the SBOM as evidence linked to the manifest digest,
 * unless `record` is false.
 */
export async function generateSbom(
  ctx: AppContext,
  ref: string,
  opts: SbomOptions = {},
): Promise<SbomResult> {
  const format = opts.format ?? "spdx-3";
  const created = `${(opts.created ?? new Date()).toISOString().slice(0, 19)}Z`;
  let sbom: Sbom;
  if (ref.startsWith("sbom:")) {
    const path = ref.slice(5);
    const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new SbomError("SBOM_INVALID", `cannot read ${path}: ${e.code ?? e.message}`, {
        cause: e,
      });
    });
    sbom = readSbom(new Uint8Array(bytes), path).sbom;
  } else if (ref.startsWith("dir:")) {
    const path = ref.slice(4);
    const resolver = await DirectoryResolver.open(path);
    sbom = await catalogFilesystem(resolver, { kind: "directory", path }, { created, tool: TOOL });
  } else {
    const src = await openSource(parseImageLocation(ref), ctx);
    try {
      const img = await resolveImage(src, opts.platform ? { platform: opts.platform } : {});
      ctx.progress(`cataloguing ${img.layers.length} layers of ${img.source.description}`);
      const fs = await ImageFilesystem.open(img, {
        ...(opts.limits ? { limits: opts.limits } : {}),
        collect: {
          match: catalogInterest(),
          reduce: catalogReduce(),
          maxFileBytes: 64 * 1024 * 1024,
        },
        sniff: [...catalogSniffers(), ELF_DYNAMIC_SNIFFER],
        ...(opts.layerCache === false || opts.record === false
          ? {}
          : {
              layerCache: evidenceLayerCache(ctx.evidence()),
              cacheKey: catalogCacheKey([
                "reader 2",
                ...CATALOGERS.map((c) => `${c.id}@${c.version}`),
                `${ELF_DYNAMIC_SNIFFER.id}@1`,
                "maxFileBytes 67108864",
                JSON.stringify(opts.limits ?? {}),
              ]),
            }),
      });
      const catalogued = await catalogFilesystem(
        new ImageResolver(fs),
        {
          kind: "image",
          // the transport prefix only: "static:1.0.0" is a name and a tag, not a transport
          name: ref.replace(
            /^(?:docker|registry|oci|oci-archive|docker-archive|local):(?:\/\/)?/,
            "",
          ),
          manifestDigest: img.descriptor.digest,
          configDigest: img.manifest.config.digest,
          layers: img.layers.map((l) => l.diffId),
          ...(img.config.architecture ? { architecture: img.config.architecture } : {}),
          ...(img.config.os ? { os: img.config.os } : {}),
        },
        { created, tool: TOOL },
      );
      sbom = {
        ...catalogued,
        runtime: runtimeContext(img.config.config ?? {}, fs, img.config.architecture),
        ...(opts.build ? { build: opts.build } : {}),
      };
    } finally {
      await src.close();
    }
  }
  const document = renderSbom(sbom, format);
  let evidence: EvidenceLink | undefined;
  let link: RecordedLink | undefined;
  if (opts.record !== false && sbom.subject.kind === "image") {
    const store = ctx.evidence();
    const image = sbom.subject.manifestDigest;
    const d = await store.putBlob(new TextEncoder().encode(document), sbomMediaType(format));
    evidence = await store.link(image, d, "sbom", {
      format,
      packages: String(sbom.packages.length),
    });
    const provenance = await latestLink(ctx, image, "provenance");
    link = await recordChainLink(ctx, {
      image: { name: sbom.subject.name, digest: image },
      stage: "sbom",
      evidence: {
        digest: d,
        mediaType: sbomMediaType(format),
        predicateType: sbomPredicateType(format),
      },
      previous: provenance ? [provenance] : [],
      inputs: { format, packages: String(sbom.packages.length) },
      tool: `${TOOL.name} ${TOOL.version}`,
    });
  }
  return {
    sbom,
    format,
    document,
    quality: checkNtiaMinimumElements(sbom),
    ...(evidence ? { evidence } : {}),
    ...(link ? { link } : {}),
  };
}

/** The in-toto predicate type the SBOM format is known by (as cosign and in-toto name them). */
export function sbomPredicateType(format: SbomFormat): string {
  switch (format) {
    case "spdx-3":
      return "https://spdx.dev/Document/v3";
    case "spdx-2.3":
      return "https://spdx.dev/Document/v2.3";
    default:
      return "https://cyclonedx.org/bom";
  }
}

const SHELLS = ["/bin/sh", "/bin/bash", "/bin/dash", "/bin/ash", "/bin/zsh", "/bin/busybox"];
const PACKAGE_MANAGERS = [
  "/usr/bin/apt-get",
  "/usr/bin/dpkg",
  "/sbin/apk",
  "/usr/bin/rpm",
  "/usr/bin/dnf",
  "/usr/bin/yum",
  "/usr/bin/microdnf",
  "/usr/bin/pip",
  "/usr/bin/pip3",
  "/usr/bin/npm",
  "/usr/local/bin/pip",
  "/usr/local/bin/npm",
];

/** How the image runs: its config's user, entrypoint and ports, and what a shell user would find. */
function runtimeContext(
  config: Readonly<Record<string, unknown>>,
  fs: ImageFilesystem,
  architecture?: string,
): RuntimeContext {
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  const exists = (p: string): boolean => {
    try {
      return fs.realpath(p) !== undefined;
    } catch {
      return false;
    }
  };
  const ports = config["ExposedPorts"];
  return {
    user: typeof config["User"] === "string" ? config["User"] : "",
    entrypoint: strings(config["Entrypoint"]),
    cmd: strings(config["Cmd"]),
    exposedPorts: ports && typeof ports === "object" ? Object.keys(ports).sort() : [],
    shells: SHELLS.filter(exists),
    packageManagers: PACKAGE_MANAGERS.filter(exists),
    closure: executionClosure(fs, {
      entrypoint: strings(config["Entrypoint"]),
      cmd: strings(config["Cmd"]),
      env: strings(config["Env"]),
      ...(architecture ? { architecture } : {}),
    }),
  };
}
