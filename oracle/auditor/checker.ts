/**
 * Checks one work item with the verifier library (no rule is restated here): an anchored batch is
 * audited from its manifest (fetched from the relayer's registered URL, size-capped, by the
 * verifier), then each of its readings is judged against the platform's raw payload; a direct
 * submission is judged as the verifier judges any reading. The outcome is verdict rows and alerts,
 * or "could not check" with a reason (retried; nothing recorded).
 *
 * @module
 */
import type { Address } from "viem";

import { BatchIssue, ReadingVerdict, type ReadingResult, type Verifier } from "../verifier/index.js";
import { PrefetchingPlatform } from "./platform-cache.js";
import type { NewAlert, VerdictRow, WorkItem } from "./store.js";

/** Statuses that can change with time (in flight, platform or manifest late): rechecked before they are final. */
export const TRANSIENT_VERDICTS: readonly string[] = [
  ReadingVerdict.RAW_MISSING,
  ReadingVerdict.UNAVAILABLE,
  ReadingVerdict.NOT_ANCHORED,
  "PENDING",
];

/** Statuses that raise an alert (with MANIFEST_MISSING, raised per batch). */
export const ALERT_VERDICTS: readonly string[] = [
  ReadingVerdict.TAMPERED,
  ReadingVerdict.BAD_SIGNATURE,
  ReadingVerdict.EQUIVOCATION,
  ReadingVerdict.SEQUENCE_GAP,
  ReadingVerdict.CENSORED,
  ReadingVerdict.MANIFEST_MISMATCH,
];

/** The outcome of checking one item. */
export type CheckOutcome =
  | { kind: "checked"; verdicts: VerdictRow[]; alerts: NewAlert[]; readings: number; transient: VerdictRow[] }
  | { kind: "unchecked"; reason: string; alerts: NewAlert[]; staleVerifier: boolean };

/**
 * Checks a work item; never throws (a failure is an `unchecked` outcome). A batch's payloads are read
 * through a cache of its own (items checked at once never share one, and a retry reads afresh); a
 * direct submission through `platform`, emptied before and after.
 */
export async function checkItem(
  verifier: Verifier,
  platform: { url: string; apiKey: string },
  item: WorkItem,
  concurrency: number,
): Promise<CheckOutcome> {
  try {
    return item.kind === "batch"
      ? await checkBatch(verifier, new PrefetchingPlatform(platform.url, platform.apiKey), item, concurrency)
      : await checkDirect(verifier, item);
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { kind: "unchecked", reason: `${code ?? "ERROR"}: ${(error as Error).message}`.slice(0, 500), alerts: [], staleVerifier: false };
  }
}

async function checkBatch(verifier: Verifier, platform: PrefetchingPlatform, item: WorkItem, concurrency: number): Promise<CheckOutcome> {
  const batchId = Number(item.ref);
  // One registry sync, one chain clock, payloads per device and signatures in the pool for the whole batch.
  const { batch, readings } = await verifier.verifyBatchReadings(batchId, { concurrency, platform });
  const missing = batch.issues.find((i) => i.issue === BatchIssue.MANIFEST_MISSING);
  if (missing !== undefined)
    return {
      kind: "unchecked",
      reason: `MANIFEST_MISSING: ${missing.message}`,
      staleVerifier: true, // the verifier caches the failed audit: the retry needs a fresh one
      alerts: [
        {
          key: `manifest:${batchId}`,
          kind: "MANIFEST_MISSING",
          batchId,
          message: `batch ${batchId}: no manifest at its relayer's registered URL`,
          details: { issue: missing.message },
        },
      ],
    };
  // Not authentic: the batch's own verdicts (MANIFEST_MISMATCH on each reading, if it parsed) are the finding.
  const batchAlerts: NewAlert[] = batch.issues.map((i) => ({
    key: `batch:${batchId}:${i.issue}`,
    kind: ReadingVerdict.MANIFEST_MISMATCH,
    batchId,
    message: `batch ${batchId}: ${i.issue}: ${i.message}`,
  }));
  const rows = await Promise.all(readings.map((r) => verdictRow(r, `batch:${batchId}`, item.blockNumber, batchId, platform)));
  return finishCheck(rows, batchAlerts);
}

