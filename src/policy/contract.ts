import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ContractTestApi, codeOf, thrownBy } from "../core/contract.js";
import type { PolicyEngine } from "./engine.js";

/** What a policy engine's contract run is given: one policy in the engine's language. */
export interface PolicyEngineCase {
  readonly engine: PolicyEngine;
  /** The policy's file name (its extension is how engines are chosen). */
  readonly file: string;
  /** A policy that allows exactly when `input.image.ok` is true. */
  readonly text: string;
  readonly mediaType: string;
}

/**
 * The contract every {@link PolicyEngine} keeps: a file it handles loads with its bytes and
 * media type (their digest names the policy in the decision); the decision follows the input
 * (allowed when the rule holds, denied with a rule that did not pass when it does not); an
 * unreadable file is a usage error naming it.
 * @example describePolicyEngineContract({ engine: celEngine, file: "p.yaml", … }, { describe, it, expect })
 */
export function describePolicyEngineContract(c: PolicyEngineCase, t: ContractTestApi): void {
  const { it, expect } = t;
  t.describe(`PolicyEngine contract: ${c.engine.id}`, () => {
    const withFile = async (f: (path: string, dir: string) => Promise<void>): Promise<void> => {
      const dir = mkdtempSync(join(tmpdir(), "cleanimg-engine-"));
      try {
        const path = join(dir, c.file);
        writeFileSync(path, c.text);
        await f(path, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    it("handles its own files", () =>
      withFile(async (path) => {
        expect(c.engine.handles(path)).toBe(true);
      }));
    it("loads the policy with its bytes and media type", () =>
      withFile(async (path) => {
        const p = await c.engine.load(path);
        expect(p.engine).toBe(c.engine.id);
        expect(new TextDecoder().decode(p.bytes)).toBe(c.text);
        expect(p.mediaType).toBe(c.mediaType);
      }));
    it("allows when the rule holds and denies, naming a rule, when it does not", () =>
      withFile(async (path) => {
        const p = await c.engine.load(path);
        expect((await p.evaluate({ image: { ok: true } })).allow).toBe(true);
        const denied = await p.evaluate({ image: { ok: false } });
        expect(denied.allow).toBe(false);
        expect(denied.rules.some((r) => r.result !== "pass")).toBe(true);
      }));
    it("refuses an unreadable file as an input error naming it (CORE_INPUT_UNREADABLE, exit 3)", () =>
      withFile(async (_, dir) => {
        const missing = join(dir, `missing-${c.file}`);
        const e = await thrownBy(() => c.engine.load(missing));
        expect(codeOf(e)).toBe("CORE_INPUT_UNREADABLE");
        expect(String((e as Error).message).includes(missing)).toBe(true);
      }));
  });
}
