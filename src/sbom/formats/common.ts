import { sha256 } from "../../core/digest.js";
import type { Package, Sbom } from "../model.js";

/** A deterministic RFC 4122 version-5-shaped UUID from a seed (stable serial numbers and namespaces). */
export function stableUuid(seed: string): string {
  const h = sha256(seed).slice(7, 39).split("");
  h[12] = "5";
  h[16] = ((Number.parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16);
  const s = h.join("");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** Name of the subject for display (image reference or directory path). */
export function subjectName(sbom: Sbom): string {
  return sbom.subject.kind === "directory" ? sbom.subject.path : sbom.subject.name;
}

/** Version of the subject: the image manifest digest, or none for a directory. */
export function subjectVersion(sbom: Sbom): string | undefined {
  switch (sbom.subject.kind) {
    case "image":
      return sbom.subject.manifestDigest;
    case "document":
      return sbom.subject.version;
    default:
      return undefined;
  }
}

/** purl of an image (`pkg:oci/<name>@<digest>`), per the purl spec's oci type. */
export function imagePurl(sbom: Sbom): string | undefined {
  if (sbom.subject.kind !== "image") {
    return undefined;
  }
  const name = sbom.subject.name.split("/").pop()?.split(/[:@]/)[0] ?? "image";
  const repo = sbom.subject.name.split(/[@]/)[0]?.replace(/:[^/:]*$/, "");
  const digest = encodeURIComponent(sbom.subject.manifestDigest);
  const q: string[] = [];
  if (sbom.subject.architecture) {
    q.push(`arch=${encodeURIComponent(sbom.subject.architecture)}`);
  }
  if (repo?.includes("/")) {
    q.push(`repository_url=${encodeURIComponent(repo)}`);
  }
  return `pkg:oci/${encodeURIComponent(name.toLowerCase())}@${digest}${q.length ? `?${q.join("&")}` : ""}`;
}

/** Packages that the subject contains directly, and the packages each package contains. */
export function containment(sbom: Sbom): { top: Package[]; children: Map<string, Package[]> } {
  const byId = new Map(sbom.packages.map((p) => [p.id, p]));
  const children = new Map<string, Package[]>();
  const top: Package[] = [];
  for (const r of sbom.relationships) {
    if (r.type !== "contains") {
      continue;
    }
    const to = byId.get(r.to);
    if (!to) {
      continue;
    }
    if (r.from === "root") {
      top.push(to);
    } else {
      children.set(r.from, [...(children.get(r.from) ?? []), to]);
    }
  }
  return { top, children };
}

/** Parses "Name <email>" into its parts. */
export function parseContact(s: string): { name: string; email?: string } {
  const m = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(s);
  return m?.[2] ? { name: m[1] || m[2], email: m[2] } : { name: s.trim() };
}

/** True when a supplier string names a group rather than a person. */
export function isOrganization(name: string): boolean {
  return /\b(team|maintainers|project|developers|group|foundation|inc\.?|ltd|llc|gmbh|corporation)\b/i.test(
    name,
  );
}