async function checkDirect(verifier: Verifier, item: WorkItem): Promise<CheckOutcome> {
  const { device, seq } = JSON.parse(item.detail ?? "{}") as { device: Address; seq: number };
  const platform = verifier.platform as PrefetchingPlatform | undefined;
  platform?.clear();
  try {
    await verifier.registry.sync();
    const result = await verifier.verifyReading(device, seq);
    return finishCheck([await verdictRow(result, `direct:${item.ref}`, item.blockNumber, null, platform)], []);
  } finally {
    platform?.clear();
  }
}

function finishCheck(rows: VerdictRow[], extra: NewAlert[]): CheckOutcome {
  const transient = rows.filter((r) => TRANSIENT_VERDICTS.includes(r.status));
  const verdicts = rows.filter((r) => !TRANSIENT_VERDICTS.includes(r.status));
  const alerts = [...extra];
  for (const v of verdicts) {
    const problems = v.problems === null ? [] : (JSON.parse(v.problems) as { status: string; message: string }[]);
    for (const p of problems)
      if (ALERT_VERDICTS.includes(p.status))
        alerts.push({
          key: `${p.status}:${v.device}:${v.seq}:${v.source}`,
          kind: p.status,
          device: v.device,
          seq: v.seq,
          ...(v.batchId === null ? {} : { batchId: v.batchId }),
          message: `${v.device} #${v.seq}: ${p.message}`,
        });
  }
  return { kind: "checked", verdicts, alerts, readings: rows.length, transient };
}

/** A verdict row with the reading's sensor values and location (from the platform's payload). */
async function verdictRow(
  r: ReadingResult,
  source: string,
  blockNumber: number,
  batchId: number | null,
  platform: PrefetchingPlatform | undefined,
): Promise<VerdictRow> {
  const raw = r.status === ReadingVerdict.RAW_MISSING ? undefined : await platform?.reading(r.device, r.seq).catch(() => undefined);
  const values = raw === undefined || r.payloadHash === undefined ? {} : sensorValues(raw.payload);
  return {
    device: r.device.toLowerCase(),
    seq: r.seq,
    source,
    ts: r.timestamp ?? null,
    status: r.status,
    problems: r.problems.length === 0 ? null : JSON.stringify(r.problems.map((p) => ({ status: p.status, message: p.message }))),
    batchId,
    blockNumber,
    dataHash: r.anchoredDataHash ?? r.payloadHash ?? null,
    pm25: values.pm25 ?? null,
    pm10: values.pm10 ?? null,
    temperature: values.temperature ?? null,
    humidity: values.humidity ?? null,
    lat: values.lat ?? null,
    lon: values.lon ?? null,
    checkedAt: Math.floor(Date.now() / 1000),
  };
}

/** The air-quality fields of a schema-v1 payload (missing or non-numeric fields are left out). */
export function sensorValues(payload: string): Partial<Record<"pm25" | "pm10" | "temperature" | "humidity" | "lat" | "lon", number>> {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return {};
  }
  const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : undefined);
  const loc = (v.loc ?? {}) as Record<string, unknown>;
  const out: Partial<Record<"pm25" | "pm10" | "temperature" | "humidity" | "lat" | "lon", number>> = {};
  const set = (k: keyof typeof out, x: unknown) => {
    const n = num(x);
    if (n !== undefined) out[k] = n;
  };
  set("pm25", v.pm2_5_ugm3);
  set("pm10", v.pm10_ugm3);
  set("temperature", v.temperature_c);
  set("humidity", v.humidity_pct);
  if (typeof loc === "object" && loc !== null) {
    set("lat", loc.lat);
    set("lon", loc.lon);
  }
  return out;
}
