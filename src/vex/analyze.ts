import type { Digest } from "../core/digest.js";
import { imagePurl, type Package, type RuntimeContext, type Sbom } from "../sbom/index.js";
import type { Finding, OsvRecord } from "../vuln/index.js";
import { goSymbolIndex } from "./go-symbols.js";
import type { VexEvidence, VexStatement } from "./model.js";

export interface AnalyzeOptions {
  readonly dbSnapshot: Digest;
  readonly scan?: Digest;
  /** Statement author (OpenVEX `author`). */
  readonly author: string;
  /** When the statements were known true (the scan time). */
  readonly timestamp: string;
  /** The advisory records of the findings, by id (symbol-level analyses read them). */
  readonly records?: ReadonlyMap<string, OsvRecord>;
}

/** What one analysis concluded for one finding; undefined when it proves nothing. */
interface Conclusion {
  readonly justification:
    | "component_not_present"
    | "vulnerable_code_not_present"
    | "vulnerable_code_not_in_execute_path";
  readonly impact: string;
  readonly evidence: Omit<VexEvidence, "image" | "dbSnapshot" | "scan">;
}

type Analysis = (
  f: Finding,
  p: Package,
  sbom: Sbom,
  records?: ReadonlyMap<string, OsvRecord>,
) => Conclusion | undefined;

/** Absent paths named in one statement's evidence; the check itself covers every file. */
const MAX_EVIDENCE_FILES = 25;

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
      files: [
        ...db,
        ...pr.missing.slice(0, MAX_EVIDENCE_FILES).map((path) => ({ path, observed: "absent" })),
      ],
      found: `0 of ${pr.checked} regular files of ${p.name} present${pr.missing.length > MAX_EVIDENCE_FILES ? `; the first ${MAX_EVIDENCE_FILES} absent paths are listed` : ""}`,
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

interface GoImport {
  readonly path?: string;
  readonly symbols?: readonly string[];
  readonly goos?: readonly string[];
  readonly goarch?: readonly string[];
}

/**
 * Whether an import applies to the binary's target: an import limited to other systems or
 * architectures (`goos`, `goarch`) does not, as govulncheck reads it. The target is the one the
 * build info records (on the binary's standard library); an unknown target counts as matching.
 */
function forTarget(imp: GoImport, p: Package, sbom: Sbom): boolean {
  if (!imp.goos?.length && !imp.goarch?.length) {
    return true;
  }
  const path = p.locations[0]?.path;
  const std =
    p.name === "stdlib"
      ? p
      : sbom.packages.find(
          (q) => q.type === "golang" && q.name === "stdlib" && q.locations[0]?.path === path,
        );
  const os = std?.properties?.["go:build:GOOS"];
  const arch = std?.properties?.["go:build:GOARCH"];
  return (
    !(os && imp.goos?.length && !imp.goos.includes(os)) &&
    !(arch && imp.goarch?.length && !imp.goarch.includes(arch))
  );
}

/** Packages nearly every Go program links: readable names of them mean unrewritten names. */
const COMMON_STD = ["os", "sync", "errors", "io", "fmt", "strconv"];

/**
 * vulnerable_code_not_present for Go: the advisory names the vulnerable packages and functions
 * (`ecosystem_specific.imports`), and none of them is in the binary's function name table
 * (pclntab, which stripping keeps; the linker writes into it every function and every function
 * inlined into another, so code present only as inlined copies is found too). Names are compared
 * as govulncheck compares them (`goSymbolOf`), exactly. An import without a symbol list counts as
 * present when any function of that package is linked in. An advisory without imports proves
 * nothing.
 */
