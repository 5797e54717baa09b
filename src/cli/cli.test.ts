import { describe, expect, it } from "vitest";
import { rewriteDesignForm } from "./design-forms.js";
import { ExitCode, exitCodeFor } from "./exit-codes.js";

describe("rewriteDesignForm", () => {
  it.each([
    [
      ["--build", "--image", "myapp:1.0.0"],
      ["build", "--image", "myapp:1.0.0"],
    ],
    [
      ["--scan", "--image", "myapp:1.0.0", "--output-vex", "report.vex"],
      ["scan", "--image", "myapp:1.0.0", "--output-vex", "report.vex"],
    ],
    [["--compliance-status"], ["status"]],
    [
      ["--compliance", "fedramp", "--image", "myapp:1.0.0", "--output", "compliance-report.json"],
      ["report", "fedramp", "--image", "myapp:1.0.0", "--output", "compliance-report.json"],
    ],
    [
      ["--compliance=fedramp", "--image", "a"],
      ["report", "fedramp", "--image", "a"],
    ],
    [
      ["--audit-trail", "--from=2025-09-01", "--to=2025-10-04"],
      ["audit", "--from=2025-09-01", "--to=2025-10-04"],
    ],
    [
      ["--json", "--build", "--image", "x"],
      ["build", "--json", "--image", "x"],
    ],
    [
      ["image", "ls"],
      ["image", "ls"],
    ],
  ])("rewrites %j", (input, expected) => {
    expect(rewriteDesignForm(input)).toEqual(expected);
  });
});

describe("exit codes", () => {
  it("maps error codes to documented exit codes", () => {
    expect(exitCodeFor("CLI_NOT_AVAILABLE")).toBe(ExitCode.NotAvailable);
    expect(exitCodeFor("OCI_INVALID_REFERENCE")).toBe(ExitCode.Usage);
    expect(exitCodeFor("CLI_USAGE")).toBe(ExitCode.Usage);
    expect(exitCodeFor("OCI_BLOB_UNKNOWN")).toBe(ExitCode.Operational);
    expect(exitCodeFor("STORE_DIGEST_MISMATCH")).toBe(ExitCode.Operational);
  });
});
