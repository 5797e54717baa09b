import type { Digest } from "../core/digest.js";

export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const STATEMENT_V1 = "https://in-toto.io/Statement/v1";

/** An in-toto Statement v1 (attestation framework): subjects by digest, a typed predicate. */
export interface Statement<P = unknown> {
  readonly _type: typeof STATEMENT_V1;
  readonly subject: readonly {
    readonly name: string;
    readonly digest: Readonly<Record<string, string>>;
  }[];
  readonly predicateType: string;
  readonly predicate: P;
}

/** Builds a statement whose subjects are named digests (`sha256:…`). */
export function statement<P>(
  subjects: readonly { name: string; digest: Digest }[],
  predicateType: string,
  predicate: P,
): Statement<P> {
  return {
    _type: STATEMENT_V1,
    subject: subjects.map((s) => {
      const i = s.digest.indexOf(":");
      return { name: s.name, digest: { [s.digest.slice(0, i)]: s.digest.slice(i + 1) } };
    }),
    predicateType,
    predicate,
  };
}

/** cleanimg's evidence-chain link predicate (documented in docs/attestations.md). */
export const CHAIN_LINK_PREDICATE = "https://cleanimg.dev/attestation/chain-link/v1";

/**
 * Whether a statement names `digest` (`sha256:…`) among its subjects. Total over hostile input: a
 * statement whose subjects are not the in-toto shape is about nothing.
 */
export function isAbout(st: Pick<Statement, "subject">, digest: Digest): boolean {
  const i = digest.indexOf(":");
  const alg = digest.slice(0, i);
  const hex = digest.slice(i + 1);
  return (
    i > 0 &&
    Array.isArray(st.subject) &&
    st.subject.some(
      (s) =>
        typeof s === "object" &&
        s !== null &&
        typeof s.digest === "object" &&
        s.digest !== null &&
        s.digest[alg] === hex,
    )
  );
}
