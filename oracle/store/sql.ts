import { open, type FileHandle } from "node:fs/promises";
import type { Worker } from "node:worker_threads";

import Database from "better-sqlite3";
import pg from "pg";

import { startWorker } from "../core/worker-thread.js";
import { createLogger } from "../service/logger.js";

/** Runs statements; inside `transaction`, on the transaction's connection. */
export interface SqlExecutor {
  /** Rows of a query. Placeholders are `?`, in both dialects. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** A statement without rows; answers how many rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
}

/** Options of {@link SqlDatabase.transaction}. */
export interface TransactionOptions {
  /** Called once the transaction committed, possibly before it is durable. */
  committed?: () => void;
}

/**
 * The store every service writes through: SQLite (embedded, one file per service) or PostgreSQL
 * (scale-out), chosen by the URL. SQL is written once, in the subset both accept
 * (`?` placeholders, `ON CONFLICT`, `RETURNING`); `migrate` translates the few DDL words that differ.
 */
export interface SqlDatabase extends SqlExecutor {
  readonly dialect: "sqlite" | "postgres";
  /**
   * Runs `fn` in one transaction: all of it commits or none of it does. Resolves once it is durable;
   * `committed` is called as soon as it committed (on SQLite, before its log flush: the store can
   * take the next transaction meanwhile).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Applies DDL written for SQLite (`INTEGER PRIMARY KEY AUTOINCREMENT`, `BLOB`) in either dialect. */
  migrate(ddl: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens `postgres://…` / `postgresql://…` as PostgreSQL, anything else as a SQLite file path
 * (`:memory:` too).
 *
 * @example const db = await openDatabase(process.env.DATABASE_URL ?? "data/relayer.sqlite");
 */
export async function openDatabase(url: string): Promise<SqlDatabase> {
  if (/^postgres(ql)?:\/\//.test(url)) return PostgresDatabase.connect(url);
  return new SqliteDatabase(url);
}

/**
 * One connection; an async mutex keeps a transaction's awaits from interleaving with other work.
 *
 * Durability: every write resolves only after the write-ahead log holding it was flushed to disk
 * (fdatasync), as with `synchronous = FULL`, but that flush runs on libuv's thread pool instead of
 * blocking the event loop inside COMMIT (SQLite itself runs with `synchronous = NORMAL`, which in WAL
 * mode syncs only at checkpoints). The next statement need not wait for that flush: a statement's answer
 * waits until every write committed before it ended is on disk, and one flush covers every commit made
 * before it started, so commits that arrive while a flush runs share the next one (group commit across
 * transactions). Nothing read or answered is newer than what is on disk.
 *
 * Checkpoints (copying the log back into the database file, then syncing it) run on a worker thread
 * with its own connection ({@link WalCheckpointer}), not inside a COMMIT on the event loop, where
 * SQLite's automatic checkpoint would run them.
 */
class SqliteDatabase implements SqlDatabase {
  readonly dialect = "sqlite" as const;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  #queue: Promise<unknown> = Promise.resolve();
  /** The write-ahead log this connection flushes after each write; undefined without one (`:memory:`). */
  readonly #walPath: string | undefined;
  #wal: FileHandle | undefined;
  /** Whether the statement or transaction running now wrote to the log. */
  #wrote = false;
  /** Writes committed so far, and how many of them a finished flush covers. */
  #committed = 0;
  #flushed = 0;
  #flushing: Promise<void> | undefined;
  readonly #checkpointer: WalCheckpointer | undefined;
  /** Write-ahead-log flushes so far (tests, operators). */
  syncs = 0;

  constructor(file: string) {
    this.#db = new Database(file);
    const mode = this.#db.pragma("journal_mode = WAL", { simple: true });
    this.#walPath = mode === "wal" ? `${this.#db.name}-wal` : undefined;
    // An answered write survives a crash: FULL where there is no log to flush ourselves.
    this.#db.pragma(`synchronous = ${this.#walPath === undefined ? "FULL" : "NORMAL"}`);
    this.#db.pragma("busy_timeout = 5000");
    this.#db.pragma("foreign_keys = ON");
    if (this.#walPath !== undefined) {
      this.#db.pragma("wal_autocheckpoint = 0");
      // When the log restarts, its file is cut back to this size (else it keeps its largest size on disk).
      this.#db.pragma(`journal_size_limit = ${64 * 2 ** 20}`);
      this.#checkpointer = new WalCheckpointer(
        this.#db.name,
        (fn) => this.#exclusive(fn),
        () => this.#db.pragma("wal_autocheckpoint = 1000"),
      );
    }
  }

  /** Checkpoints the worker thread has run so far (tests, operators). */
  get checkpoints(): number {
    return this.#checkpointer?.checkpoints ?? 0;
  }

  /** Writes a finished flush covers (tests, operators): every write up to this one is on disk. */
  get durableWrites(): number {
    return this.#walPath === undefined ? this.#committed : this.#flushed;
  }

  /** Resolves once every write committed so far is on disk, flushing the log as needed. */
  async #durable(): Promise<void> {
    if (this.#walPath === undefined) return; // synchronous = FULL: COMMIT synced it
    const target = this.#committed;
    while (this.#flushed < target) {
      // A flush already running may have started before the target's commit: then one more after it.
      this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
      await this.#flushing;
    }
  }

  /** One fdatasync of the log, covering every write committed before it started. */
  async #flush(): Promise<void> {
    const covers = this.#committed;
    // SQLite keeps its log file (same inode) for the connection's life: one handle serves every flush.
    this.#wal ??= await open(this.#walPath as string, "r");
    await this.#wal.datasync();
    this.#flushed = covers;
    this.syncs++;
    this.#checkpointer?.wrote();
  }

  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  readonly #executor: SqlExecutor = {
    query: async <T>(sql: string, params: readonly unknown[] = []) => {
      const statement = this.#prepare(sql);
      if (!statement.readonly) this.#wrote = true; // INSERT … RETURNING
      return statement.all(...params.map(toSqlite)) as T[];
    },
    run: async (sql: string, params: readonly unknown[] = []) => {
      const statement = this.#prepare(sql);
      if (!statement.readonly) this.#wrote = true;
      return { changes: statement.run(...params.map(toSqlite)).changes };
    },
  };

