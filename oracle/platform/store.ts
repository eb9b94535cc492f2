import type { SqlDatabase, SqlExecutor } from "../store/sql.js";

/**
 * The platform's tables. Written for SQLite; `SqlDatabase.migrate` translates them for PostgreSQL.
 * Payloads and signatures are bytes (BLOB / BYTEA), kept exactly as received.
 */
export const PLATFORM_SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  device TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  data_hash BLOB NOT NULL,
  payload BLOB NOT NULL,
  signature BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (device, seq)
);
CREATE INDEX IF NOT EXISTS readings_device_ts ON readings (device, ts);
CREATE TABLE IF NOT EXISTS equivocations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  device TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  data_hash BLOB NOT NULL,
  payload BLOB NOT NULL,
  signature BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (device, seq, data_hash)
);
`;

/** A reading as stored: `device` lowercase hex, bytes as received, `receivedAt` in ms since the epoch. */
export interface StoredReading {
  device: string;
  seq: number;
  ts: number;
  dataHash: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
  receivedAt: number;
}

/** A second, different payload signed by the device for a (device, seq) it had already used. */
export interface StoredEquivocation {
  id: number;
  /** What the platform stored first for this (device, seq). */
  stored: StoredReading;
  /** The conflicting reading (also validly signed: that is what makes it evidence). */
  conflicting: StoredReading;
}

/** What happened to one reading handed to {@link PlatformStore.putReadings}. */
export type PutOutcome =
  | { outcome: "stored"; reading: StoredReading }
  | { outcome: "duplicate"; reading: StoredReading }
  | { outcome: "conflict"; reading: StoredReading; existing: StoredReading };

interface ReadingRow {
  device: string;
  seq: number;
  ts: number;
  data_hash: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
  received_at: number;
}

const READING_COLUMNS = "device, seq, ts, data_hash, payload, signature, received_at";

/** An equivocation row with the reading it conflicts with (`r_…`). */
type EquivocationRow = ReadingRow & { id: number } & { [K in keyof ReadingRow as `r_${K}`]: ReadingRow[K] };

const EQUIVOCATION_SELECT = `SELECT e.id, e.device, e.seq, e.ts, e.data_hash, e.payload, e.signature, e.received_at,
       r.device AS r_device, r.seq AS r_seq, r.ts AS r_ts, r.data_hash AS r_data_hash, r.payload AS r_payload,
       r.signature AS r_signature, r.received_at AS r_received_at
  FROM equivocations e JOIN readings r ON r.device = e.device AND r.seq = e.seq`;

/** (device, seq) pairs per lookup statement: one statement shape whatever the count (prepared once, planned once). */
const LOOKUP_CHUNK = 100;

/** `(device = ? AND seq = ?) OR …`, LOOKUP_CHUNK times, on the primary key (or the equivocations' unique index). */
const pairsWhere = (prefix: string) =>
  `(${Array.from({ length: LOOKUP_CHUNK }, () => `(${prefix}device = ? AND ${prefix}seq = ?)`).join(" OR ")})`;

/** The parameters of {@link pairsWhere}: a short chunk repeats its last pair (the same row, matched once). */
function lookupParams(chunk: readonly { device: string; seq: number }[]): unknown[] {
  const params: unknown[] = [];
  for (let i = 0; i < LOOKUP_CHUNK; i++) {
    const pair = chunk[Math.min(i, chunk.length - 1)]!;
    params.push(pair.device.toLowerCase(), pair.seq);
  }
  return params;
}

function fromEquivocationRow(row: EquivocationRow): StoredEquivocation {
  return {
    id: Number(row.id),
    conflicting: fromRow(row),
    stored: fromRow({
      device: row.r_device,
      seq: row.r_seq,
      ts: row.r_ts,
      data_hash: row.r_data_hash,
      payload: row.r_payload,
      signature: row.r_signature,
      received_at: row.r_received_at,
    }),
  };
}

/**
 * The platform's raw-data store over a {@link SqlDatabase} (SQLite or PostgreSQL, same SQL).
 *
 * @example
 * const store = await PlatformStore.open(await openDatabase(":memory:"));
 * const [result] = await store.putReadings([reading]); // { outcome: "stored", reading }
 */
export class PlatformStore {
  private constructor(readonly db: SqlDatabase) {}

  /**
   * Applies the schema (idempotent) and returns the store.
   * @example const store = await PlatformStore.open(await openDatabase("data/platform.sqlite"));
   */
  static async open(db: SqlDatabase): Promise<PlatformStore> {
    await db.migrate(PLATFORM_SCHEMA);
    return new PlatformStore(db);
  }

  /**
   * Stores verified readings in one transaction, in order. A new (device, seq) is stored; the same
   * payload again is a duplicate (nothing changes); a different payload for a stored (device, seq)
   * is a conflict, kept once in `equivocations` as evidence. `committed` is called once the
   * transaction committed, before it is durable (oracle/store/sql.ts).
   *
   * @example
   * const [r] = await store.putReadings([reading]); if (r.outcome === "conflict") console.log(r.existing);
   */
  putReadings(readings: readonly StoredReading[], committed?: () => void): Promise<PutOutcome[]> {
    return this.db.transaction(
      async (tx) => {
        const outcomes: PutOutcome[] = [];
        for (const reading of readings) outcomes.push(await putOne(tx, reading));
        return outcomes;
      },
      { committed },
    );
  }

  /**
   * One reading, or undefined.
   * @example const r = await store.getReading("0xabc…", 7);
   */
  async getReading(device: string, seq: number): Promise<StoredReading | undefined> {
    const rows = await this.db.query<ReadingRow>(`SELECT ${READING_COLUMNS} FROM readings WHERE device = ? AND seq = ?`, [
      device.toLowerCase(),
      seq,
    ]);
    return rows[0] && fromRow(rows[0]);
  }

  /**
   * A device's readings with `from ≤ ts ≤ to` and `seq > afterSeq`, by ascending seq, at most `limit`.
   * @example const page = await store.listReadings("0xabc…", { afterSeq: 0, limit: 100 });
   */
  async listReadings(
    device: string,
    { from, to, afterSeq = 0, limit }: { from?: number; to?: number; afterSeq?: number; limit: number },
  ): Promise<StoredReading[]> {
    const where = ["device = ?", "seq > ?"];
    const params: unknown[] = [device.toLowerCase(), afterSeq];
    if (from !== undefined) {
      where.push("ts >= ?");
      params.push(from);
    }
    if (to !== undefined) {
      where.push("ts <= ?");
      params.push(to);
    }
    params.push(limit);
    const rows = await this.db.query<ReadingRow>(
      `SELECT ${READING_COLUMNS} FROM readings WHERE ${where.join(" AND ")} ORDER BY seq ASC LIMIT ?`,
      params,
    );
    return rows.map(fromRow);
  }

  /**
   * A device's equivocations (oldest first) with the reading each one conflicts with.
   * @example const evidence = await store.listEquivocations("0xabc…", { afterId: 0, limit: 100 });
   */
  async listEquivocations(device: string, { afterId = 0, limit }: { afterId?: number; limit: number }): Promise<StoredEquivocation[]> {
    const rows = await this.db.query<EquivocationRow>(`${EQUIVOCATION_SELECT} WHERE e.device = ? AND e.id > ? ORDER BY e.id ASC LIMIT ?`, [
      device.toLowerCase(),
      afterId,
      limit,
    ]);
    return rows.map(fromEquivocationRow);
  }

  /**
   * The readings stored for a list of (device, seq), and the equivocations recorded for those
   * (device, seq), in a few statements whatever the devices (a batch of many devices is one
   * lookup, not one request per device). Absent pairs are simply not in the answer; a pair asked
   * twice is answered once.
   *
   * @example const { readings, equivocations } = await store.lookup([{ device: "0xabc…", seq: 7 }]);
   */
  async lookup(
    pairs: readonly { device: string; seq: number }[],
  ): Promise<{ readings: StoredReading[]; equivocations: StoredEquivocation[] }> {
    const unique = [...new Map(pairs.map((p) => [`${p.device.toLowerCase()}:${p.seq}`, p])).values()];
    const readings: StoredReading[] = [];
    const equivocations: StoredEquivocation[] = [];
    for (let start = 0; start < unique.length; start += LOOKUP_CHUNK) {
      const params = lookupParams(unique.slice(start, start + LOOKUP_CHUNK));
      for (const row of await this.db.query<ReadingRow>(`SELECT ${READING_COLUMNS} FROM readings WHERE ${pairsWhere("")}`, params))
        readings.push(fromRow(row));
      for (const row of await this.db.query<EquivocationRow>(`${EQUIVOCATION_SELECT} WHERE ${pairsWhere("e.")} ORDER BY e.id ASC`, params))
        equivocations.push(fromEquivocationRow(row));
    }
    return { readings, equivocations };
  }

  /**
   * Row counts (for operators and tests).
   * @example const { readings, equivocations } = await store.counts();
   */
  async counts(): Promise<{ readings: number; equivocations: number }> {
    const [row] = await this.db.query<{ readings: number; equivocations: number }>(
      "SELECT (SELECT COUNT(*) FROM readings) AS readings, (SELECT COUNT(*) FROM equivocations) AS equivocations",
    );
    return { readings: Number(row!.readings), equivocations: Number(row!.equivocations) };
  }

  /**
   * True when the database answers.
   * @example if (!(await store.ping())) console.log("store down");
   */
  async ping(): Promise<boolean> {
    try {
      await this.db.query("SELECT 1 AS one");
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the database. */
  close(): Promise<void> {
    return this.db.close();
  }
}

async function putOne(tx: SqlExecutor, reading: StoredReading): Promise<PutOutcome> {
  const params = [
    reading.device.toLowerCase(),
    reading.seq,
    reading.ts,
    reading.dataHash,
    reading.payload,
    reading.signature,
    reading.receivedAt,
  ];
  // ON CONFLICT DO NOTHING: a concurrent insert of the same (device, seq) waits, then sees the row.
  const { changes } = await tx.run(
    `INSERT INTO readings (${READING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device, seq) DO NOTHING`,
    params,
  );
  if (changes === 1) return { outcome: "stored", reading };
  const [row] = await tx.query<ReadingRow>(`SELECT ${READING_COLUMNS} FROM readings WHERE device = ? AND seq = ?`, [
    params[0],
    reading.seq,
  ]);
  const existing = fromRow(row!);
  if (Buffer.compare(Buffer.from(existing.payload), Buffer.from(reading.payload)) === 0) {
    return { outcome: "duplicate", reading: existing };
  }
  await tx.run(
    `INSERT INTO equivocations (${READING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device, seq, data_hash) DO NOTHING`,
    params,
  );
  return { outcome: "conflict", reading, existing };
}

function fromRow(row: ReadingRow): StoredReading {
  return {
    device: row.device,
    seq: Number(row.seq),
    ts: Number(row.ts),
    dataHash: new Uint8Array(row.data_hash),
    payload: new Uint8Array(row.payload),
    signature: new Uint8Array(row.signature),
    receivedAt: Number(row.received_at),
  };
}
