import type { Digest } from "../core/digest.js";

export const VEX_STATUSES = ["not_affected", "affected", "fixed", "under_investigation"] as const;
export type VexStatus = (typeof VEX_STATUSES)[number];

/** The five justifications of the CISA minimum requirements, as OpenVEX spells them. */
export const JUSTIFICATIONS = [
  "component_not_present",
  "vulnerable_code_not_present",
  "vulnerable_code_not_in_execute_path",
  "vulnerable_code_cannot_be_controlled_by_adversary",
  "inline_mitigations_already_exist",
] as const;
export type Justification = (typeof JUSTIFICATIONS)[number];

/** A file an analysis looked at. */
export interface EvidenceFile {
  readonly path: string;
  /** Diff id of the layer the file comes from, when it exists in the image. */
  readonly layer?: Digest;
  /** What the analysis saw: "present", "absent", or a short fact. */
  readonly observed: string;
}

/** What an automatic decision rests on, enough for anyone to re-run the check. */
export interface VexEvidence {
  /** Analysis id and version (component-not-present@1). */
  readonly analysis: string;
  /** The image manifest digest the analysis ran on. */
  readonly image: Digest;
  readonly files: readonly EvidenceFile[];
  /** What it found, in one sentence. */
  readonly found: string;
  /** The vulnerability database snapshot of the finding. */
  readonly dbSnapshot: Digest;
  /** The scan evidence the finding comes from, when recorded. */
  readonly scan?: Digest;
}

/** One VEX statement: one vulnerability in one component of one product. */
export interface VexStatement {
  readonly vulnerability: string;
  readonly aliases: readonly string[];
  readonly description?: string;
  /** The product: the image, by purl (digest-pinned) and digest. */
  readonly product: { readonly purl: string; readonly digest: Digest };
  /** The component inside the product the vulnerability was found in. */
  readonly subcomponent: { readonly purl: string; readonly name: string; readonly version: string };
  readonly status: VexStatus;
  readonly justification?: Justification;
  readonly impact?: string;
  readonly action?: string;
  readonly timestamp: string;
  readonly author: string;
  /** Present on every automatic not_affected; absent on plain "affected" from matching. */
  readonly evidence?: VexEvidence;
  /** Set when the statement comes from a VEX document given to the scan, not from analysis. */
  readonly origin?: { readonly document: string; readonly author?: string };
}

/** The key that joins a finding to the VEX statement about it: vulnerability id and package purl. */
export const findingKey = (id: string, purl: string): string => `${id}\n${purl}`;

/** The join key of a finding (see findingKey). */
export const keyOfFinding = (f: {
  readonly id: string;
  readonly package: { readonly purl: string };
}) => findingKey(f.id, f.package.purl);

/** The join key of a VEX statement (see findingKey). */
export const keyOfStatement = (s: Pick<VexStatement, "vulnerability" | "subcomponent">) =>
  findingKey(s.vulnerability, s.subcomponent.purl);
