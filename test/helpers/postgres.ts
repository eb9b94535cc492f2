/**
 * PostgreSQL for the tests' PostgreSQL variants. Importing this file does nothing.
 *
 * `pgTestUrl()` answers SENSORSEAL_TEST_PG_URL (set by .ci/run), or, when it is unset, starts the
 * machine's Debian cluster with scripts/test-postgres.sh (what .ci/run runs), so `npm test` works
 * on a dev machine after `apt-get install postgresql`; else undefined, and `pgSkipReason()` says why
 * (for node:test's `skip: "…"`, never a silent pass). `SENSORSEAL_TEST_PG=0` turns the variants off.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";

import pg from "pg";

interface PgTarget {
  url?: string;
  reason?: string;
}

let target: Promise<PgTarget> | undefined;

/**
 * The base URL of a PostgreSQL server for tests, or undefined (see {@link pgSkipReason}).
 * @example const url = await pgTestUrl(); // "postgres://sensorseal:…@127.0.0.1:5432/sensorseal"
 */
export async function pgTestUrl(): Promise<string | undefined> {
  return (await pgTarget()).url;
}

/**
 * Why there is no PostgreSQL for tests, or undefined when there is one.
 * @example describe("postgres", { skip: await pgSkipReason() ?? false }, () => { … });
 */
export async function pgSkipReason(): Promise<string | undefined> {
  const { url, reason } = await pgTarget();
  return url === undefined ? (reason ?? "no PostgreSQL server") : undefined;
}

function pgTarget(): Promise<PgTarget> {
  target ??= findTarget();
  return target;
}

async function findTarget(): Promise<PgTarget> {
  const given = process.env.SENSORSEAL_TEST_PG_URL;
  if (given) return { url: given };
  if (process.env.SENSORSEAL_TEST_PG === "0") return { reason: "PostgreSQL variants turned off (SENSORSEAL_TEST_PG=0)" };
  const script = path.resolve(import.meta.dirname, "../../scripts/test-postgres.sh");
  return new Promise((resolve) => {
    execFile("bash", [script], { timeout: 120_000 }, (error, stdout, stderr) => {
      const url = stdout.trim().split("\n").at(-1);
      if (!error && url?.startsWith("postgres://")) return resolve({ url });
      const why = stderr.trim().split("\n").at(-1) || error?.message || "scripts/test-postgres.sh gave no URL";
      resolve({ reason: `no PostgreSQL: SENSORSEAL_TEST_PG_URL is unset and starting a local cluster failed (${why})` });
    });
  });
}

/** A fresh database for one test run; `drop()` removes it. */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * Creates a database with a random name (`<prefix>_<12 hex>`) on the server of `baseUrl` (its role
 * needs CREATEDB).
 * @example const db = await createTestDatabase(url); try { … db.url … } finally { await db.drop(); }
 */
export async function createTestDatabase(baseUrl: string, prefix = "sensorseal_test"): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await admin(baseUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin(baseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/**
 * A fresh database on the test server ({@link pgTestUrl}); throws when there is none (callers skip first
 * with {@link pgSkipReason}).
 * @example const db = await freshTestDatabase(); try { … db.url … } finally { await db.drop(); }
 */
export async function freshTestDatabase(): Promise<TestDatabase> {
  const base = await pgTestUrl();
  if (base === undefined) throw new Error("no PostgreSQL server");
  return createTestDatabase(base);
}

async function admin(baseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