  /**
   * Runs `fn` alone; the next statement starts as soon as it ends, while its answer waits until what
   * it wrote, and everything committed before, is on disk.
   */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      this.#wrote = false;
      try {
        return await fn();
      } finally {
        if (this.#wrote) this.#committed++;
        this.#wrote = false;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run.finally(() => this.#durable());
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.#exclusive(() => this.#executor.query<T>(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    return this.#exclusive(() => this.#executor.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.#exclusive(async () => {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn(this.#executor);
        this.#db.exec("COMMIT");
        options?.committed?.();
        return result;
      } catch (error) {
        this.#db.exec("ROLLBACK");
        this.#wrote = false; // nothing of it reached the log
        throw error;
      }
    });
  }

  migrate(ddl: string): Promise<void> {
    return this.#exclusive(async () => {
      this.#wrote = true;
      this.#db.exec(ddl);
    });
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#durable();
    await this.#checkpointer?.close();
    await this.#wal?.close();
    this.#wal = undefined;
    this.#db.close();
  }
}

/** A checkpoint is due this long after the last (the first, this long after opening: a short-lived store starts no thread). */
const CHECKPOINT_INTERVAL_MS = 250;
const FIRST_CHECKPOINT_MS = 1000;

/**
 * Runs SQLite's checkpoints for one connection on a worker thread (oracle/store/checkpoint-worker.ts),
 * started at the first write that needs one. A checkpoint, due after a write `CHECKPOINT_INTERVAL_MS`
 * after the last, is two passes: one while writes go on (it copies the bulk of the log), then one with
 * the connection's writes held back by `exclusive` (it copies the few frames written meanwhile). The
 * log restarts from its beginning only after a pass that copied all of it, so without the second
 * pass steady writes would grow it without end; while it runs, the event loop stays free and writes
 * wait, as they would for SQLite's own checkpoint inside COMMIT. A checkpointer that fails hands
 * checkpoints back to SQLite (`fallback`) and is not started again.
 */
