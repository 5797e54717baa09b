// Rust: cargo-auditable data in binaries, and Cargo.lock.
export { cargoLockCataloger } from "./cargo-lock.js";
export { rustAuditCataloger } from "./rust-audit.js";
