/**
 * `GET /v1/export/bundles`: the evidence of an export. The same query as `/v1/export` selects the same
 * verified rows; the answer is their proof bundles in the existing bundle formats (oracle/core/bundle.ts),
 * one canonical bundle per line. A third party holding the export and this file runs
 * `npm run verify -- bundle check bundles.jsonl --rpc <audit RPC> --export export.csv`: every bundle is
 * checked against the chain and every export row against its bundle's signed payload.
 *
 * @module
 */
import type { Request, RequestHandler, Router } from "express";
import type { Address } from "viem";

import { handle } from "../service/app.js";
import type { Auditor } from "./auditor.js";
import type { VerdictRow } from "./store.js";

/** Registers `/v1/export/bundles` (API readers); `exported` validates the query and selects the export's rows. */
export function bundleRoutes(
  router: Router,
  auditor: Auditor,
  readers: RequestHandler,
  exported: (req: Request) => Promise<VerdictRow[]>,
): void {
  router.get(
    "/v1/export/bundles",
    readers,
    handle(async (req, res) => {
      const rows = await exported(req);
      const text = await auditor.exportBundles(rows.map((r) => ({ device: r.device as Address, seq: r.seq, batchId: r.batchId })));
      res.type("application/x-ndjson").send(text);
    }),
  );
}
