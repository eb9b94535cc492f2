/**
 * `GET /api/rewards` (the oracle's ledger next to what the distributor paid out) and
 * `GET /api/claims/:account` (the oracle's claim proof, passed through for the claim page).
 *
 * @module
 */
import type express from "express";
import { getAddress, type Address } from "viem";

import { rewardDistributorAbi } from "../../chain/abis.js";
import type { LedgerJson } from "../../committee/oracle.js";
import { handle } from "../../service/app.js";
import type { ServiceError } from "../../service/errors.js";
import { fetchJson, notConfigured, unavailable, type Upstreams } from "../upstream.js";
import { addressParam } from "./params.js";

const ZERO_ROOT = `0x${"0".repeat(64)}`;

type LedgerRow = { account: Address; cumulative: string };
type ErrorAnswer = { error: { code: string; message: string } };

/** Ledger rows from the oracle's `GET /v1/ledger` answer ({@link LedgerJson}). */
export function ledgerRows(body: LedgerJson): LedgerRow[] {
  return body.beneficiaries.map((b) => ({ account: getAddress(b.beneficiary), cumulative: b.cumulative }));
}

/** The oracle's ledger, or why it is not there. */
async function oracleLedger(up: Upstreams): Promise<{ oracle: Record<string, unknown> | ErrorAnswer; rows: LedgerRow[] }> {
  if (up.options.oracle === undefined)
    return { oracle: { error: { code: "NOT_CONFIGURED", message: "the oracle is not configured" } }, rows: [] };
  try {
    const { status, body } = await fetchJson(`${up.options.oracle.url.replace(/\/+$/, "")}/v1/ledger`, "oracle", up.timeoutMs);
    if (status !== 200) throw unavailable("oracle", `the oracle answered ${status}`);
    const ledger = body as LedgerJson;
    return { oracle: { epoch: ledger.processedEpoch, total: ledger.total, rulesVersion: ledger.rulesVersion }, rows: ledgerRows(ledger) };
  } catch (error) {
    return {
      oracle: { error: { code: (error as ServiceError).code ?? "SERVICE_UNAVAILABLE", message: (error as Error).message } },
      rows: [],
    };
  }
}

/** The distributor's totals and what each ledger row has claimed, or why they are not there. */
async function distributorState(
  up: Upstreams,
  rows: LedgerRow[],
): Promise<{ distributor: Record<string, unknown> | ErrorAnswer; claimed: Map<Address, bigint> }> {
  const claimed = new Map<Address, bigint>();
  const r = up.options.reward;
  if (r === undefined)
    return { distributor: { error: { code: "NOT_CONFIGURED", message: "the reward chain is not configured" } }, claimed };
  const client = up.rewardClient!;
  try {
    const read = <F extends "totalPosted" | "totalClaimed" | "lastEpoch" | "currentRoot">(functionName: F) =>
      client.readContract({ address: r.distributor, abi: rewardDistributorAbi, functionName });
    const [totalPosted, totalClaimed, lastEpoch, currentRoot] = await Promise.all([
      read("totalPosted"),
      read("totalClaimed"),
      read("lastEpoch"),
      read("currentRoot"),
    ]);
    for (const row of rows)
      claimed.set(
        row.account,
        await client.readContract({ address: r.distributor, abi: rewardDistributorAbi, functionName: "claimed", args: [row.account] }),
      );
    const distributor = {
      address: r.distributor,
      chainId: r.chainId,
      totalPosted: totalPosted.toString(),
      totalClaimed: totalClaimed.toString(),
      lastEpoch: lastEpoch.toString(),
      currentRoot: currentRoot === ZERO_ROOT ? null : currentRoot,
      token: await up.rewardToken(),
    };
    return { distributor, claimed };
  } catch (error) {
    up.logger.debug({ err: error }, "reward chain read failed");
    return { distributor: { error: { code: "SERVICE_UNAVAILABLE", message: `the reward chain does not answer at ${r.rpcUrl}` } }, claimed };
  }
}

/** Adds `GET /api/rewards` and `GET /api/claims/:account`. */
export function rewardRoutes(router: express.Router, up: Upstreams): void {
  router.get(
    "/api/rewards",
    handle(async (_req, res) => {
      const { oracle, rows } = await oracleLedger(up);
      const { distributor, claimed } = await distributorState(up, rows);
      const rewards = rows.map((row) => ({
        account: row.account,
        cumulative: row.cumulative,
        claimed: claimed.has(row.account) ? claimed.get(row.account)!.toString() : null,
      }));
      res.json({ oracle, distributor, rewards });
    }),
  );

  router.get(
    "/api/claims/:account",
    handle(async (req, res) => {
      const account = addressParam(req.params.account as string, "account");
      if (up.options.oracle === undefined) throw notConfigured("oracle");
      const { status, body } = await fetchJson(`${up.options.oracle.url.replace(/\/+$/, "")}/v1/claims/${account}`, "oracle", up.timeoutMs);
      if (status === 200 || status === 404) {
        res.status(status).json(body ?? { error: { code: "NO_ENTITLEMENT", message: "no entitlement" } });
        return;
      }
      throw unavailable("oracle", `the oracle answered ${status}`);
    }),
  );
}
