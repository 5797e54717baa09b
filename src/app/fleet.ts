import {
  ATTESTATION_KIND,
  type ChainReport,
  evidenceTrust,
  type LinkReport,
  linkInEffect,
  type Stage,
  staleInIndex,
} from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import type { EvidenceLink } from "../store/index.js";
import { IMAGE_SIGNATURE_KIND } from "./build.js";
import type { AppContext } from "./context.js";
import { imageSignatureCheck } from "./image-signature.js";
import type { ComplianceCheck } from "./status.js";

/**
 * One row of the fleet table (the design's columns). A verified row's values come from the
 * image's verified chain and verified image signature, with the digests they rest on; an
 * unverified row is the store's index read as it is, every positive value labelled
 * "(unverified)", never "ready".
 */
export interface FleetRow {
  readonly image: string;
  readonly digest: Digest;
  readonly version: string;
  readonly slsa: string;
  readonly sbom: string;
  readonly vex: string;
  /** "signed" (verified), "invalid signature", "signed (unverified)" or "unsigned image". */
  readonly signature: string;
  /** "ready" (verified), "NOT READY", or "unverified" (the index alone shows nothing missing). */
  readonly ready: string;
  /** "intact", "broken at STAGE", or "not verified" (the index alone was read). */
  readonly chain: string;
  /** Whether this row's signature and chain were verified. */
  readonly verified: boolean;
  /** What the row's values were not verified for (empty when verified). */
  readonly unverified: readonly string[];
  /** Digests of the verified evidence the row rests on: the image signature, the valid links. */
  readonly evidence: readonly string[];
  /** The image signature check's detail, when it ran. */
  readonly signatureDetail?: string;
}

const UNVERIFIED = [
  "image signature",
  "chain (link signatures, transparency log, references)",
  "SLSA level, SBOM and VEX (read from the store's index)",
] as const;

/**
 * The fleet table for every image with evidence in the store. With `verify`, each image's chain
 * is verified (through the given function, e.g. a ChainCache's) and its image signature too:
 * only then can a row say "signed" or "ready". Without it, the store's index is read (fast for
 * thousands of images) and the rows say what was not verified.
 */
export async function fleetStatus(
  ctx: AppContext,
  opts: {
    /** Verifies each image's chain; the image signatures are verified too. */
    readonly verify?: (image: Digest) => Promise<ChainReport>;
  } = {},
): Promise<FleetRow[]> {
  const links = await ctx.evidence().find({ kind: ATTESTATION_KIND });
  const all = new Map<Digest, Map<string, EvidenceLink[]>>();
  for (const l of links) {
    const m = all.get(l.subject) ?? new Map<string, EvidenceLink[]>();
    const stage = l.annotations["stage"] ?? "";
    m.set(stage, [...(m.get(stage) ?? []), l]); // find() is in arrival order
    all.set(l.subject, m);
  }
  const byImage = new Map<Digest, Map<string, EvidenceLink>>();
  for (const [digest, stages] of all) {
    byImage.set(digest, new Map([...stages].map(([stage, ls]) => [stage, inEffect(ls)] as const)));
  }
  const names = await imageNames(ctx);
  const signed = new Set(
    (await ctx.evidence().find({ kind: IMAGE_SIGNATURE_KIND })).map((l) => l.subject),
  );
  const trust = opts.verify ? await evidenceTrust(ctx) : undefined;
  const rows: FleetRow[] = [];
  for (const [digest, m] of byImage) {
    const name =
      names.get(digest) ??
      m.get("sbom")?.annotations["image"] ??
      m.get("scan")?.annotations["image"] ??
      digest.slice(0, 19);
    const colon = name.lastIndexOf(":");
    const tagged = colon > 0 && !name.slice(colon).includes("/");
    const id = { image: tagged ? name.slice(0, colon) : name, digest };
    const version = tagged ? name.slice(colon + 1) : "-";
    if (opts.verify && trust) {
      const chain = await opts.verify(digest);
      const sig = await imageSignatureCheck(ctx, digest, trust);
      rows.push({ ...id, version, ...verifiedRow(chain, sig) });
    } else {
      rows.push({ ...id, version, ...indexRow(m, signed.has(digest)) });
    }
  }
  return rows.sort((a, b) =>
    a.image < b.image ? -1 : a.image > b.image ? 1 : a.version < b.version ? -1 : 1,
  );
}

