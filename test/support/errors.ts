import { expect } from "vitest";
import { ToolError } from "../../src/core/errors.js";

/** Asserts that a promise rejects with a ToolError of the given class and code. */
export async function expectToolError(
  p: Promise<unknown>,
  code: string,
  cls: new (...a: never[]) => ToolError = ToolError,
): Promise<ToolError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    expect((e as ToolError).code).toBe(code);
    return e as ToolError;
  }
  throw new Error(`expected a ${cls.name} with code ${code}, got success`);
}