class WalCheckpointer {
  #worker: Worker | undefined;
  #running = false;
  #failed = false;
  #closed = false;
  #dueAt = performance.now() + FIRST_CHECKPOINT_MS;
  #answer: ((answer: { error?: string }) => void) | undefined;
  /** Checkpoints completed so far. */
  checkpoints = 0;

  constructor(
    readonly file: string,
    readonly exclusive: (fn: () => Promise<void>) => Promise<void>,
    readonly fallback: () => void,
  ) {}

  /** A write reached the log: starts a checkpoint if one is due. */
  wrote(): void {
    if (this.#running || this.#failed || this.#closed || performance.now() < this.#dueAt) return;
    this.#running = true;
    this.#checkpoint().then(
      () => {
        this.checkpoints++;
        this.#dueAt = performance.now() + CHECKPOINT_INTERVAL_MS;
        this.#running = false;
      },
      (error: unknown) => this.#fail(error),
    );
  }

  async #checkpoint(): Promise<void> {
    this.#worker ??= this.#start();
    await this.#pass();
    await this.exclusive(() => this.#pass());
  }

  #pass(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return Promise.resolve(); // closed meanwhile
    return new Promise((resolve, reject) => {
      this.#answer = ({ error }) => (error === undefined ? resolve() : reject(new Error(error)));
      worker.postMessage({ checkpoint: true });
    });
  }

  #start(): Worker {
    const worker = startWorker(import.meta.url, "checkpoint-worker");
    worker.unref(); // an idle checkpointer keeps no process alive; close() ends it
    worker.postMessage({ open: this.file });
    worker.on("message", (answer: { error?: string }) => {
      const answered = this.#answer;
      this.#answer = undefined;
      answered?.(answer);
    });
    const lost = (error: unknown) => {
      if (this.#worker !== worker) return;
      const answered = this.#answer;
      this.#answer = undefined;
      if (answered === undefined) this.#fail(error);
      else answered({ error: error instanceof Error ? error.message : String(error) }); // fails the checkpoint
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`the checkpoint thread exited (code ${code})`)));
    return worker;
  }

  #fail(error: unknown): void {
    this.#running = false;
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    storeLogger().warn({ err: error, file: this.file }, "the checkpoint thread failed; SQLite checkpoints inside COMMIT again");
    const worker = this.#worker;
    this.#worker = undefined;
    this.fallback();
    void worker?.terminate();
  }

  /** Ends the thread (after its running pass). Called with the connection's queue drained. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker === undefined) return;
    const ended = new Promise<void>((resolve) => {
      worker.once("exit", () => resolve());
    });
    worker.ref(); // the process waits for the thread's end
    worker.postMessage({ close: true }); // queued behind a running pass
    await ended;
  }
}

function toSqlite(value: unknown): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value;
}

class PostgresDatabase implements SqlDatabase {
  readonly dialect = "postgres" as const;
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  static async connect(url: string): Promise<PostgresDatabase> {
    const pool = new pg.Pool({
      connectionString: url,
      max: Number(process.env.PG_POOL_SIZE ?? 10),
      // BIGINT and NUMERIC come back as numbers: ids, sequences and timestamps stay below 2^53.
      types: {
        getTypeParser: ((oid: number, format?: "text" | "binary") =>
          oid === 20 || oid === 1700 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client's error (server restart, network cut) is emitted on the pool: without a listener
    // it would crash the process; the pool drops that client and the next query opens a new one.
    pool.on("error", (error) => storeLogger().warn({ err: error }, "PostgreSQL idle client failed; the pool replaces it"));
    const client = await pool.connect(); // fail fast on a wrong URL
    client.release();
    return new PostgresDatabase(pool);
  }

  /** The pool itself, for libraries that take a pg Pool (the shared quotas, oracle/service/limiter.ts). */
  get pool(): pg.Pool {
    return this.#pool;
  }

  static #executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
    return {
      query: async <T>(sql: string, params: readonly unknown[] = []) =>
        (await client.query(toPostgres(sql), params as unknown[])).rows as T[],
      run: async (sql: string, params: readonly unknown[] = []) => ({
        changes: (await client.query(toPostgres(sql), params as unknown[])).rowCount ?? 0,
      }),
    };
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return PostgresDatabase.#executor(this.#pool).query<T>(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    return PostgresDatabase.#executor(this.#pool).run(sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const result = await fn(PostgresDatabase.#executor(client));
      await client.query("COMMIT");
      options?.committed?.();
      return result;
    } catch (error) {
      await client.query("ROLLBACK");
      throw error;
    } finally {
      client.release();
    }
  }

  async migrate(ddl: string): Promise<void> {
    const translated = ddl
      .replace(/INTEGER PRIMARY KEY AUTOINCREMENT/gi, "BIGSERIAL PRIMARY KEY")
      .replace(/\bBLOB\b/gi, "BYTEA")
      .replace(/\bINTEGER\b/gi, "BIGINT");
    await this.#pool.query(translated);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/**
 * `(?, ?, …), (?, ?, …)`: `rows` tuples of `width` placeholders, a multi-row VALUES list.
 * @example valuesTuples(2, 3); // "(?, ?, ?), (?, ?, ?)"
 */
export const valuesTuples = (rows: number, width: number): string =>
  Array<string>(rows)
    .fill(`(${Array<string>(width).fill("?").join(", ")})`)
    .join(", ");

/**
 * Runs `${head} VALUES (…), (…) ${tail}` over `rows` (all of one width), `rowsPerStatement` rows per
 * statement: one statement per chunk instead of one per row (each a round trip on PostgreSQL). Keys
 * must be unique within `rows` when `tail` is an `ON CONFLICT … DO UPDATE` (PostgreSQL refuses a row
 * updated twice by one statement). Answers the rows changed.
 *
 * @example await insertRows(tx, "INSERT INTO t (a, b)", [[1, "x"], [2, "y"]], "ON CONFLICT (a) DO NOTHING");
 */
export async function insertRows(
  tx: SqlExecutor,
  head: string,
  rows: readonly (readonly unknown[])[],
  tail = "",
  rowsPerStatement = 100,
): Promise<number> {
  let changes = 0;
  for (let i = 0; i < rows.length; i += rowsPerStatement) {
    const chunk = rows.slice(i, i + rowsPerStatement);
    changes += (await tx.run(`${head} VALUES ${valuesTuples(chunk.length, chunk[0].length)} ${tail}`, chunk.flat())).changes;
  }
  return changes;
}

/**
 * The pg Pool of a PostgreSQL store (undefined for SQLite), for a library that wants one.
 * @example const pool = postgresPool(db); // pg.Pool | undefined
 */
export function postgresPool(db: SqlDatabase): pg.Pool | undefined {
  return db instanceof PostgresDatabase ? db.pool : undefined;
}

let logger: ReturnType<typeof createLogger> | undefined;
function storeLogger(): ReturnType<typeof createLogger> {
  logger ??= createLogger("store");
  return logger;
}

/** `?` placeholders → `$1, $2, …` (no `?` appears inside our SQL's string literals). */
function toPostgres(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/** Creates the folder of a SQLite file so `openDatabase` can make the file (no-op for PostgreSQL and `:memory:`). */
export async function ensureStoreFolder(url: string): Promise<void> {
  if (/^postgres(ql)?:\/\//.test(url) || url === ":memory:") return;
  const { mkdir } = await import("node:fs/promises");
  const path = await import("node:path");
  await mkdir(path.dirname(path.resolve(url)), { recursive: true });
}

/** A database URL without its password, for logs. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
