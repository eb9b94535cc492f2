/**
 * How the auditor's store writes verdicts: multi-row upserts, and each device's latest VERIFIED
 * reading and verdict counts (`auditor_device_latest`) and the counts per status
 * (`auditor_verdict_counts`) kept exact in the same transaction, so that silence detection, the map and
 * the status endpoint read a few rows instead of the whole verdict table.
 *
 * @module
 */
import { insertRows, valuesTuples, type SqlExecutor } from "../store/sql.js";
import type { VerdictRow } from "./store.js";

/**
 * Rebuilds `auditor_device_latest` from every verdict (a store written before the table existed, a
 * rewind): per device, the VERIFIED verdict with the highest seq, and its verdict counts.
 */
export const REBUILD_DEVICE_LATEST = `
INSERT INTO auditor_device_latest (device, seq, ts, pm25, pm10, lat, lon, bad, total)
SELECT s.device, s.seq, v.ts, v.pm25, v.pm10, v.lat, v.lon, s.bad, s.total
  FROM (SELECT device, MAX(CASE WHEN status = 'VERIFIED' THEN seq END) AS seq,
               SUM(CASE WHEN status = 'VERIFIED' THEN 0 ELSE 1 END) AS bad, COUNT(*) AS total
          FROM auditor_verdicts GROUP BY device) s
  LEFT JOIN auditor_verdicts v ON v.device = s.device AND v.seq = s.seq AND v.status = 'VERIFIED'
 WHERE true
ON CONFLICT (device) DO NOTHING`;

/** Rebuilds `auditor_verdict_counts` from every verdict (a store written before the table existed, a rewind). */
export const REBUILD_VERDICT_COUNTS = `
INSERT INTO auditor_verdict_counts (status, n)
SELECT status, COUNT(*) FROM auditor_verdicts GROUP BY status`;

/** Rows per multi-row statement (verdicts, their previous statuses, device rows). */
const ROWS_PER_STATEMENT = 100;

const VERDICT_FIELDS = [
  "device",
  "seq",
  "source",
  "ts",
  "status",
  "problems",
  "batch_id",
  "block_number",
  "data_hash",
  "pm25",
  "pm10",
  "temperature",
  "humidity",
  "lat",
  "lon",
  "checked_at",
] as const;

/**
 * Upserts verdict rows with multi-row statements and keeps `auditor_device_latest` exact. New rows
 * (nearly all: each reading is checked once) are inserted first, the insert answering which were new;
 * only the others are read for their previous status and overwritten, so a redo counts nothing twice
 * and a verdict that stops being VERIFIED moves its device's latest reading back.
 */
export async function writeVerdicts(tx: SqlExecutor, rows: readonly VerdictRow[]): Promise<void> {
  // One row per key (the last wins, as one upsert after another would have it).
  const unique = [...new Map(rows.map((v) => [verdictKey(v.device, v.seq, v.source), v])).values()];
  const before = new Map<string, string>();
  const existing: VerdictRow[] = [];
  for (let start = 0; start < unique.length; start += ROWS_PER_STATEMENT) {
    const chunk = unique.slice(start, start + ROWS_PER_STATEMENT);
    const inserted = await tx.query<{ device: string; seq: number; source: string }>(
      `INSERT INTO auditor_verdicts (${VERDICT_FIELDS.join(", ")}) VALUES ${valuesTuples(chunk.length, VERDICT_FIELDS.length)}
       ON CONFLICT (device, seq, source) DO NOTHING RETURNING device, seq, source`,
      chunk.flatMap(verdictValues),
    );
    const isNew = new Set(inserted.map((r) => verdictKey(r.device, Number(r.seq), r.source)));
    existing.push(...chunk.filter((v) => !isNew.has(verdictKey(v.device, v.seq, v.source))));
  }
  for (let start = 0; start < existing.length; start += ROWS_PER_STATEMENT) {
    const chunk = existing.slice(start, start + ROWS_PER_STATEMENT);
    const found = await tx.query<{ device: string; seq: number; source: string; status: string }>(
      `SELECT device, seq, source, status FROM auditor_verdicts WHERE ${chunk.map(() => "(device = ? AND seq = ? AND source = ?)").join(" OR ")}`,
      chunk.flatMap((v) => [v.device.toLowerCase(), v.seq, v.source]),
    );
    for (const f of found) before.set(verdictKey(f.device, Number(f.seq), f.source), f.status);
    await tx.run(
      `INSERT INTO auditor_verdicts (${VERDICT_FIELDS.join(", ")}) VALUES ${valuesTuples(chunk.length, VERDICT_FIELDS.length)}
       ON CONFLICT (device, seq, source) DO UPDATE SET ts = excluded.ts, status = excluded.status, problems = excluded.problems,
         data_hash = excluded.data_hash, pm25 = excluded.pm25, pm10 = excluded.pm10, temperature = excluded.temperature,
         humidity = excluded.humidity, lat = excluded.lat, lon = excluded.lon, checked_at = excluded.checked_at`,
      chunk.flatMap(verdictValues),
    );
  }
  await updateDeviceLatest(tx, unique, before);
  await updateStatusCounts(tx, unique, before);
}

