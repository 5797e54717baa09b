import { randomBytes, timingSafeEqual } from "node:crypto";
import { verifySignature } from "../attest/index.js";
import { actor, identities, recordAuditEvent, trustedKeys } from "../chain/index.js";
import { requireIsoDate } from "../core/dates.js";
import { sha256 } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import { appendToLog } from "../store/index.js";
import type { AppContext } from "./context.js";

/**
 * API tokens of the server. A token is `cit_<id>_<secret>`; the store keeps only the SHA-256 of
 * the secret, in the append-only "tokens" log, each entry signed by the signing key and chained
 * to the one before (an entry written behind cleanimg's back, without a trusted signature, is
 * ignored). Revocation is an entry too: nothing is ever edited. Creating and revoking are
 * recorded in the audit trail.
 */

export const TOKEN_LOG = "tokens";
export const ROLES = ["reader", "writer", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Whether a token of role `has` may do what needs role `needs` (admin ⊇ writer ⊇ reader). */
export function roleAllows(has: Role, needs: Role): boolean {
  return ROLES.indexOf(has) >= ROLES.indexOf(needs);
}

export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly created: string;
  readonly createdBy: string;
  /** ISO 8601; absent: no expiry. */
  readonly expires?: string;
  readonly revoked?: string;
}

type TokenEntry =
  | {
      readonly op: "create";
      readonly id: string;
      readonly name: string;
      readonly role: Role;
      /** sha256 of the secret part */
      readonly hash: string;
      readonly time: string;
      readonly by: string;
      readonly expires?: string;
      /** The sequence number of the audit event that recorded it. */
      readonly audit?: number;
      readonly prev: string;
    }
  | {
      readonly op: "revoke";
      readonly id: string;
      readonly time: string;
      readonly by: string;
      readonly audit?: number;
      readonly prev: string;
    };

const GENESIS = `sha256:${"0".repeat(64)}`;
const TOKEN_RE = /^cit_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

async function appendTokenEntry(
  ctx: AppContext,
  make: (prev: string) => TokenEntry,
): Promise<TokenEntry> {
  const { signing } = await identities(ctx);
  let made: TokenEntry | undefined;
  await appendToLog(ctx.evidence(), TOKEN_LOG, async (_i, previous) => {
    made = make(previous ? sha256(previous) : GENESIS);
    const bytes = new TextEncoder().encode(JSON.stringify(made));
    const { signature } = await signing.signer.sign(bytes);
    return new TextEncoder().encode(
      JSON.stringify({ entry: made, sig: signature.toString("base64") }),
    );
  });
  return made as TokenEntry;
}

/**
 * Makes a token. The secret is returned once and never stored.
 * @throws ToolError CORE_INVALID_ARGUMENT for an unknown role or a bad name or expiry
 */
export async function createToken(
  ctx: AppContext,
  opts: { name: string; role: string; expires?: string; by?: string },
): Promise<{ token: string; record: TokenRecord }> {
  if (!(ROLES as readonly string[]).includes(opts.role)) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `unknown role "${opts.role}"`, {
      hint: `give one of ${ROLES.join(", ")}`,
    });
  }
  if (!/^[\w.@:/-]{1,100}$/.test(opts.name)) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `"${opts.name}" is not a valid token name`, {
      hint: "use 1-100 letters, digits and . _ - @ : /",
    });
  }
  if (opts.expires !== undefined && requireIsoDate(opts.expires, "--expires") <= Date.now()) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `--expires ${opts.expires} is in the past`, {
      hint: "give a future ISO 8601 date, e.g. 2027-01-31T00:00:00Z",
    });
  }
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const by = opts.by ?? actor(ctx.settings.author);
  // the event first: the entry names it, so removing the event shows (see verifyAuditTrail), and
  // an interrupted creation leaves an event without a token, never a token without an event
  const event = await recordAuditEvent(ctx, {
    action: "token-create",
    evidence: {},
    details: { token: id, name: opts.name, role: opts.role },
    actor: by,
  });
  const entry = await appendTokenEntry(ctx, (prev) => ({
    op: "create",
    id,
    name: opts.name,
    role: opts.role as Role,
    hash: sha256(secret),
    time: new Date().toISOString(),
    by,
    ...(opts.expires ? { expires: new Date(opts.expires).toISOString() } : {}),
    audit: event.seq,
    prev,
  }));
  return {
    token: `cit_${id}_${secret}`,
    record: {
      id,
      name: opts.name,
      role: opts.role as Role,
      created: entry.time,
      createdBy: by,
      ...(opts.expires ? { expires: new Date(opts.expires).toISOString() } : {}),
    },
  };
}

