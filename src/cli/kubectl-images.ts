#!/usr/bin/env node
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { Command } from "commander";
import { ChainCache, createAppContext, type FleetRow, fleetStatus } from "../app/index.js";
import { type Digest, isDigest } from "../core/digest.js";
import { type Column, columnsTable, FLEET_COLUMNS } from "./render/table.js";

/**
 * `kubectl images --compliance-status`: the images of running pods (read from the cluster in the
 * user's kubeconfig with the Kubernetes client library), joined with their compliance status
 * from a cleanimg server (--server, with a reader token) or the local evidence store, in the
 * design's columns. The digest that runs is taken from the pod's status (imageID), else from a
 * digest-pinned spec; an image whose running digest is unknown, or that has no evidence, says so.
 */

interface Running {
  readonly image: string;
  /** Candidate digests: what the kubelet reports running first, then the spec's pin. */
  readonly digests: readonly Digest[];
  readonly pods: Set<string>;
}

const digestIn = (s: string | undefined): Digest | undefined => {
  const at = s?.lastIndexOf("@") ?? -1;
  const d = at >= 0 ? s?.slice(at + 1) : s;
  return d && isDigest(d) ? d : undefined;
};

/** Every container image of the pods, by image reference and running digest. */
export function runningImages(pods: readonly V1Pod[]): Running[] {
  const byKey = new Map<string, Running>();
  for (const p of pods) {
    const pod = `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;
    const statuses = [
      ...(p.status?.initContainerStatuses ?? []),
      ...(p.status?.containerStatuses ?? []),
      ...(p.status?.ephemeralContainerStatuses ?? []),
    ];
    const specs = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])];
    for (const c of specs) {
      const st = statuses.find((s) => s.name === c.name);
      const digests = [digestIn(st?.imageID), digestIn(c.image)].filter(
        (d, i, a): d is Digest => d !== undefined && a.indexOf(d) === i,
      );
      const key = `${c.image ?? ""}\n${digests.join(",")}`;
      const r = byKey.get(key) ?? { image: c.image ?? "", digests, pods: new Set<string>() };
      r.pods.add(pod);
      byKey.set(key, r);
    }
  }
  return [...byKey.values()].sort((a, b) => (a.image < b.image ? -1 : 1));
}

export interface ImageRow {
  readonly image: string;
  readonly version: string;
  readonly digest: string;
  readonly slsa: string;
  readonly sbom: string;
  readonly vex: string;
  readonly signature: string;
  readonly chain: string;
  readonly fedramp: string;
  readonly pods: number;
}

/** Joins running images with fleet rows by digest. */
export function joinStatus(running: readonly Running[], fleet: readonly FleetRow[]): ImageRow[] {
  const byDigest = new Map(fleet.map((r) => [r.digest, r]));
  return running.map((r) => {
    const ref = r.image.split("@")[0] ?? r.image;
    const colon = ref.lastIndexOf(":");
    const tagged = colon > ref.lastIndexOf("/");
    const name = tagged ? ref.slice(0, colon) : ref;
    const version = tagged ? ref.slice(colon + 1) : "-";
    const d = r.digests.find((x) => byDigest.has(x));
    const f = d ? byDigest.get(d) : undefined;
    if (!f) {
      return {
        image: name,
        version,
        digest: r.digests[0] ?? "unknown",
        slsa: "-",
        sbom: "-",
        vex: "-",
        signature: "-",
        chain: r.digests.length ? "no evidence" : "digest unknown",
        fedramp: "UNKNOWN",
        pods: r.pods.size,
      };
    }
    // only a verified row (its signature and chain checked) is shown signed or ready
    if (f.verified !== true) {
      return {
        image: name,
        version,
        digest: f.digest,
        slsa: f.slsa,
        sbom: `? ${f.sbom}`,
        vex: `? ${f.vex}`,
        signature: `? ${f.signature}`,
        chain: f.chain,
        fedramp: f.ready === "NOT READY" ? "NOT READY" : "UNVERIFIED",
        pods: r.pods.size,
      };
    }
    return {
      image: name,
      version,
      digest: f.digest,
      slsa: f.slsa,
      sbom: f.sbom === "signed" ? "✓" : `✗ ${f.sbom}`,
      vex: f.vex === "complete" ? "✓" : `✗ ${f.vex}`,
      signature: f.signature === "signed" ? "✓" : `✗ ${f.signature}`,
      chain: f.chain,
      fedramp: f.ready === "ready" ? "READY" : "NOT READY",
      pods: r.pods.size,
    };
  });
}

async function fleetFrom(
  o: { server?: string; token?: string },
  env: NodeJS.ProcessEnv,
): Promise<FleetRow[]> {
  if (o.server) {
    const token = o.token ?? env["CLEANIMG_TOKEN"];
    if (!token) {
      throw new Error(
        "--server needs a reader token: --token or CLEANIMG_TOKEN (cleanimg-init token create --role reader)",
      );
    }
    const r = await fetch(`${o.server.replace(/\/$/, "")}/v1/images`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await r.json().catch(() => ({}))) as { images?: FleetRow[]; detail?: string };
    if (!r.ok || !body.images) {
      throw new Error(`${o.server}: ${r.status} ${body.detail ?? r.statusText}`);
    }
    return body.images;
  }
  const ctx = createAppContext({
    env,
    ...(env["CLEANIMG_STORE"] ? { store: env["CLEANIMG_STORE"] } : {}),
  });
  try {
    const chains = new ChainCache(ctx);
    return await fleetStatus(ctx, { verify: (d) => chains.verify(d) });
  } finally {
    await ctx.close();
  }
}

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const program = new Command("kubectl-images")
    .description("images of running pods with their cleanimg compliance status")
    .option("--compliance-status", "join each image with its compliance status (the default)")
    .option("-n, --namespace <ns>", "only this namespace (default: the kubeconfig context's)")
    .option("-A, --all-namespaces", "every namespace")
    .option("--kubeconfig <file>", "kubeconfig (default $KUBECONFIG, else ~/.kube/config)")
    .option("--server <url>", "a cleanimg server (default: the local evidence store)")
    .option("--token <token>", "the server's reader token (default $CLEANIMG_TOKEN)")
    .option("-o, --output <format>", "table or json", "table")
    .exitOverride();
  program.parse([...argv]);
  const o = program.opts<{
    namespace?: string;
    allNamespaces?: boolean;
    kubeconfig?: string;
    server?: string;
    token?: string;
    output: string;
  }>();
  const kc = new KubeConfig();
  if (o.kubeconfig) {
    kc.loadFromFile(o.kubeconfig);
  } else {
    kc.loadFromDefault();
  }
  const api = kc.makeApiClient(CoreV1Api);
  const ns = o.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  const pods = o.allNamespaces
    ? await api.listPodForAllNamespaces()
    : await api.listNamespacedPod({ namespace: ns });
  const rows = joinStatus(runningImages(pods.items), await fleetFrom(o, env));
  if (o.output === "json") {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else {
    const columns: Column<ImageRow>[] = [
      ...FLEET_COLUMNS,
      ["CHAIN", (r) => r.chain],
      ["FEDRAMP", (r) => r.fedramp],
      ["PODS", (r) => String(r.pods)],
      ["DIGEST", (r) => r.digest.slice(0, 19)],
    ];
    process.stdout.write(
      rows.length === 0
        ? `no pods in ${o.allNamespaces ? "the cluster" : `namespace ${ns}`}\n`
        : `${columnsTable(rows, columns).join("\n")}\n`,
    );
  }
  return rows.every((r) => r.fedramp === "READY") ? 0 : 1;
}

const invoked = process.argv[1] ?? "";
if (/kubectl-images(\.[jt]s)?$/.test(invoked)) {
  run(process.argv, process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const err = e as { code?: string; message?: string; body?: unknown };
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") {
        process.exitCode = 0;
        return;
      }
      process.stderr.write(`kubectl-images: ${err.message ?? String(e)}\n`);
      process.exitCode = 3;
    },
  );
}
