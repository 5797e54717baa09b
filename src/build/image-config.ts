import { MediaType } from "../oci/index.js";
import type { AssembledImage, AssembleOptions, LayerSet } from "./layers.js";
import type { BuildSpec } from "./spec.js";

const INHERITED = [
  "User",
  "Env",
  "Entrypoint",
  "Cmd",
  "WorkingDir",
  "ExposedPorts",
  "Labels",
  "StopSignal",
] as const;

/** The runtime configuration: the base's, with the spec's fields over it. */
export function runtimeConfig(
  spec: BuildSpec,
  bc: Record<string, unknown>,
): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  for (const k of INHERITED) {
    if (bc[k] !== undefined) {
      cfg[k] = bc[k];
    }
  }
  if (spec.env.length && Array.isArray(bc["Env"])) {
    // the spec's variables replace the base's of the same name
    const names = new Set(spec.env.map((e) => e.slice(0, e.indexOf("="))));
    cfg["Env"] = [
      ...(bc["Env"] as string[]).filter((e) => !names.has(e.slice(0, e.indexOf("=")))),
      ...spec.env,
    ];
  }
  if (spec.user) {
    cfg["User"] = spec.user;
  }
  if (spec.env.length && !Array.isArray(bc["Env"])) {
    cfg["Env"] = spec.env;
  }
  if (spec.entrypoint) {
    cfg["Entrypoint"] = spec.entrypoint;
  }
  if (spec.cmd) {
    cfg["Cmd"] = spec.cmd;
  }
  if (spec.workdir) {
    cfg["WorkingDir"] = spec.workdir;
  }
  if (spec.ports.length) {
    cfg["ExposedPorts"] = {
      ...((bc["ExposedPorts"] as Record<string, unknown> | undefined) ?? {}),
      ...Object.fromEntries(spec.ports.map((p) => [p, {}])),
    };
  }
  if (Object.keys(spec.labels).length) {
    cfg["Labels"] = {
      ...((bc["Labels"] as Record<string, string> | undefined) ?? {}),
      ...spec.labels,
    };
  }
  return cfg;
}

export function configBytes(
  o: AssembleOptions,
  created: string,
  layerSets: readonly LayerSet[],
  layers: AssembledImage["layers"],
): Uint8Array {
  const baseImg = o.base?.image;
  return new TextEncoder().encode(
    JSON.stringify({
      created,
      architecture: o.spec.architecture,
      os: "linux",
      config: runtimeConfig(o.spec, (baseImg?.config.config ?? {}) as Record<string, unknown>),
      rootfs: {
        type: "layers",
        diff_ids: [...(baseImg?.layers ?? []).map((l) => l.diffId), ...layers.map((l) => l.diffId)],
      },
      history: [
        ...(baseImg?.config.history ?? []),
        ...layerSets.map((s) => ({ created, created_by: s.createdBy })),
      ],
    }),
  );
}

export function manifestBytes(
  o: AssembleOptions,
  created: string,
  config: { digest: string; size: number },
  baseLayers: readonly { mediaType: string; digest: string; size: number }[],
  layers: AssembledImage["layers"],
): Uint8Array {
  const baseImg = o.base?.image;
  return new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size },
      layers: [
        ...baseLayers,
        ...layers.map((l) => ({
          mediaType: MediaType.OciLayerGzip,
          digest: l.digest,
          size: l.size,
        })),
      ],
      annotations: {
        "org.opencontainers.image.created": created,
        ...(o.base && baseImg
          ? {
              "org.opencontainers.image.base.digest": baseImg.descriptor.digest,
              "org.opencontainers.image.base.name": o.base.name,
            }
          : {}),
        ...o.spec.annotations,
      },
    }),
  );
}