/** @throws ToolError STORE_NOT_FOUND when no such token exists, STORE_CONFLICT when it is already revoked */
export async function revokeToken(ctx: AppContext, id: string, by?: string): Promise<void> {
  const { tokens } = await readTokens(ctx);
  const t = tokens.get(id);
  if (!t) {
    throw new ToolError("STORE_NOT_FOUND", `no token ${id}`, {
      hint: "cleanimg-init token list shows the tokens",
    });
  }
  if (t.record.revoked) {
    throw new ToolError("STORE_CONFLICT", `token ${id} was revoked at ${t.record.revoked}`);
  }
  const who = by ?? actor(ctx.settings.author);
  const event = await recordAuditEvent(ctx, {
    action: "token-revoke",
    evidence: {},
    details: { token: id, name: t.record.name },
    actor: who,
  });
  await appendTokenEntry(ctx, (prev) => ({
    op: "revoke",
    id,
    time: new Date().toISOString(),
    by: who,
    audit: event.seq,
    prev,
  }));
}

interface KnownToken {
  record: TokenRecord;
  hash: Buffer;
}

/**
 * Reads the token log from entry `from` on into `into`; entries without a trusted signature or
 * out of chain are skipped and reported.
 */
async function readTokens(
  ctx: AppContext,
  into: Map<string, KnownToken> = new Map(),
  from = 0,
  prevDigest = GENESIS,
): Promise<{ tokens: Map<string, KnownToken>; size: number; prev: string; problems: string[] }> {
  const raw = await ctx.evidence().entries(TOKEN_LOG, from);
  const keys = await trustedKeys(ctx);
  const problems: string[] = [];
  let prev = prevDigest;
  raw.forEach((bytes, i) => {
    const at = from + i;
    const digest = sha256(bytes);
    try {
      const { entry, sig } = JSON.parse(new TextDecoder().decode(bytes)) as {
        entry: TokenEntry;
        sig: string;
      };
      const signed = new TextEncoder().encode(JSON.stringify(entry));
      if (!keys.some((k) => verifySignature(k, signed, Buffer.from(sig, "base64")))) {
        problems.push(`token log entry ${at} is not signed by a trusted key: ignored`);
      } else if (entry.prev !== prev) {
        problems.push(`token log entry ${at} does not chain to the one before: ignored`);
      } else if (entry.op === "create") {
        into.set(entry.id, {
          record: {
            id: entry.id,
            name: entry.name,
            role: entry.role,
            created: entry.time,
            createdBy: entry.by,
            ...(entry.expires ? { expires: entry.expires } : {}),
          },
          hash: Buffer.from(entry.hash.slice("sha256:".length), "hex"),
        });
      } else if (entry.op === "revoke") {
        const t = into.get(entry.id);
        if (t) {
          t.record = { ...t.record, revoked: entry.time };
        }
      }
    } catch {
      problems.push(`token log entry ${at} is not readable: ignored`);
    }
    prev = digest;
  });
  return { tokens: into, size: from + raw.length, prev, problems };
}

/** Every token ever made, revoked ones included (never a secret or its hash). */
export async function listTokens(ctx: AppContext): Promise<TokenRecord[]> {
  const { tokens } = await readTokens(ctx);
  return [...tokens.values()].map((t) => t.record);
}

/**
 * Checks bearer tokens against the token log. Reads only the entries appended since the last
 * check (one size query per request), so a token revoked by any process sharing the store stops
 * working on its next request.
 */
export class TokenAuthority {
  #tokens = new Map<string, KnownToken>();
  #size = 0;
  #prev = GENESIS;
  #problems: string[] = [];
  constructor(private readonly ctx: AppContext) {}

  /** Problems found in the token log (entries ignored). */
  get problems(): readonly string[] {
    return this.#problems;
  }

  async #refresh(): Promise<void> {
    const size = await this.ctx.evidence().size(TOKEN_LOG);
    if (size === this.#size) {
      return;
    }
    const r = await readTokens(this.ctx, this.#tokens, this.#size, this.#prev);
    this.#size = r.size;
    this.#prev = r.prev;
    this.#problems.push(...r.problems);
  }

  /**
   * The token a bearer string is, or why not.
   */
  async authenticate(
    bearer: string,
    now = new Date(),
  ): Promise<{ token: TokenRecord } | { error: string }> {
    const m = TOKEN_RE.exec(bearer);
    if (!m) {
      return { error: "the bearer token is not a cleanimg token (cit_…)" };
    }
    await this.#refresh();
    const t = this.#tokens.get(m[1] as string);
    const given = Buffer.from(sha256(m[2] as string).slice("sha256:".length), "hex");
    if (!t || !timingSafeEqual(t.hash, given)) {
      return { error: "unknown token" };
    }
    if (t.record.revoked) {
      return { error: `the token was revoked at ${t.record.revoked}` };
    }
    if (t.record.expires && Date.parse(t.record.expires) <= now.getTime()) {
      return { error: `the token expired at ${t.record.expires}` };
    }
    return { token: t.record };
  }
}
