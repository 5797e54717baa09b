/**
 * What a contract suite needs of a test runner (vitest and node:test both fit). Each extension
 * point keeps its suite beside its interface (`store/contract.ts`, `oci/contract.ts`, …); all are
 * exported from the package's `./testing` entry so a third-party implementation can run them.
 */
export interface ContractTestApi {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>): void;
  expect: (v: unknown) => {
    toBe(x: unknown): void;
    toEqual(x: unknown): void;
    toHaveLength(n: number): void;
  };
}

/** The error a call threw, or undefined when it returned. */
export async function thrownBy(f: () => unknown): Promise<unknown> {
  try {
    const r = f();
    if (r && typeof (r as Promise<unknown>).then === "function") {
      await r;
    }
  } catch (e) {
    return e;
  }
  return undefined;
}

/** An error's code, "no error" when there was none, "no code" when it has none. */
export function codeOf(e: unknown): string {
  if (e === undefined) {
    return "no error";
  }
  const c = (e as { code?: unknown }).code;
  return typeof c === "string" ? c : "no code";
}
