export {
  BUNDLE_MEDIA_TYPE,
  type EvidenceBundle,
  type KeylessTrust,
  type OwnLogEntry,
  type TrustedLog,
  type VerifiedEvidenceBundle,
  verifyEvidenceBundle,
  verifyRekorEntries,
} from "./bundle.js";
export { describeSignerContract, type SignerCase } from "./contract.js";
export {
  type DsseEnvelope,
  pae,
  signEnvelope,
  signEnvelopeKeyed,
  type VerifiedEnvelope,
  verifyEnvelope,
} from "./dsse.js";
export {
  BUNDLE_V03,
  fulcioSigner,
  type SigstoreBundleJson,
  type SigstoreServiceUrls,
  signKeyless,
  signWithKeyWitnessed,
  witnessEnvelopeInRekor,
} from "./keyless.js";
export {
  generateKeyPair,
  type KeyType,
  keyIdOf,
  keySigner,
  loadPrivateKey,
  loadPublicKey,
  type Signature,
  type Signer,
  type SignerKey,
  verifySignature,
} from "./keys.js";
export {
  consistencyProof,
  inclusionProof,
  leafHash,
  nodeHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.js";
export {
  type Checkpoint,
  checkpointBody,
  noteKeyHint,
  parseCheckpointNote,
  signCheckpoint,
  verifyCheckpointNote,
} from "./note.js";
export {
  acceptIdentity,
  type BundleVerifyOptions,
  type TrustedIdentity,
  type VerifiedBundle,
  verifySigstoreBundle,
} from "./sigstore.js";
export {
  CHAIN_LINK_PREDICATE,
  IN_TOTO_PAYLOAD_TYPE,
  isAbout,
  STATEMENT_V1,
  type Statement,
  statement,
} from "./statement.js";
export {
  checkpointTree,
  dsseLogBody,
  type FrontierNode,
  frontierAppend,
  frontierRoot,
  type InclusionProof,
  type LoggedEntry,
  lastLeafProof,
  verifyLoggedEntry,
} from "./tlog.js";
