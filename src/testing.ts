// Contract suites for third-party implementations of the extension points. Each takes the test
// runner's describe/it/expect (vitest and node:test both fit) and is kept beside its interface.

export { describeSignerContract, type SignerCase } from "./attest/index.js";
export {
  type ContractTestApi,
  codeOf,
  thrownBy,
} from "./core/contract.js";
export {
  describeImageSourceContract,
  type ImageSourceCase,
  type Validated,
  validateImageSource,
} from "./oci/index.js";
export { describePolicyEngineContract, type PolicyEngineCase } from "./policy/index.js";
export {
  type CatalogerCase,
  describeCatalogerContract,
  EMPTY_RESOLVER,
} from "./sbom/index.js";
export { describeEvidenceStoreContract, type StoreFactory } from "./store/index.js";
export { type ComparatorSample, describeComparatorContract } from "./versions/index.js";
