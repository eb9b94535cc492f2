/**
 * The platform's reading intake route, `POST /v1/readings`: one `{ payload, signature }` (201 stored,
 * 200 duplicate, 409 SEQUENCE_CONFLICT, or the rejection's status) or an array of them (200 with a
 * result per item). Each reading is checked by ingest.ts within its client address's check budget
 * (signature-budget.ts: a refused one costs the address a point), charged to its device's quota, then stored. Each
 * refused item of a bulk is counted by code in the refusals metric, as a refused request is.
 *
 * @module
 */
import type { Request, RequestHandler, Router } from "express";
import { getAddress, type Address } from "viem";

import { bytesToHex } from "../core/bytes.js";
import { handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import type { GroupCommit } from "../service/group-commit.js";
import type { Logger } from "../service/logger.js";
import type { ProcessMetrics } from "../service/process-metrics.js";
import type { ReadingVerifier, VerifiedReading } from "./ingest.js";
import type { DeviceQuota } from "./quota.js";
import type { SignatureBudget } from "../service/signature-budget.js";
import type { PlatformStore, PutOutcome, StoredReading } from "./store.js";

/** Per-item answer of a bulk submission. */
export type BulkItemResult =
  | { index: number; httpStatus: 200 | 201; status: "stored" | "duplicate"; device: Address; seq: number; dataHash: `0x${string}` }
  | { index: number; httpStatus: number; status: "rejected"; error: { code: string; message: string; details?: Record<string, unknown> } };

/** What the intake route works with. */
export interface SubmitOptions {
  store: PlatformStore;
  /** Group-commits accepted readings (shared transactions across concurrent requests). */
  writer: GroupCommit<StoredReading, PutOutcome>;
  verifier: ReadingVerifier;
  quota: DeviceQuota;
  /** Charges the readings refused to their client address, and bounds its readings in their checks. */
  budget: SignatureBudget;
  maxBulkItems: number;
  /** Its `refusals_total{code}` counts a bulk's refused items one by one (the bulk answers 200). */
  metrics: Pick<ProcessMetrics, "refusals">;
  logger: Logger;
  now: () => number;
}

/** Adds `POST /v1/readings` to `router`; answers its handler (the fast route runs it too, oracle/service/fast-route.ts). */
export function submitRoute(router: Router, o: SubmitOptions): RequestHandler {
  const submit = handle(async (req, res) => {
    const body: unknown = req.body;
    if (Array.isArray(body)) {
      const answer = await submitBulk(o, clientOf(req), body);
      countRefusedItems(o, req, answer.body.results);
      if (answer.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(answer.retryAfterSeconds));
      res.status(200).json(answer.body);
      return;
    }
    if (typeof body !== "object" || body === null) {
      throw new ServiceError("INVALID_JSON", "expected a JSON object or array body (Content-Type: application/json)");
    }
    const [checked] = await o.budget.checkEach(clientOf(req), [body], (item) => o.verifier.verify(item));
    if (!checked!.ok) throw checked!.error;
    const verified = checked!.value;
    await o.quota.charge(verified);
    const [outcome] = await o.writer.submit([toStored(verified, o.now())]);
    const { status, body: answer } = single(o, outcome!);
    res.status(status).json(answer);
  });
  router.post("/v1/readings", submit);
  return submit;
}

function single(o: SubmitOptions, outcome: PutOutcome): { status: number; body: unknown } {
  const r = outcome.reading;
  switch (outcome.outcome) {
    case "stored":
      o.logger.debug({ device: r.device, seq: r.seq }, "reading stored");
      return { status: 201, body: { status: "stored", ...summary(r) } };
    case "duplicate":
      return { status: 200, body: { status: "duplicate", ...summary(r) } };
    case "conflict": {
      const details = {
        device: getAddress(r.device),
        seq: r.seq,
        storedDataHash: bytesToHex(outcome.existing.dataHash),
        conflictingDataHash: bytesToHex(r.dataHash),
      };
      o.logger.warn({ event: "equivocation", ...details }, "equivocation: device signed two payloads for one seq");
      throw new ServiceError("SEQUENCE_CONFLICT", "another payload is stored for this device and seq", details);
    }
  }
}

/** The client address a reading is charged to (express `req.ip`, which honours `trust proxy`). */
function clientOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? "unknown";
}