export const goSymbolsAbsent: Analysis = (f, p, sbom, records) => {
  const rec = records?.get(f.id);
  if (p.type !== "golang" || !p.symbols || !rec) {
    return undefined;
  }
  const entries = (rec.affected ?? []).filter(
    (a) => a.package?.ecosystem === "Go" && a.package.name === f.matchedAs.name,
  );
  const imports = entries.flatMap(
    (a) => (a.ecosystem_specific?.["imports"] as GoImport[] | undefined) ?? [],
  );
  if (entries.length === 0 || imports.length === 0 || imports.some((i) => !i.path)) {
    return undefined;
  }
  const names = p.symbols.names;
  const index = goSymbolIndex(names);
  // A module the build info lists but no package of which has a function means the names were
  // rewritten (an obfuscator) or cannot be trusted: absence proves nothing then. For the
  // standard library: readable names of packages nearly every program links (an obfuscator
  // rewrites those too; a program that links none of them is not judged).
  const module = f.matchedAs.name;
  const pkgs = [...index.keys()];
  const readable =
    module === "stdlib"
      ? COMMON_STD.some((k) => index.has(k))
      : pkgs.some((k) => k === module || k.startsWith(`${module}/`));
  if (!readable) {
    return undefined;
  }
  const wanted: string[] = [];
  const otherTargets: string[] = [];
  for (const imp of imports) {
    const path = imp.path as string;
    if (!forTarget(imp, p, sbom)) {
      otherTargets.push(
        `${path} (${[...(imp.goos ?? []), ...(imp.goarch ?? [])].join(", ")} only)`,
      );
      continue;
    }
    const have = index.get(path);
    const syms = imp.symbols ?? [];
    wanted.push(...(syms.length ? syms.map((sym) => `${path}.${sym}`) : [`${path} (any)`]));
    if (have && (syms.length === 0 || syms.some((sym) => have.has(sym)))) {
      return undefined;
    }
  }
  const binary = p.locations[0];
  if (!binary) {
    return undefined;
  }
  const skipped = otherTargets.length
    ? ` The advisory's code for other targets is not compiled for this binary's (${otherTargets.join("; ")}).`
    : "";
  return {
    justification: "vulnerable_code_not_present",
    impact: `none of the vulnerable functions the advisory lists for this binary's target (${wanted.join(", ") || "none"}) is in the function name table of ${binary.path} (${names.length} names of ${index.size} packages; the Go linker lists every function there and every function inlined into another, so code linked only as inlined copies counts as present), so that code was not linked into the binary. Names are compared as govulncheck compares them: a method on T or *T is T.M, a generic instantiation is its generic function, escaped package paths are unescaped, and closures (F.func1) and method values (M-fm) are not F or M. The names are the ones the Go linker wrote; a binary whose names were rewritten afterwards is outside what this analysis can judge.${skipped}`,
    evidence: {
      analysis: "go-symbols@2",
      files: [
        {
          path: binary.path,
          ...(binary.layer ? { layer: binary.layer } : {}),
          observed: `${p.symbols.table}: ${names.length} function names (inlined functions included) in ${index.size} packages, none of ${wanted.join(", ")}`,
        },
      ],
      found: `0 of ${wanted.length} vulnerable symbols of ${f.matchedAs.name} present${otherTargets.length ? `; ${otherTargets.length} imports for other targets` : ""}`,
    },
  };
};

const SHARED_OBJECT = /\.so(\.[0-9.]+)?$/;
const PROGRAM_DIR = /^\/(usr\/)?(local\/)?s?bin\//;
/** Modules that glibc or PAM load on their own, without the program asking (NSS, gconv, PAM). */
const SELF_LOADED = /(^|\/)(libnss_|libnsl\.|gconv\/|security\/pam_|libpam)/;
const base = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

/**
 * vulnerable_code_not_in_execute_path for a library package: the image's entrypoint is an ELF
 * program whose whole load closure (ELF interpreter and DT_NEEDED libraries, transitively, as
 * ld.so finds them) was read, no object in it imports dlopen or a call that starts other programs
 * (exec*, system, popen, posix_spawn), and none of the package's shared objects is in it. Packages
 * that ship programs, NSS/gconv/PAM modules, or no shared object at all are not judged; a script
 * entrypoint, an unread object or a missing library gives no verdict.
 */
