// Contract suites for third-party implementations of the extension points.
export {
  type ContractTestApi,
  describeEvidenceStoreContract,
  type StoreFactory,
} from "./store/index.js";