/**
 * Counts each refused item of a bulk answer by code (the refusal recorder sees only the 200) and logs
 * them in one line per request, by code, so a bulk cannot hide refusals a single request would show.
 */
function countRefusedItems(o: SubmitOptions, req: Request, results: readonly BulkItemResult[]): void {
  const byCode: Record<string, number> = {};
  for (const result of results) {
    if (result.status !== "rejected") continue;
    o.metrics.refusals.inc({ code: result.error.code });
    byCode[result.error.code] = (byCode[result.error.code] ?? 0) + 1;
  }
  if (Object.keys(byCode).length === 0) return;
  o.logger.info({ refused: byCode, items: results.length, method: req.method, path: req.path, ip: req.ip }, "bulk items refused");
}

async function submitBulk(
  o: SubmitOptions,
  client: string,
  items: unknown[],
): Promise<{ body: { results: BulkItemResult[]; stored: number; duplicates: number; rejected: number }; retryAfterSeconds?: number }> {
  if (items.length === 0) throw new ServiceError("INVALID_PAYLOAD", "empty bulk submission");
  if (items.length > o.maxBulkItems) {
    throw new ServiceError("PAYLOAD_TOO_LARGE", `at most ${o.maxBulkItems} readings per request`, {
      items: items.length,
      maxItems: o.maxBulkItems,
    });
  }
  const results: BulkItemResult[] = new Array(items.length);
  const accepted: { index: number; reading: StoredReading }[] = [];
  let retryAfterSeconds: number | undefined;
  const checked = await o.budget.checkEach(client, items, (item) => o.verifier.verify(item));
  // The verified readings' device quotas, charged together (one take per device).
  const verified = checked.flatMap((item) => (item.ok ? [item.value] : []));
  const quotaRefusals = (await o.quota.chargeEach(verified)).values();
  for (const [index, item] of checked.entries()) {
    try {
      if (!item.ok) throw item.error;
      const refusal = quotaRefusals.next().value;
      if (refusal !== undefined) throw refusal;
      accepted.push({ index, reading: toStored(item.value, o.now()) });
    } catch (error) {
      const rejected = rejection(index, error);
      if (rejected.error.code === "DEVICE_QUOTA_EXCEEDED" || rejected.error.code === "RATE_LIMITED") {
        retryAfterSeconds = Math.max(retryAfterSeconds ?? 0, Number(rejected.error.details?.retryAfterSeconds ?? 1));
      }
      results[index] = rejected;
    }
  }
  const outcomes = accepted.length > 0 ? await o.writer.submit(accepted.map((a) => a.reading)) : [];
  for (const [i, outcome] of outcomes.entries()) {
    const { index } = accepted[i]!;
    try {
      const { status } = single(o, outcome);
      const r = outcome.reading;
      results[index] = {
        index,
        httpStatus: status as 200 | 201,
        status: outcome.outcome as "stored" | "duplicate",
        device: getAddress(r.device),
        seq: r.seq,
        dataHash: bytesToHex(r.dataHash),
      };
    } catch (error) {
      results[index] = rejection(index, error);
    }
  }
  const count = (status: BulkItemResult["status"]) => results.filter((r) => r.status === status).length;
  return {
    body: { results, stored: count("stored"), duplicates: count("duplicate"), rejected: count("rejected") },
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

function toStored(verified: VerifiedReading, receivedAt: number): StoredReading {
  const { reading } = verified;
  return {
    device: reading.device.toLowerCase(),
    seq: Number(reading.seq),
    ts: Number(reading.timestamp),
    dataHash: hexBytes(reading.dataHash),
    payload: verified.payload,
    signature: verified.signature,
    receivedAt,
  };
}

function summary(r: StoredReading) {
  return {
    device: getAddress(r.device),
    seq: r.seq,
    ts: r.ts,
    dataHash: bytesToHex(r.dataHash),
    receivedAt: new Date(r.receivedAt).toISOString(),
  };
}

function rejection(index: number, error: unknown): Extract<BulkItemResult, { status: "rejected" }> {
  if (!(error instanceof ServiceError) || error.status >= 500) throw error;
  return { index, httpStatus: error.status, status: "rejected", error: error.toJSON() };
}

function hexBytes(hex: `0x${string}`): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), "hex"));
}
