import type { Digest } from "../core/digest.js";
import { imagePurl, type Package, type Sbom } from "../sbom/index.js";
import type { Finding } from "../vuln/index.js";
import type { VexEvidence, VexStatement } from "./model.js";

export interface AnalyzeOptions {
  readonly dbSnapshot: Digest;
  readonly scan?: Digest;
  /** Statement author (OpenVEX `author`). */
  readonly author: string;
  /** When the statements were known true (the scan time). */
  readonly timestamp: string;
}

/** What one analysis concluded for one finding; undefined when it proves nothing. */
interface Conclusion {
  readonly justification: "component_not_present" | "vulnerable_code_not_present";
  readonly impact: string;
  readonly evidence: Omit<VexEvidence, "image" | "dbSnapshot" | "scan">;
}

type Analysis = (f: Finding, p: Package, sbom: Sbom) => Conclusion | undefined;

/**
 * component_not_present: every regular file the package database lists for the package is gone
 * from the final filesystem (a later layer deleted them without updating the database), and no
 * file with the same name exists elsewhere (the package was not merely moved).
 */
export const componentNotPresent: Analysis = (_f, p) => {
  const pr = p.presence;
  if (!pr || pr.checked === 0 || pr.present > 0 || (pr.elsewhere?.length ?? 0) > 0) {
    return undefined;
  }
  const db = p.locations.map((l) => ({
    path: l.path,
    ...(l.layer ? { layer: l.layer } : {}),
    observed: "package database entry still lists the package",
  }));
  return {
    justification: "component_not_present",
    impact: `${p.name} ${p.version} is still listed in the package database, but none of the ${pr.checked} regular files it installed exist in the final image filesystem (a later layer removed them) and no file of the same name exists elsewhere in the image.`,
    evidence: {
      analysis: "component-not-present@1",
      files: [...db, ...pr.missing.map((path) => ({ path, observed: "absent" }))],
      found: `0 of ${pr.checked} regular files of ${p.name} present; ${pr.missing.length} listed`,
    },
  };
};

const KERNEL_CODE = /^\/(usr\/)?(boot|lib\/modules)\//;

/**
 * vulnerable_code_not_present for kernel CVEs on the kernel header packages: linux-libc-dev and
 * friends ship the kernel's userspace API headers, not kernel code, and a container runs on its
 * host's kernel. Holds only when the package owns no kernel image or module.
 */
export const kernelHeadersOnly: Analysis = (f, p) => {
  if (!f.flags.includes("kernel-headers") || p.files.length === 0) {
    return undefined;
  }
  const kernelCode = p.files.filter((x) => KERNEL_CODE.test(x.path));
  if (kernelCode.length > 0) {
    return undefined;
  }
  const headers = p.files.filter((x) => x.path.endsWith(".h")).length;
  return {
    justification: "vulnerable_code_not_present",
    impact: `${p.name} (built from the Debian source package ${f.matchedAs.name}) contains only kernel headers for userspace (${headers} header files among ${p.files.length} paths, none under /boot or /lib/modules); a container runs on its host's kernel, so the vulnerable kernel code is not part of this image. The host kernel must be assessed separately.`,
    evidence: {
      analysis: "kernel-headers-only@1",
      files: p.locations.map((l) => ({
        path: l.path,
        ...(l.layer ? { layer: l.layer } : {}),
        observed: `lists ${p.files.length} paths for ${p.name}, ${headers} of them .h files, none a kernel image or module`,
      })),
      found: `${p.name} owns no file under /boot or /lib/modules`,
    },
  };
};

/** The analyses, in the order they are tried; the first that proves something decides. */
export const ANALYSES: readonly Analysis[] = [componentNotPresent, kernelHeadersOnly];

/**
 * One statement per finding. A finding is "not_affected" only when an analysis proves it and
 * records its evidence; otherwise it stays "affected" (with what to do) or, when the version could
 * not be evaluated, "under_investigation".
 */
export function analyzeFindings(
  sbom: Sbom,
  findings: readonly Finding[],
  opts: AnalyzeOptions,
  analyses: readonly Analysis[] = ANALYSES,
): VexStatement[] {
  if (sbom.subject.kind !== "image") {
    throw new TypeError("VEX statements need an image subject (the product is the image)");
  }
  const image = sbom.subject.manifestDigest;
  const product = { purl: imagePurl(sbom) as string, digest: image };
  const byId = new Map(sbom.packages.map((p) => [p.id, p]));
  return findings.map((f): VexStatement => {
    const p = byId.get(f.package.id);
    const base = {
      vulnerability: f.id,
      aliases: f.aliases,
      ...(f.summary ? { description: f.summary } : {}),
      product,
      subcomponent: { purl: f.package.purl, name: f.package.name, version: f.package.version },
      timestamp: opts.timestamp,
      author: opts.author,
    };
    if (p && f.status === "affected") {
      for (const a of analyses) {
        const c = a(f, p, sbom);
        if (c) {
          return {
            ...base,
            status: "not_affected",
            justification: c.justification,
            impact: c.impact,
            evidence: {
              ...c.evidence,
              image,
              dbSnapshot: opts.dbSnapshot,
              ...(opts.scan ? { scan: opts.scan } : {}),
            },
          };
        }
      }
    }
    if (f.status === "unknown") {
      return {
        ...base,
        status: "under_investigation",
        impact: `the installed version could not be evaluated against the advisory: ${f.reason}`,
      };
    }
    return {
      ...base,
      status: "affected",
      action: f.fixedIn
        ? `Update ${f.package.name} to ${f.fixedIn} or later.`
        : `No fixed version is known${f.distroStatus ? ` (distribution status: ${f.distroStatus})` : ""}; remove ${f.package.name} if it is not needed, or mitigate it and record that decision as a VEX statement.`,
    };
  });
}
