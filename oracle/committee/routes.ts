/**
 * The committee member's HTTP routes: claim proofs, epochs, the signature exchange's intake, manifest
 * copies for peers, the ledger, status and metrics (the endpoints are listed in ./oracle.ts).
 *
 * @module
 */
import express from "express";
import { getAddress, isAddress, type Address, type Hex } from "viem";

import { buildRewardTree, type RewardTree } from "../core/reward.js";
import { epochLeaves } from "../market/root-entries.js";
import { handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import { PROMETHEUS_CONTENT_TYPE } from "../service/metrics.js";
import type { CommitteeContext } from "./context.js";
import type { SignatureExchange } from "./signatures.js";
import { postedEpochOf, postedFromBlockOf, type EpochRow } from "./store.js";

const UINT_PARAM = /^[1-9][0-9]{0,15}$/;
const BYTES32_PARAM = /^0x[0-9a-fA-F]{64}$/;

/** `GET /v1/ledger`: the oracle's reward ledger (amounts in token wei, decimal strings). */
export interface LedgerJson {
  rulesVersion: number;
  processedEpoch: number;
  processedBlock: number;
  total: string;
  beneficiaries: { beneficiary: Address; cumulative: string; readings: number }[];
}

function epochJson(row: EpochRow, signatures: { signer: Address; signature: Hex }[], threshold: number | undefined) {
  const posted = row.status === "posted" || row.status === "posted_other";
  return {
    // The distributor's numbering (empty ranges are not posted); `range` is this oracle's block-range number.
    epoch: row.message === null ? row.epoch : Number(postedEpochOf(row)),
    range: row.epoch,
    status: row.status,
    root: row.root,
    cumulativeTotal: row.cumulativeTotal.toString(),
    entries: row.entries,
    fromBlock: postedFromBlockOf(row),
    toBlock: row.toBlock,
    rulesVersion: row.rulesVersion,
    oracleSetVersion: row.oracleSetVersion,
    digest: row.digest,
    message: row.message === null ? null : JSON.parse(row.message),
    signatures,
    signaturesCollected: signatures.length,
    threshold: threshold ?? null,
    posted,
    postedRoot: row.postedRoot,
    txHash: row.txHash,
    postedByUs: row.postedByUs,
  };
}

function epochParam(value: unknown): number {
  const param = String(value);
  if (!UINT_PARAM.test(param)) throw new ServiceError("INVALID_EPOCH", "epoch must be a positive integer");
  return Number(param);
}

/** The reward tree of the newest posted epoch (cached), or undefined when there is none. */
async function postedTree(ctx: CommitteeContext): Promise<{ row: EpochRow; tree: RewardTree } | undefined> {
  const row = await ctx.store.latestEpoch("posted");
  if (row === undefined || row.root === null) return undefined;
  let tree = ctx.treeCache.get(row.epoch);
  if (tree === undefined) {
    const rewards = (await ctx.store.epochBalances(row.epoch)).map((e) => ({ beneficiary: e.account, cumulative: e.cumulative }));
    // The root also holds the settlement cumulatives of the sales split by then (docs/MARKET.md §5).
    const { entries } = epochLeaves(ctx.rewardToken, rewards, (await ctx.sales?.store.cumulativeAt(row.epoch)) ?? []);
    if (entries.length === 0) return undefined;
    tree = buildRewardTree(entries);
    ctx.treeCache.clear();
    ctx.treeCache.set(row.epoch, tree);
  }
  return { row, tree };
}

/** `GET /v1/claims/:account`, `GET /v1/epochs/latest`, `GET /v1/epochs/:epoch`, `POST /v1/epochs/:epoch/signatures`. */
function claimAndEpochRoutes(router: express.Router, ctx: CommitteeContext, exchange: SignatureExchange): void {
  const { store } = ctx;
  router.get(
    "/v1/claims/:account",
    handle(async (req, res) => {
      const account = String(req.params.account);
      if (!isAddress(account, { strict: false })) throw new ServiceError("INVALID_ACCOUNT", "account must be a 0x address");
      // `?token=` asks for a settlement token's leaf (data sales); the reward token's by default.
      const token = req.query.token === undefined ? ctx.rewardToken : String(req.query.token);
      if (!isAddress(token, { strict: false })) throw new ServiceError("INVALID_ADDRESS", "token must be a 0x address");
      const noEntitlement = () =>
        new ServiceError("NO_ENTITLEMENT", `no posted entitlement for ${getAddress(account)} in ${getAddress(token)}`, {
          account: getAddress(account),
          token: getAddress(token),
        });
      const posted = await postedTree(ctx);
      const entry = posted?.tree.entry(getAddress(account), getAddress(token));
      if (posted === undefined || entry === undefined) throw noEntitlement();
      res.json({
        account: entry.account,
        token: entry.token,
        cumulative: entry.cumulative.toString(),
        proof: posted.tree.proof(entry.account, entry.token),
        epoch: Number(postedEpochOf(posted.row)),
        root: posted.tree.root,
        distributor: ctx.distributor,
        chainId: ctx.options.reward.chainId,
      });
    }),
  );

  // Every token the account has a leaf in (reward and settlement tokens): the contributor's earnings page.
  router.get(
    "/v1/claims/:account/tokens",
    handle(async (req, res) => {
      const account = String(req.params.account);
      if (!isAddress(account, { strict: false })) throw new ServiceError("INVALID_ACCOUNT", "account must be a 0x address");
      const posted = await postedTree(ctx);
      const mine = posted?.tree.entries.filter((e) => e.account === getAddress(account)) ?? [];
      if (posted === undefined || mine.length === 0)
        throw new ServiceError("NO_ENTITLEMENT", `no posted entitlement for ${getAddress(account)}`, { account: getAddress(account) });
      const at = {
        epoch: Number(postedEpochOf(posted.row)),
        root: posted.tree.root,
        distributor: ctx.distributor,
        chainId: ctx.options.reward.chainId,
      };
      res.json({
        account: getAddress(account),
        ...at,
        claims: mine.map((e) => ({
          account: e.account,
          token: e.token,
          cumulative: e.cumulative.toString(),
          proof: posted.tree.proof(e.account, e.token),
          ...at,
        })),
      });
    }),
  );

  async function epochAnswer(row: EpochRow) {
    const signatures = row.digest === null ? [] : await store.signatures(Number(postedEpochOf(row)), row.digest);
    return epochJson(row, signatures, ctx.state.oracleSet?.threshold);
  }

  router.get(
    "/v1/epochs/latest",
    handle(async (_req, res) => {
      const row = await store.latestEpoch();
      if (row === undefined) throw new ServiceError("NO_EPOCH", "no epoch with a reward root yet");
      res.json(await epochAnswer(row));
    }),
  );

  router.get(
    "/v1/epochs/:epoch",
    handle(async (req, res) => {
      const epoch = epochParam(req.params.epoch);
      const row = await store.epochByPosted(epoch);
      if (row === undefined) throw new ServiceError("EPOCH_NOT_FOUND", `epoch ${epoch} is not processed yet`);
      res.json(await epochAnswer(row));
    }),
  );

  router.post(
    "/v1/epochs/:epoch/signatures",
    handle(async (req, res) => {
      const epoch = epochParam(req.params.epoch);
      res.status(202).json(await exchange.accept(epoch, req.body));
    }),
  );
}

/** `GET /v1/ledger`, `GET /v1/status`, `GET /metrics`. */
function ledgerAndStatusRoutes(router: express.Router, ctx: CommitteeContext): void {
  const { store, options } = ctx;
  const processedBlock = async () => Number((await store.getMeta("last_block")) ?? "-1");
  router.get(
    "/v1/ledger",
    handle(async (_req, res) => {
      const ledger = await store.ledger();
      res.json(<LedgerJson>{
        rulesVersion: ctx.rules.version,
        processedEpoch: await store.lastProcessedEpoch(),
        processedBlock: await processedBlock(),
        total: ledger.reduce((sum, b) => sum + b.cumulative, 0n).toString(),
        beneficiaries: ledger.map((b) => ({ beneficiary: b.beneficiary, cumulative: b.cumulative.toString(), readings: b.readings })),
      });
    }),
  );

  router.get(
    "/v1/status",
    handle(async (_req, res) => {
      res.json({
        oracle: ctx.address,
        halted: ctx.state.halted ?? null,
        head: Number(ctx.state.lastHead),
        processedEpoch: await store.lastProcessedEpoch(),
        processedBlock: await processedBlock(),
        confirmations: options.confirmations,
        epochBlocks: options.epochBlocks,
        startBlock: options.startBlock,
        rulesVersion: ctx.rules.version,
        oracleSet: ctx.state.oracleSet ?? null,
      });
    }),
  );

  router.get("/metrics", (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(ctx.metrics.registry.render());
  });
}

/**
 * `GET /v1/manifests/:manifestHash`: our copy of an anchored manifest, for a peer whose relayer source
 * failed (the peer checks the bytes against the anchored hash itself). 400 INVALID_MANIFEST_HASH, 404 MANIFEST_NOT_FOUND.
 */
function manifestCopyRoute(router: express.Router, ctx: CommitteeContext): void {
  router.get(
    "/v1/manifests/:manifestHash",
    handle(async (req, res) => {
      const hash = String(req.params.manifestHash);
      if (!BYTES32_PARAM.test(hash)) throw new ServiceError("INVALID_MANIFEST_HASH", "manifestHash must be 0x and 64 hex digits");
      const bytes = await ctx.manifestCopies.get(hash as Hex);
      if (bytes === undefined) throw new ServiceError("MANIFEST_NOT_FOUND", `no manifest with hash ${hash.toLowerCase()} here`);
      res.type("application/octet-stream").send(Buffer.from(bytes));
    }),
  );
}

/** The member's router (the service app adds /healthz, /readyz, JSON 404s and errors). */
export function committeeRouter(ctx: CommitteeContext, exchange: SignatureExchange): express.Router {
  const router = express.Router();
  claimAndEpochRoutes(router, ctx, exchange);
  manifestCopyRoute(router, ctx);
  ledgerAndStatusRoutes(router, ctx);
  return router;
}
