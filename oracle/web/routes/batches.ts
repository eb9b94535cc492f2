/**
 * `GET /api/batches` (the anchored batches, from `BatchAnchored` logs read incrementally; public) and
 * `GET /api/readings/:device/:seq/bundle` (a reading's proof bundle, built by the verifier; it holds
 * the raw payload, so signed-in consumers only, read from the platform with their own key).
 *
 * @module
 */
import type express from "express";
import type { Address, Hex } from "viem";

import { readAnchorLogs } from "../../chain/anchor-log.js";
import type { AuditConnection } from "../../chain/audit-connection.js";
import { bundleToJson } from "../../core/bundle.js";
import type { SensorSealError } from "../../core/errors.js";
import { handle } from "../../service/app.js";
import { ServiceError } from "../../service/errors.js";
import { exportBundle } from "../../verifier/bundle.js";
import { consumerKey, requireSession } from "../session.js";
import { asConsumer, unavailable, type Upstreams } from "../upstream.js";
import { addressParam } from "./params.js";

/** One anchored batch as the dashboard lists it. */
export interface BatchRow {
  batchId: number;
  root: Hex;
  leafCount: number;
  manifestHash: Hex;
  relayer: Address;
  txHash: Hex;
  blockNumber: number;
}

/** One direct submission (`ReadingSubmitted`, TRUST-MODEL §5) as the dashboard lists it beside the batches. */
export interface SubmissionRow {
  device: Address;
  seq: number;
  timestamp: number;
  dataHash: Hex;
  txHash: Hex;
  blockNumber: number;
  logIndex: number;
}

/** The anchored batches and direct submissions from `fromBlock` up to the head, as the dashboard lists them. */
async function readBatchRows(
  a: AuditConnection,
  fromBlock: bigint,
): Promise<{ rows: BatchRow[]; submissionRows: SubmissionRow[]; toBlock: bigint }> {
  const { batches, submissions, toBlock } = await readAnchorLogs({ client: a.client, anchor: a.anchor, fromBlock });
  const submissionRows = submissions.map((s) => ({
    device: s.device,
    seq: Number(s.seq),
    timestamp: Number(s.timestamp),
    dataHash: s.dataHash,
    txHash: s.txHash,
    blockNumber: Number(s.blockNumber),
    logIndex: s.logIndex,
  }));
  const rows = batches.map((b) => ({
    batchId: Number(b.batchId),
    root: b.root,
    leafCount: b.leafCount,
    manifestHash: b.manifestHash,
    relayer: b.relayer,
    txHash: b.txHash,
    blockNumber: Number(b.blockNumber),
  }));
  return { rows, submissionRows, toBlock };
}

/** Adds `GET /api/batches` and `GET /api/readings/:device/:seq/bundle`. */
export function batchRoutes(router: express.Router, up: Upstreams): void {
  const batches = new Map<number, BatchRow>();
  const submissions: SubmissionRow[] = [];
  let logsFrom: bigint | undefined;
  let reading: Promise<void> | undefined;
  /** Reads the logs not read yet, up to the head, in steps. */
  const readNew = async (a: AuditConnection): Promise<void> => {
    const { rows, submissionRows, toBlock } = await readBatchRows(a, logsFrom ?? BigInt(up.options.audit?.deployBlock ?? 0));
    for (const row of rows) batches.set(row.batchId, row);
    submissions.push(...submissionRows);
    logsFrom = toBlock + 1n;
  };

  router.get(
    "/api/batches",
    handle(async (_req, res) => {
      const a = await up.auditChain();
      reading ??= readNew(a).finally(() => (reading = undefined));
      try {
        await reading;
      } catch (cause) {
        throw unavailable("audit chain", "could not read BatchAnchored and ReadingSubmitted logs", cause);
      }
      const list = [...batches.values()].sort((x, y) => y.batchId - x.batchId).slice(0, 500);
      // Direct submissions beside the batches, newest first.
      const direct = submissions.slice(-500).reverse();
      res.json({
        chainId: a.chainId,
        anchor: a.anchor,
        batches: list,
        total: batches.size,
        submissions: direct,
        submissionsTotal: submissions.length,
      });
    }),
  );

  router.get(
    "/api/readings/:device/:seq/bundle",
    requireSession(up.sessions),
    handle(async (req, res) => {
      const device = addressParam(req.params.device as string, "device");
      const seqText = req.params.seq as string;
      if (!/^[1-9][0-9]{0,15}$/.test(seqText)) throw new ServiceError("INVALID_SEQ", "seq must be a positive integer", { field: "seq" });
      const apiKey = consumerKey(res);
      const v = await up.bundleVerifier();
      try {
        const { bundle, result } = await asConsumer(apiKey, () => exportBundle(v, device, Number(seqText)));
        res.json({ bundle: JSON.parse(bundleToJson(bundle)), server: { status: result.status } });
      } catch (error) {
        const code = (error as SensorSealError).code;
        if (code === "NOT_ANCHORED" || code === "RAW_MISSING" || code === "UNKNOWN_DEVICE")
          throw new ServiceError(code, (error as Error).message, { device, seq: Number(seqText) });
        if (code === "UNAUTHORIZED") {
          // The platform refused this consumer's key (revoked, or a role change since sign-in).
          up.sessions.endKey(apiKey);
          throw new ServiceError("UNAUTHORIZED", "the platform does not accept this API key (unknown or revoked): sign in again");
        }
        if (code === "SERVICE_UNREACHABLE" || code === "SERVICE_ERROR")
          throw unavailable("verifier sources", (error as Error).message, error);
        throw error;
      }
    }),
  );
}
