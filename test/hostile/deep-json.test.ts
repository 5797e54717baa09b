import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppContext, createToken } from "../../src/app/index.js";
import { jsonDepth, MAX_JSON_DEPTH, parseJson } from "../../src/core/json.js";
import { type RunningServer, startServer } from "../../src/server/index.js";
import { tempDir } from "../support/tmp.js";

// JSON nested 20k levels deep, generated here. Parsing it is fine; code that walks it
// recursively (validation, canonical forms) overflowed the stack: the server answered 500.
// Every place that reads JSON from outside caps the depth: 400 from the server, exit 3 from
// the command line, with a message saying what was too deep.

const deep = (n: number, inner = "1"): string => `${'{"a":['.repeat(n)}${inner}${"]}".repeat(n)}`;
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

describe("deeply nested JSON", { timeout: 300_000 }, () => {
  let srv: RunningServer;
  let token = "";
  const home = tempDir();

  beforeAll(async () => {
    const ctx = createAppContext({ home, env: {} });
    token = (await createToken(ctx, { name: "w", role: "admin" })).token;
    srv = await startServer(ctx, { listen: "127.0.0.1:0" });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it("counts depth without recursion, skipping brackets inside strings", () => {
    expect(jsonDepth('{"a":"[[[[{{{{","b":[1,[2]]}')).toBe(3);
    expect(jsonDepth('["\\"[[["]')).toBe(1);
    expect(jsonDepth(deep(100_000))).toBe(200_000);
    expect(() => parseJson(deep(MAX_JSON_DEPTH), "x")).toThrow(/nested more than/);
    expect(parseJson(deep(MAX_JSON_DEPTH / 2 - 1), "x")).toBeTypeOf("object");
  });

  it("the server answers 400 naming the depth, not 500", async () => {
    const image = `sha256:${"a".repeat(64)}`;
    for (const path of ["/admission", `/v1/images/${image}/documents`, "/v1/tokens"]) {
      const r = await fetch(`${srv.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: deep(20_000),
      });
      expect(r.status, path).toBe(400);
      expect(await r.text()).toMatch(/nested more than \d+ levels deep/);
    }
  });

  it("the command line exits 3 naming the file", () => {
    const dir = tempDir();
    const sbom = join(dir, "deep.cdx.json");
    writeFileSync(
      sbom,
      `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[${deep(20_000)}]}`,
    );
    const vex = join(dir, "deep.vex.json");
    writeFileSync(
      vex,
      `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[${deep(20_000)}]}`,
    );
    const osv = join(dir, "deep.osv.json");
    writeFileSync(osv, `{"id":"X-1","affected":[${deep(20_000)}]}`);
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", tempDir(), ...args], {
        encoding: "utf8",
        timeout: 120_000,
      });
    for (const [args, file] of [
      [["sbom", `sbom:${sbom}`, "-o", join(dir, "out.json")], sbom],
      [["db", "import", osv], osv],
    ] as const) {
      const r = cli(...args);
      expect(r.status, args.join(" ")).toBe(3);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(/nested more than \d+ levels deep/);
      expect(r.stderr).not.toMatch(/call stack|bug/i);
    }
  });
});
