export { type BundleVerifyOptions, type VerifiedBundle, verifySigstoreBundle } from "./sigstore.js";
