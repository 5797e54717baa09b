import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ATTESTATION_KIND,
  INTOTO_VERIFICATION_KIND,
  STANDARD_ATTESTATION_KIND,
  VEX_DECISION_KIND,
} from "../../src/app/index.js";
import { TOKEN_LOG } from "../../src/app/tokens.js";
import { AUDITED_LINK_KINDS, LOGS_NAMING_EVENTS } from "../../src/chain/audit.js";
import { scannedHome } from "../support/scanned-home.js";
import { tempDir } from "../support/tmp.js";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const SRC = resolve(import.meta.dirname, "../../src");

/**
 * Every link of an audited kind is made in the transaction of the audit event that names it, so a
 * link no event names shows that its event was removed. Before, only chain attestations were held
 * to their events: a person's VEX decision and a compliance report stayed in the store, still
 * applied and listed, after their events, their audit-event links and the witness beside the
 * store were deleted, and `audit verify` called the log intact.
 */
describe("audit verify holds every audited link to the event that made it", () => {
  let home: string;
  let ref: string;
  const cli = (...args: string[]): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", home, ...args], {
      encoding: "utf8",
    });
  let before: number;

  beforeAll(async () => {
    ref = "audit-links/app:1";
    const s = await scannedHome(ref);
    home = s.ctx.home;
    before = await s.ctx.evidence().size("audit");
    await s.ctx.close();
    const key = join(tempDir(), "alice");
    expect(cli("key", "generate", "--unencrypted", "--output-key-prefix", key).status).toBe(0);
    before += 1; // the key's own event stays
    const add = cli(
      "vex",
      "add",
      "--image",
      ref,
      "--vuln",
      "CVE-2099-0001",
      "--status",
      "not_affected",
      "--justification",
      "component_not_present",
      "--author",
      "alice",
      "--key",
      `${key}.key`,
    );
    expect(add.status, add.stderr).toBe(0);
    const rep = cli("report", "fedramp", "--image", ref, "--output", join(tempDir(), "r.json"));
    expect(rep.status, rep.stderr).toBe(0);
    const tok = cli("token", "create", "--role", "admin", "--name", "backdoor");
    expect(tok.status, tok.stderr).toBe(0);
    expect(cli("audit", "verify").status).toBe(0);
  }, 300_000);

  it("the events of a VEX decision, a report and an admin token, their index links and the witness deleted: named", () => {
    const db = new Database(join(home, "evidence", "index.db"));
    try {
      db.prepare("DELETE FROM log_entries WHERE log = 'audit' AND idx >= ?").run(before);
      for (const l of db
        .prepare("SELECT id, annotations FROM links WHERE kind = 'audit-event'")
        .all() as { id: number; annotations: string }[]) {
        if (Number(JSON.parse(l.annotations).seq) >= before) {
          db.prepare("DELETE FROM links WHERE id = ?").run(l.id);
        }
      }
    } finally {
      db.close();
    }
    const witness = join(home, "evidence", "witness");
    for (const f of readdirSync(witness).filter((f) => f.startsWith("audit-"))) {
      rmSync(join(witness, f));
    }
    const v = cli("audit", "verify");
    expect(v.status, v.stdout).toBe(1);
    expect(v.stdout).not.toMatch(/intact/);
    expect(v.stdout).toMatch(
      new RegExp(
        `event #${before}: the store holds 2 links that no event of the audit log records \\(the first: vex-decision sha256:[0-9a-f]{64} of image sha256:[0-9a-f]{64}, made [0-9T:.-]+Z\\)`,
      ),
    );
    // an API token's creation has no index link: its log entry names the event
    expect(v.stdout).toMatch(
      new RegExp(
        `event #${before}: the audit log holds ${before} events, but entry #0 of the tokens log was recorded by audit event #${before + 2}: events were removed`,
      ),
    );
  });

  it("trusting a person's key for VEX decisions is an audited action", () => {
    const key = join(tempDir(), "bob");
    expect(cli("key", "generate", "--unencrypted", "--output-key-prefix", key).status).toBe(0);
    const t = cli("key", "trust", "--person", `${key}.pub`);
    expect(t.status, t.stderr).toBe(0);
    // (the log of this home was cut by the case before: the trail still lists its events)
    const trail = cli("--json", "audit", "--details");
    const events = JSON.parse(trail.stdout).events as { action: string; details: object }[];
    expect(events.at(-1)).toMatchObject({
      action: "key-trust",
      details: { grants: "vex-decisions" },
    });
  });

  it("the audited kinds are the kinds the product makes only with their event", () => {
    expect(LOGS_NAMING_EVENTS).toEqual([TOKEN_LOG]);
    expect([...AUDITED_LINK_KINDS].sort()).toEqual(
      [
        ATTESTATION_KIND,
        STANDARD_ATTESTATION_KIND,
        VEX_DECISION_KIND,
        "compliance-report",
        INTOTO_VERIFICATION_KIND,
        "submitted-sbom",
        "submitted-vex",
      ].sort(),
    );
  });

  it("no audited kind is linked outside recordAuditEvent (store.link and putEvidence take other kinds)", () => {
    const files = (readdirSync(SRC, { recursive: true }) as string[]).filter(
      (f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.startsWith("store"),
    );
    const names = new Map<string, string>([
      ["ATTESTATION_KIND", ATTESTATION_KIND],
      ["STANDARD_ATTESTATION_KIND", STANDARD_ATTESTATION_KIND],
      ["VEX_DECISION_KIND", VEX_DECISION_KIND],
      ["INTOTO_VERIFICATION_KIND", INTOTO_VERIFICATION_KIND],
    ]);
    const bad: string[] = [];
    for (const f of files) {
      const text = readFileSync(join(SRC, f), "utf8");
      for (const m of text.matchAll(/\.link\(([^;]*?)\)|putEvidence\(([^;]*?)\)/gs)) {
        const call = m[0];
        for (const k of AUDITED_LINK_KINDS) {
          if (call.includes(`"${k}"`)) {
            bad.push(`${f}: ${k}`);
          }
        }
        for (const [name, k] of names) {
          if (new RegExp(`\\b${name}\\b`).test(call)) {
            bad.push(`${f}: ${k}`);
          }
        }
      }
    }
    expect(bad).toEqual([]);
  });
});
