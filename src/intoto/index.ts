export { canonicalJson } from "./canonical.js";
export {
  type InTotoKey,
  type InTotoSigner,
  inTotoKeyId,
  inTotoSign,
  loadInTotoPublicKey,
  loadInTotoSigner,
  publicKeyObject,
  verifyInTotoSignature,
} from "./keys.js";
export {
  type Artifacts,
  IN_TOTO_DSSE_TYPE,
  type Inspection,
  type Layout,
  type Link,
  type Metadata,
  parseMetadata,
  type Rule,
  type Step,
  signedBy,
  signMetadata,
} from "./metadata.js";
export { fnmatchRegExp, parseRule, RuleError, verifyItemRules } from "./rules.js";
export {
  DEFAULT_EXCLUDES,
  recordArtifacts,
  type VerifyOptions,
  type VerifyResult,
  verifyLayout,
} from "./verify.js";
