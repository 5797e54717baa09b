/**
 * Error classes. Every failure the tool throws is a {@link ToolError} with a stable,
 * module-prefixed `code`; the CLI maps codes to exit codes, the server to HTTP statuses.
 */

/** Codes shared by all modules. Module errors extend this union. */
export type ErrorCode =
  | "CORE_INVALID_DIGEST"
  | "CORE_DIGEST_MISMATCH"
  | "CORE_SIZE_MISMATCH"
  | "CORE_LIMIT_EXCEEDED"
  | "CORE_OUTPUT_UNWRITABLE"
  | "CORE_INVALID_ARGUMENT"
  | "CORE_INPUT_UNREADABLE"
  | "CORE_CONFIG_INVALID"
  | "OCI_INVALID_REFERENCE"
  | "OCI_INVALID_MANIFEST"
  | "OCI_MANIFEST_UNKNOWN"
  | "OCI_BLOB_UNKNOWN"
  | "OCI_UNSUPPORTED_MEDIA_TYPE"
  | "OCI_PLATFORM_NOT_FOUND"
  | "OCI_PLATFORM_AMBIGUOUS"
  | "OCI_INVALID_LAYOUT"
  | "OCI_INVALID_ARCHIVE"
  | "OCI_TRANSPORT_UNKNOWN"
  | "OCI_REGISTRY_ERROR"
  | "OCI_UNAUTHORIZED"
  | "OCI_DENIED"
  | "OCI_INSECURE_REFUSED"
  | "OCI_TAR_INVALID"
  | "OCI_TAR_TRUNCATED"
  | "OCI_DECOMPRESS_FAILED"
  | "SOURCE_PATH_UNSAFE"
  | "SOURCE_SYMLINK_LOOP"
  | "SOURCE_NOT_FOUND"
  | "SOURCE_TARGET_NOT_EMPTY"
  | "SOURCE_PATH_TOO_LONG"
  | "SOURCE_EXPORT_TOO_LARGE"
  | "STORE_DIGEST_MISMATCH"
  | "STORE_NOT_FOUND"
  | "STORE_CORRUPT"
  | "STORE_INVALID_INPUT"
  | "STORE_CONFLICT"
  | "VERSION_INVALID"
  | "VERSION_UNSUPPORTED_ECOSYSTEM"
  | "VERSION_INVALID_RANGE"
  | "ATTEST_VERIFY_FAILED"
  | "ATTEST_SIGNATURE_INVALID"
  | "ATTEST_KEY_INVALID"
  | "ATTEST_CONFIG_INVALID"
  | "ATTEST_SIGN_FAILED"
  | "SBOM_FORMAT_UNKNOWN"
  | "SBOM_INVALID"
  | "VEX_INVALID"
  | "VEX_INPUT_UNREADABLE"
  | "VULN_INPUT_UNREADABLE"
  | "VULN_NOTHING_IMPORTED"
  | "VULN_DB_STALE"
  | "VULN_DB_EMPTY"
  | "VULN_UPDATE_INCOMPLETE"
  | "BUILD_FETCH_FAILED"
  | "BUILD_NOT_CACHED"
  | "BUILD_ARCHIVE_INVALID"
  | "BUILD_UNSATISFIABLE"
  | "BUILD_SPEC_INVALID"
  | "POLICY_INVALID"
  | "POLICY_ENGINE_UNAVAILABLE"
  | "POLICY_EVAL_FAILED"
  | "INTOTO_METADATA_INVALID"
  | "INTOTO_RUN_FAILED"
  | "CHAIN_LINK_UNUSABLE"
  | "DEPLOY_NOT_ALLOWED"
  | "CLI_USAGE"
  | "CLI_NOT_AVAILABLE";

/**
 * Codes that say the caller asked wrongly (the command line or the request is malformed), as
 * opposed to the world being wrong (I/O, corrupt input, limits). The CLI exits 2 on them, the
 * server answers 400.
 */
export const CALLER_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "CLI_USAGE",
  "OCI_INVALID_REFERENCE",
  "OCI_TRANSPORT_UNKNOWN",
  "OCI_INSECURE_REFUSED",
  "CORE_INVALID_ARGUMENT",
  "CORE_INVALID_DIGEST",
  "VERSION_INVALID",
  "VERSION_UNSUPPORTED_ECOSYSTEM",
  "VERSION_INVALID_RANGE",
]);

/** Base class of every error the tool throws on purpose. */
export class ToolError extends Error {
  readonly code: ErrorCode;
  /** A short hint telling the user how to fix the problem, shown by the CLI. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options?.hint;
  }
}

/** Errors of the OCI layer: references, transports, manifests, blobs, layers. */
export class OciError extends ToolError {}
/** Errors reading a source filesystem (image or directory). */
export class SourceError extends ToolError {}
/** Errors of the evidence store. */
export class StoreError extends ToolError {}
/** Invalid versions, ranges and unsupported ecosystems. */
export class VersionError extends ToolError {}
/** Signature, attestation and bundle verification failures. */
export class AttestError extends ToolError {}
/**
 * A signature that verified, by a signer the trust policy does not accept (another identity or
 * issuer): the verification proved who signed; this says they are not trusted.
 */
export class TrustPolicyError extends AttestError {}
/** Errors reading or writing SBOM documents. */
export class SbomError extends ToolError {}
/** Errors reading VEX documents. */
export class VexError extends ToolError {}
/** Usage errors and unavailable commands. */
export class UsageError extends ToolError {}

/** Type guard for {@link ToolError}. */
export function isToolError(e: unknown): e is ToolError {
  return e instanceof ToolError;
}

/** Exhaustiveness helper for switch statements over unions. */
export function assertNever(x: never, what = "value"): never {
  throw new ToolError("CORE_INVALID_ARGUMENT", `unexpected ${what}: ${String(x)}`);
}