/** Adds this write's changes to the counts per status: +1 for each row's status, −1 for the status it replaced. */
async function updateStatusCounts(tx: SqlExecutor, rows: readonly VerdictRow[], before: ReadonlyMap<string, string>): Promise<void> {
  const delta = new Map<string, number>();
  for (const v of rows) {
    delta.set(v.status, (delta.get(v.status) ?? 0) + 1);
    const was = before.get(verdictKey(v.device, v.seq, v.source));
    if (was !== undefined) delta.set(was, (delta.get(was) ?? 0) - 1);
  }
  await insertRows(
    tx,
    "INSERT INTO auditor_verdict_counts (status, n)",
    [...delta].filter(([, n]) => n !== 0),
    "ON CONFLICT (status) DO UPDATE SET n = auditor_verdict_counts.n + excluded.n",
  );
}

const verdictKey = (device: string, seq: number, source: string) => `${device.toLowerCase()}:${seq}:${source}`;

/** A row's values in {@link VERDICT_FIELDS} order. */
const verdictValues = (v: VerdictRow) => [
  v.device.toLowerCase(),
  v.seq,
  v.source,
  v.ts,
  v.status,
  v.problems,
  v.batchId,
  v.blockNumber,
  v.dataHash,
  v.pm25,
  v.pm10,
  v.temperature,
  v.humidity,
  v.lat,
  v.lon,
  v.checkedAt,
];

/** Adds this write's counts to each device's row and moves its latest VERIFIED reading forward (or back, read again). */
async function updateDeviceLatest(tx: SqlExecutor, rows: readonly VerdictRow[], before: ReadonlyMap<string, string>): Promise<void> {
  const devices = new Map<string, { bad: number; total: number; latest?: VerdictRow; lost: boolean }>();
  for (const v of rows) {
    const device = v.device.toLowerCase();
    const was = before.get(verdictKey(device, v.seq, v.source));
    const d = devices.get(device) ?? { bad: 0, total: 0, lost: false };
    if (was === undefined) d.total++;
    d.bad += (v.status === "VERIFIED" ? 0 : 1) - (was === undefined || was === "VERIFIED" ? 0 : 1);
    if (v.status === "VERIFIED" && (d.latest === undefined || v.seq > d.latest.seq)) d.latest = v;
    if (was === "VERIFIED" && v.status !== "VERIFIED") d.lost = true;
    devices.set(device, d);
  }
  const entries = [...devices];
  const newer = "excluded.seq IS NOT NULL AND (auditor_device_latest.seq IS NULL OR excluded.seq >= auditor_device_latest.seq)";
  const pick = (c: string) => `${c} = CASE WHEN ${newer} THEN excluded.${c} ELSE auditor_device_latest.${c} END`;
  await insertRows(
    tx,
    "INSERT INTO auditor_device_latest (device, seq, ts, pm25, pm10, lat, lon, bad, total)",
    entries.map(([device, d]) => [
      device,
      d.latest?.seq ?? null,
      d.latest?.ts ?? null,
      d.latest?.pm25 ?? null,
      d.latest?.pm10 ?? null,
      d.latest?.lat ?? null,
      d.latest?.lon ?? null,
      d.bad,
      d.total,
    ]),
    `ON CONFLICT (device) DO UPDATE SET ${["ts", "pm25", "pm10", "lat", "lon"].map(pick).join(", ")}, ${pick("seq")},
       bad = auditor_device_latest.bad + excluded.bad, total = auditor_device_latest.total + excluded.total`,
    ROWS_PER_STATEMENT,
  );
  // A verdict that stopped being VERIFIED (a re-verification): its device's latest is read again (rare).
  for (const [device] of entries.filter(([, d]) => d.lost))
    await tx.run(
      `UPDATE auditor_device_latest SET (seq, ts, pm25, pm10, lat, lon) =
         (SELECT seq, ts, pm25, pm10, lat, lon FROM auditor_verdicts WHERE device = ? AND status = 'VERIFIED' ORDER BY seq DESC LIMIT 1)
       WHERE device = ?`,
      [device, device],
    );
}