type RowValues = Omit<FleetRow, "image" | "digest" | "version">;

/**
 * A stage's link in effect, by the chain's own rule (linkInEffect: the one made last by its
 * signed time, not the one the store received last, as the verifier takes it).
 */
function inEffect(ls: readonly EvidenceLink[]): EvidenceLink {
  const recorded = ls.map((l) => ({
    stage: l.annotations["stage"] as Stage,
    attestation: l.evidence,
    envelope: (l.annotations["envelope"] ?? "") as Digest,
    evidence: (l.annotations["evidence"] ?? "") as Digest,
    created: l.annotations["created"] ?? "",
  }));
  const chosen = linkInEffect(recorded);
  return ls[chosen ? recorded.indexOf(chosen) : ls.length - 1] as EvidenceLink;
}

/** A row from the store's index: what was recorded, nothing verified, labelled so. */
function indexRow(m: Map<string, EvidenceLink>, signed: boolean): RowValues {
  const sbom = m.get("sbom");
  const scan = m.get("scan");
  const vex = m.get("vex");
  const prov = m.get("provenance");
  // the links' references as the index holds them (not verified: --verify checks them signed)
  const st = staleInIndex(m);
  const stale = st.has("scan") || st.has("vex");
  const partial = Number(scan?.annotations["unassessed"] ?? 0) > 0;
  const complete = prov && sbom && scan && vex && !stale && !partial && signed;
  return {
    slsa: prov ? `L${prov.annotations["slsaBuildLevel"] ?? "?"} (unverified)` : "L0",
    sbom: sbom ? "signed (unverified)" : "missing",
    vex: vex
      ? stale
        ? "stale"
        : partial
          ? "partial"
          : "complete (unverified)"
      : scan
        ? "missing"
        : "no scan",
    signature: signed ? "signed (unverified)" : "unsigned image",
    ready: complete ? "unverified" : "NOT READY",
    chain: "not verified",
    verified: false,
    unverified: [...UNVERIFIED],
    evidence: [],
  };
}

/** A row from the verified chain and the verified image signature. */
function verifiedRow(chain: ChainReport, sig: ComplianceCheck): RowValues {
  const link = (s: LinkReport["stage"]): LinkReport | undefined =>
    chain.links.find((l) => l.stage === s);
  const valid = (l: LinkReport | undefined): boolean => l?.state === "valid";
  const state = (l: LinkReport | undefined): string => l?.state ?? "not-recorded";
  const prov = link("provenance");
  const sbom = link("sbom");
  const scan = link("scan");
  const vex = link("vex");
  const partial = Number(scan?.predicate?.inputs["unassessed"] ?? 0) > 0;
  const vexValue =
    state(scan) === "not-recorded"
      ? "no scan"
      : state(vex) === "not-recorded"
        ? "missing"
        : !valid(scan)
          ? `scan ${state(scan)}`
          : !valid(vex)
            ? state(vex)
            : partial
              ? "partial"
              : "complete";
  const ready =
    chain.intact && valid(prov) && valid(sbom) && vexValue === "complete" && sig.result === "PASS";
  return {
    slsa: valid(prov)
      ? `L${prov?.predicate?.inputs["slsaBuildLevel"] ?? "?"}`
      : state(prov) === "not-recorded"
        ? "L0"
        : `L0 (provenance ${state(prov)})`,
    sbom: valid(sbom) ? "signed" : state(sbom) === "not-recorded" ? "missing" : state(sbom),
    vex: vexValue,
    signature:
      sig.result === "PASS"
        ? "signed"
        : sig.result === "FAIL"
          ? "invalid signature"
          : "unsigned image",
    ready: ready ? "ready" : "NOT READY",
    chain: chain.intact ? "intact" : `broken at ${chain.firstBroken}`,
    verified: true,
    unverified: [],
    evidence: [
      ...(sig.result === "PASS" ? sig.evidence : []),
      ...chain.links.filter((l) => l.state === "valid").map((l) => l.attestation as string),
    ],
    signatureDetail: sig.detail,
  };
}

/** Names of the images in the local store, by manifest digest. */
async function imageNames(ctx: AppContext): Promise<Map<Digest, string>> {
  const names = new Map<Digest, string>();
  const local = await ctx.local.list().catch(() => []);
  for (const i of local) {
    names.set(i.descriptor.digest, i.name);
  }
  return names;
}
