import { CALLER_ERROR_CODES, type ErrorCode } from "../core/errors.js";

/** Exit codes of every command (documented in docs/cli.md). */
export const ExitCode = {
  /** The command did what was asked. */
  Ok: 0,
  /** The command ran and its answer is negative (policy failed, findings over threshold, verification failed). */
  Failed: 1,
  /** The command line is wrong: unknown option, missing argument, invalid reference. */
  Usage: 2,
  /** Something outside the command line went wrong: I/O, network, corrupt input, limits. */
  Operational: 3,
  /** The command exists in the design but is not available in this version. */
  NotAvailable: 4,
} as const;

/** Maps an error code to the process exit code. */
export function exitCodeFor(code: ErrorCode): number {
  if (code === "CLI_NOT_AVAILABLE") {
    return ExitCode.NotAvailable;
  }
  if (
    code === "ATTEST_VERIFY_FAILED" ||
    code === "ATTEST_SIGNATURE_INVALID" ||
    code === "DEPLOY_NOT_ALLOWED"
  ) {
    return ExitCode.Failed; // the answer ("is this verified?", "may it be deployed?") is no
  }
  return CALLER_ERROR_CODES.has(code) ? ExitCode.Usage : ExitCode.Operational;
}