export const notInExecutePath: Analysis = (_f, p, sbom) => {
  const c = sbom.runtime?.closure;
  if (c?.status !== "complete" || !c.program || !["deb", "rpm", "apk"].includes(p.type)) {
    return undefined;
  }
  const libs = p.files.filter((x) => SHARED_OBJECT.test(x.path));
  if (
    libs.length === 0 ||
    p.files.some((x) => PROGRAM_DIR.test(x.path) || SELF_LOADED.test(x.path)) ||
    c.objects.some((o) => o.imports.length > 0)
  ) {
    return undefined;
  }
  // compared by path and by file name, so that a merged /usr or a moved file cannot hide a match
  const loadedPaths = new Set(c.objects.map((o) => o.path));
  const loadedNames = new Set(c.objects.map((o) => base(o.path)));
  if (p.files.some((x) => loadedPaths.has(x.path) || loadedNames.has(base(x.path)))) {
    return undefined;
  }
  const shells = sbom.runtime?.shells ?? [];
  const layers = sbom.subject.kind === "image" ? sbom.subject.layers : [];
  return {
    justification: "vulnerable_code_not_in_execute_path",
    impact: `The image starts ${c.program}; the dynamic loader loads ${c.objects.length} objects for it (${c.objects.map((o) => o.path).join(", ")}), none of them from ${p.name} (${libs.length} shared objects: ${libs
      .slice(0, 5)
      .map((x) => x.path)
      .join(
        ", ",
      )}${libs.length > 5 ? ", …" : ""}), and none of them imports dlopen or a call that starts other programs, so ${p.name}'s code is not in the entrypoint's execute path. Limits: this covers the entrypoint's process only; a different command at run time, docker exec${shells.length ? ` or the shell in the image (${shells.join(", ")})` : ""}, LD_PRELOAD or LD_LIBRARY_PATH, and modules glibc loads on its own (NSS, gconv) are outside it.`,
    evidence: {
      analysis: "not-in-execute-path@1",
      files: [
        ...c.objects.map((o) => ({
          path: o.path,
          ...(layers[o.layer] ? { layer: layers[o.layer] as Digest } : {}),
          observed:
            "loaded for the entrypoint (ELF interpreter and DT_NEEDED closure); imports no dlopen, exec, system, popen or posix_spawn",
        })),
        ...libs.slice(0, MAX_EVIDENCE_FILES).map((x) => ({
          path: x.path,
          observed: `owned by ${p.name}; not in the closure`,
        })),
      ],
      found: `${c.program}: ${c.objects.length} objects loaded, none of the ${libs.length} shared objects of ${p.name}`,
    },
  };
};

/** The analyses, in the order they are tried; the first that proves something decides. */
export const ANALYSES: readonly Analysis[] = [
  componentNotPresent,
  kernelHeadersOnly,
  goSymbolsAbsent,
  notInExecutePath,
];

/** How the image runs, as one sentence: context for a reader, never part of a verdict. */
export function runtimeNote(r: RuntimeContext | undefined): string | undefined {
  if (!r) {
    return undefined;
  }
  const user =
    r.user === "" || r.user === "root" || r.user === "0" || r.user.startsWith("0:")
      ? `runs as root${r.user === "" ? " (the image config sets no User)" : ""}`
      : `runs as user ${r.user}`;
  const start = [...r.entrypoint, ...r.cmd];
  return `Context (not part of the verdict): the image ${user}; starts ${start.length ? JSON.stringify(start) : "nothing by default"}; ${r.shells.length ? `shell present (${r.shells.join(", ")})` : "no shell"}; ${r.packageManagers.length ? `package manager present (${r.packageManagers.join(", ")})` : "no package manager"}; ${r.exposedPorts.length ? `exposes ${r.exposedPorts.join(", ")}` : "exposes no ports"}.`;
}

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
  const context = runtimeNote(sbom.runtime);
  const withContext = (impact: string | undefined): { impact?: string } => {
    const text = [impact, context].filter(Boolean).join(" ");
    return text ? { impact: text } : {};
  };
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
        const c = a(f, p, sbom, opts.records);
        if (c) {
          return {
            ...base,
            status: "not_affected",
            justification: c.justification,
            ...withContext(c.impact),
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
        ...withContext(
          `the installed version could not be evaluated against the advisory: ${f.reason}.`,
        ),
      };
    }
    return {
      ...base,
      status: "affected",
      ...withContext(undefined),
      action: f.fixedIn
        ? `Update ${f.package.name} to ${f.fixedIn} or later.`
        : `No fixed version is known${f.distroStatus ? ` (distribution status: ${f.distroStatus})` : ""}; remove ${f.package.name} if it is not needed, or mitigate it and record that decision as a VEX statement.`,
    };
  });
}
