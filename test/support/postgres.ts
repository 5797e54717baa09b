import { randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import pg from "pg";

/**
 * The PostgreSQL server the test command starts (Debian postgresql, over its unix socket, as a
 * superuser role named after the user running the tests). $CLEANIMG_TEST_POSTGRES_SOCKET_DIR
 * overrides the socket directory.
 */
const SOCKET = encodeURIComponent(
  process.env["CLEANIMG_TEST_POSTGRES_SOCKET_DIR"] ?? "/var/run/postgresql",
);
const USER = encodeURIComponent(userInfo().username);
export const pgUrl = (db: string): string => `postgres://${USER}@${SOCKET}/${db}`;

/** Creates an empty database and returns its URL. */
export async function freshDatabase(): Promise<string> {
  const name = `cleanimg_t_${randomBytes(6).toString("hex")}`;
  const c = new pg.Client({ connectionString: pgUrl("postgres") });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  return pgUrl(name);
}
