export {
  type ContractTestApi,
  describeEvidenceStoreContract,
  type StoreFactory,
} from "./contract.js";
export {
  appendToLog,
  type BlobVersion,
  type EvidenceLink,
  type EvidenceQuery,
  type EvidenceStore,
  type LinkInput,
  type LogEntryBuilder,
  putEvidence,
  type StoredBlob,
} from "./evidence-store.js";
export { MemoryEvidenceStore } from "./memory/memory-store.js";
export { PostgresEvidenceStore, type PostgresStoreOptions } from "./postgres/pg-store.js";
export { SqliteEvidenceStore, type SqliteStoreOptions } from "./sqlite/sqlite-store.js";
