import { randomUUID } from "node:crypto";

/**
 * AdmissionReview v1 request bodies as the Kubernetes API server sends them
 * (admission.k8s.io/v1; objects in their apps/v1, batch/v1 and v1 shapes).
 */

const GVR: Record<string, { group: string; version: string; resource: string }> = {
  Pod: { group: "", version: "v1", resource: "pods" },
  Deployment: { group: "apps", version: "v1", resource: "deployments" },
  StatefulSet: { group: "apps", version: "v1", resource: "statefulsets" },
  DaemonSet: { group: "apps", version: "v1", resource: "daemonsets" },
  ReplicaSet: { group: "apps", version: "v1", resource: "replicasets" },
  Job: { group: "batch", version: "v1", resource: "jobs" },
  CronJob: { group: "batch", version: "v1", resource: "cronjobs" },
};

export const WORKLOAD_KINDS = Object.keys(GVR);

export interface Images {
  readonly containers: readonly string[];
  readonly initContainers?: readonly string[];
}

function podSpec(images: Images): Record<string, unknown> {
  return {
    ...(images.initContainers
      ? {
          initContainers: images.initContainers.map((image, i) => ({
            name: `init-${i}`,
            image,
            resources: {},
            terminationMessagePath: "/dev/termination-log",
            terminationMessagePolicy: "File",
            imagePullPolicy: "IfNotPresent",
          })),
        }
      : {}),
    containers: images.containers.map((image, i) => ({
      name: `app-${i}`,
      image,
      ports: [{ containerPort: 8080, protocol: "TCP" }],
      resources: { limits: { memory: "128Mi" } },
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
      imagePullPolicy: "IfNotPresent",
    })),
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    serviceAccountName: "default",
    securityContext: {},
    schedulerName: "default-scheduler",
  };
}

/** The object of a workload kind with these images. */
export function workload(kind: string, name: string, namespace: string, images: Images): unknown {
  const meta = { name, namespace, labels: { app: name } };
  const template = { metadata: { labels: { app: name } }, spec: podSpec(images) };
  const g = GVR[kind];
  if (!g) {
    throw new Error(`no such kind ${kind}`);
  }
  const apiVersion = g.group ? `${g.group}/${g.version}` : g.version;
  switch (kind) {
    case "Pod":
      return { apiVersion, kind, metadata: meta, spec: podSpec(images) };
    case "CronJob":
      return {
        apiVersion,
        kind,
        metadata: meta,
        spec: {
          schedule: "*/5 * * * *",
          concurrencyPolicy: "Forbid",
          jobTemplate: {
            spec: {
              template: { ...template, spec: { ...podSpec(images), restartPolicy: "OnFailure" } },
            },
          },
        },
      };
    case "Job":
      return {
        apiVersion,
        kind,
        metadata: meta,
        spec: {
          backoffLimit: 4,
          template: { ...template, spec: { ...podSpec(images), restartPolicy: "Never" } },
        },
      };
    default:
      return {
        apiVersion,
        kind,
        metadata: meta,
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: name } },
          ...(kind === "StatefulSet" ? { serviceName: name } : {}),
          template,
        },
      };
  }
}

/** An AdmissionReview v1 request for creating the workload. */
export function admissionReview(
  kind: string,
  images: Images,
  opts: { namespace?: string; name?: string; dryRun?: boolean; operation?: string } = {},
): { apiVersion: string; kind: string; request: Record<string, unknown> } {
  const namespace = opts.namespace ?? "shop";
  const name = opts.name ?? `${kind.toLowerCase()}-web`;
  const g = GVR[kind] as { group: string; version: string; resource: string };
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: randomUUID(),
      kind: { group: g.group, version: g.version, kind },
      resource: { group: g.group, version: g.version, resource: g.resource },
      requestKind: { group: g.group, version: g.version, kind },
      requestResource: { group: g.group, version: g.version, resource: g.resource },
      name,
      namespace,
      operation: opts.operation ?? "CREATE",
      userInfo: {
        username: "system:serviceaccount:ci:deployer",
        uid: "3a8c7c1e-2f5e-4c4b-9e0e-0b8f2c1d4e5f",
        groups: ["system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"],
      },
      object: workload(kind, name, namespace, images),
      oldObject: null,
      dryRun: opts.dryRun ?? false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  };
}
