/**
 * The web service: the dashboard and the claim page (static files and esbuild bundles, no CDN) and
 * a small JSON API that aggregates the other services for them.
 *
 * Routes: `GET /` (dashboard), `GET /claim` (claim page), `/assets/*.js`, `/style.css`,
 * `GET /api/config`, `GET /api/devices`, `GET /api/devices/:device/readings?from=&to=`,
 * `GET /api/batches`, `GET /api/readings/:device/:seq/bundle`, `GET /api/rewards`,
 * `GET /api/claims/:account` (the oracle's claim proof, passed through), plus `/healthz`, `/readyz`.
 *
 * Nothing the API answers is trusted by the pages for verification: the dashboard's "verify" button
 * rechecks a reading's bundle in the browser against the audit chain's RPC, and the claim page's
 * claim is checked by the distributor. A service that is not configured answers 503
 * `NOT_CONFIGURED`, one that does not answer 503 `SERVICE_UNAVAILABLE` (`details.service`), and
 * the pages show it.
 *
 * @module
 */
import express from "express";
import {
  createPublicClient,
  getAddress,
  http,
  isAddress,
  parseEventLogs,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";

import type { LedgerJson } from "../oracle/oracle.js";
import { readingAnchorAbi, rewardDistributorAbi, rewardTokenAbi } from "../chain/abis.js";
import { connectAuditChain, type AuditConnection } from "../chain/audit-connection.js";
import { DEVICE_STATUS_NAMES } from "../core/device-status.js";
import { bundleToJson } from "../core/bundle.js";
import { SensorSealError } from "../core/errors.js";
import { createServiceApp, handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { exportBundle } from "../verifier/bundle.js";
import { Verifier } from "../verifier/verifier.js";
import { buildAssets, type Asset } from "./assets.js";

/** Options of {@link createWebServer}. */
export interface WebServerOptions {
  logger: Logger;
  /** The audit chain: RPC for the server, public RPC for the browser (default the same). */
  audit?: {
    rpcUrl: string;
    publicRpcUrl?: string;
    expectedChainId?: number;
    /** With `registry`; else the deployment record `data/deployments/audit-<chainId>.json`. */
    anchor?: Address;
    registry?: Address;
    deployBlock?: number;
    registryPollMs?: number;
  };
  /** The data platform and a consumer key (kept on the server). */
  platform?: { url: string; apiKey: string };
  relayer?: { url: string };
  /** The oracle committee's HTTP API (claims, ledger). */
  oracle?: { url: string };
  reward?: { rpcUrl: string; publicRpcUrl?: string; chainId: number; distributor: Address; token?: Address };
  /** Prebuilt assets (default: built now). */
  assets?: Map<string, Asset>;
  /** Timeout of each call to another service. */
  upstreamTimeoutMs?: number;
  /** Most readings one chart request answers. */
  maxReadings?: number;
}

/** A running web service's parts. */
export interface WebServer {
  app: express.Express;
  /** Stops following the registry and closes the verifier. */
  stop(): Promise<void>;
}

const RETRY_CONNECT_MS = 3000;
const ZERO_ROOT = `0x${"0".repeat(64)}`;

const unavailable = (service: string, message: string, cause?: unknown) =>
  new ServiceError(503, "SERVICE_UNAVAILABLE", message, { service }, { cause });
const notConfigured = (service: string) =>
  new ServiceError(503, "NOT_CONFIGURED", `the ${service} is not configured`, { service });

/** Answers a reachable-or-not upstream's JSON (status and body), never throwing on HTTP errors. */
async function fetchJson(url: string, service: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw unavailable(service, `the ${service} does not answer at ${new URL(url).origin}`, cause);
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: undefined };
  }
}

function addressParam(value: string | undefined, name: string): Address {
  if (value === undefined || !isAddress(value, { strict: false })) throw new ServiceError(400, "INVALID_ADDRESS", `${name} must be a 0x address`, { field: name });
  return getAddress(value);
}

function optionalInt(value: unknown, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string" || !/^[0-9]{1,15}$/.test(value)) throw new ServiceError(400, "INVALID_QUERY", `${name} must be unix seconds`, { field: name });
  return Number(value);
}

/** The numeric sensor fields of a payload (everything numeric except the envelope). */
export function payloadValues(payload: string): Record<string, number> | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(value)) if (!["v", "seq", "ts"].includes(key) && typeof v === "number" && Number.isFinite(v)) out[key] = v;
  return out;
}

/** Ledger rows from the oracle's `GET /v1/ledger` answer ({@link LedgerJson}). */
export function ledgerRows(body: LedgerJson): { account: Address; cumulative: string }[] {
  return body.beneficiaries.map((b) => ({ account: getAddress(b.beneficiary), cumulative: b.cumulative }));
}

/**
 * Builds the web service (call `listen(app, port)` to serve it).
 *
 * @example
 * const web = await createWebServer({ logger, audit: { rpcUrl: "http://127.0.0.1:8545" },
 *   platform: { url: "http://127.0.0.1:8080", apiKey }, relayer: { url: "http://127.0.0.1:8547" } });
 * const server = await listen(web.app, 8550); // http://127.0.0.1:8550/ is the dashboard
 */
export async function createWebServer(options: WebServerOptions): Promise<WebServer> {
  const { logger } = options;
  const timeoutMs = options.upstreamTimeoutMs ?? 5000;
  const maxReadings = options.maxReadings ?? 5000;
  const assets = options.assets ?? (await buildAssets());

  // ---------------------------------------------------------------- audit chain (lazy, retried)
  let audit: AuditConnection | undefined;
  let auditPending: Promise<AuditConnection> | undefined;
  let auditFailedAt = 0;
  let auditError: string | undefined;
  const auditChain = async (): Promise<AuditConnection> => {
    const a = options.audit;
    if (a === undefined) throw notConfigured("audit chain");
    if (audit !== undefined) return audit;
    if (auditPending === undefined) {
      if (Date.now() - auditFailedAt < RETRY_CONNECT_MS) throw unavailable("audit chain", auditError ?? "the audit chain does not answer");
      auditPending = connectAuditChain(
        {
          rpcUrl: a.rpcUrl,
          registryPollMs: a.registryPollMs ?? 2000,
          registryConfirmations: 0,
          ...(a.expectedChainId === undefined ? {} : { expectedChainId: a.expectedChainId }),
          ...(a.anchor === undefined || a.registry === undefined ? {} : { anchor: a.anchor, registry: a.registry }),
          ...(a.deployBlock === undefined ? {} : { registryDeployBlock: a.deployBlock }),
        },
        "web",
      ).then(
        (connection) => {
          audit = connection;
          auditError = undefined;
          return connection;
        },
        (error: unknown) => {
          auditFailedAt = Date.now();
          const issue = (error as { issues?: readonly string[] }).issues?.[0] ?? String((error as Error)?.message ?? error);
          auditError = issue.split(" (")[0].split("\n")[0];
          auditPending = undefined;
          logger.warn({ err: error }, "audit chain not reachable");
          throw unavailable("audit chain", auditError);
        },
      );
    }
    return auditPending;
  };

  // ---------------------------------------------------------------- batches (BatchAnchored logs, incremental)
  const batches = new Map<number, { batchId: number; root: Hex; leafCount: number; manifestHash: Hex; relayer: Address; txHash: Hex; blockNumber: number }>();
  let logsFrom: bigint | undefined;
  let readingLogs: Promise<void> | undefined;
  const readBatchLogs = async (a: AuditConnection): Promise<void> => {
    const head = await a.client.getBlockNumber({ cacheTime: 0 });
    let from = logsFrom ?? BigInt(options.audit?.deployBlock ?? 0);
    const step = 5000n;
    for (; from <= head; from += step) {
      const to = from + step - 1n < head ? from + step - 1n : head;
      const logs = await a.client.getLogs({ address: a.anchor, fromBlock: from, toBlock: to });
      for (const e of parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" }))
        batches.set(Number(e.args.batchId), {
          batchId: Number(e.args.batchId),
          root: e.args.root,
          leafCount: Number(e.args.leafCount),
          manifestHash: e.args.manifestHash,
          relayer: e.args.relayer,
          txHash: e.transactionHash,
          blockNumber: Number(e.blockNumber),
        });
      logsFrom = to + 1n;
    }
  };

  // ---------------------------------------------------------------- verifier (for bundles)
  let verifier: Promise<Verifier> | undefined;
  const bundleVerifier = async (): Promise<Verifier> => {
    if (options.platform === undefined) throw notConfigured("platform");
    if (options.relayer === undefined) throw notConfigured("relayer");
    const a = await auditChain();
    if (verifier === undefined) {
      verifier = Verifier.create({
        rpc: a.client,
        anchor: a.anchor,
        deployBlock: options.audit?.deployBlock ?? 0,
        platform: options.platform,
        relayer: options.relayer.url,
        threads: 1,
      });
      verifier.catch(() => (verifier = undefined));
    }
    return verifier;
  };

  // ---------------------------------------------------------------- reward chain
  const rewardClient: PublicClient | undefined =
    options.reward === undefined ? undefined : (createPublicClient({ transport: http(options.reward.rpcUrl, { retryCount: 0, timeout: timeoutMs }) }) as PublicClient);
  let tokenInfo: { address: Address; symbol: string; decimals: number } | undefined;
  const rewardToken = async () => {
    if (tokenInfo !== undefined) return tokenInfo;
    const r = options.reward!;
    const address = r.token ?? (await rewardClient!.readContract({ address: r.distributor, abi: rewardDistributorAbi, functionName: "token" }));
    const [symbol, decimals] = await Promise.all([
      rewardClient!.readContract({ address, abi: rewardTokenAbi, functionName: "symbol" }),
      rewardClient!.readContract({ address, abi: rewardTokenAbi, functionName: "decimals" }),
    ]);
    tokenInfo = { address, symbol, decimals: Number(decimals) };
    return tokenInfo;
  };

  // ---------------------------------------------------------------- routes
  const router = express.Router();

  router.get(
    "/api/config",
    handle(async (_req, res) => {
      let auditInfo: Record<string, unknown> | null = null;
      if (options.audit !== undefined) {
        auditInfo = { rpcUrl: options.audit.publicRpcUrl ?? options.audit.rpcUrl };
        try {
          const a = await auditChain();
          Object.assign(auditInfo, { reachable: true, chainId: a.chainId, anchor: a.anchor, registry: a.registry });
        } catch (error) {
          Object.assign(auditInfo, { reachable: false, error: (error as Error).message });
        }
      }
      let rewardInfo: Record<string, unknown> | null = null;
      if (options.reward !== undefined) {
        const r = options.reward;
        rewardInfo = { rpcUrl: r.publicRpcUrl ?? r.rpcUrl, chainId: r.chainId, distributor: r.distributor };
        try {
          Object.assign(rewardInfo, { reachable: true, token: await rewardToken() });
        } catch (error) {
          Object.assign(rewardInfo, { reachable: false, error: `the reward chain does not answer at ${r.rpcUrl}`, token: r.token === undefined ? null : { address: r.token } });
          logger.debug({ err: error }, "reward chain not reachable");
        }
      }
      res.json({
        audit: auditInfo,
        reward: rewardInfo,
        services: {
          platform: options.platform === undefined ? null : { url: options.platform.url },
          relayer: options.relayer === undefined ? null : { url: options.relayer.url },
          oracle: options.oracle === undefined ? null : { url: options.oracle.url },
        },
      });
    }),
  );

  router.get(
    "/api/devices",
    handle(async (_req, res) => {
      const a = await auditChain();
      await a.registryIndex.sync().catch(() => undefined);
      const devices = a.registryIndex
        .devices()
        .map((d) => ({
          device: d.device,
          scheme: d.scheme,
          status: DEVICE_STATUS_NAMES[d.status] ?? String(d.status),
          beneficiary: d.beneficiary,
          registeredAt: d.history[0]?.since ?? null,
          ...(d.rotatedTo === undefined ? {} : { rotatedTo: d.rotatedTo }),
          ...(d.rotatedFrom === undefined ? {} : { rotatedFrom: d.rotatedFrom }),
        }))
        .sort((x, y) => (x.registeredAt ?? 0) - (y.registeredAt ?? 0));
      res.json({ chainId: a.chainId, registry: a.registry, devices });
    }),
  );

  router.get(
    "/api/devices/:device/readings",
    handle(async (req, res) => {
      const device = addressParam(req.params.device as string, "device");
      const from = optionalInt(req.query.from, "from");
      const to = optionalInt(req.query.to, "to");
      const p = options.platform;
      if (p === undefined) throw notConfigured("platform");
      const readings: { seq: number; ts: number; dataHash: Hex; receivedAt: string; values: Record<string, number> | null }[] = [];
      let afterSeq = 0;
      let truncated = false;
      for (;;) {
        const q = new URLSearchParams({ afterSeq: String(afterSeq), limit: String(Math.min(1000, maxReadings)) });
        if (from !== undefined) q.set("from", String(from));
        if (to !== undefined) q.set("to", String(to));
        const { status, body } = await fetchJson(`${p.url.replace(/\/+$/, "")}/v1/devices/${device}/readings?${q}`, "platform", timeoutMs, {
          authorization: `Bearer ${p.apiKey}`,
        });
        if (status === 404) break;
        if (status === 401 || status === 403) throw unavailable("platform", `the platform refused the web service's API key (${status})`);
        if (status !== 200 || !Array.isArray(body?.readings)) throw unavailable("platform", `the platform answered ${status}`);
        for (const r of body.readings) {
          readings.push({ seq: r.seq, ts: r.ts, dataHash: r.dataHash, receivedAt: r.receivedAt, values: payloadValues(String(r.payload)) });
        }
        if (readings.length >= maxReadings) {
          truncated = body.nextAfterSeq !== null && body.nextAfterSeq !== undefined;
          readings.length = Math.min(readings.length, maxReadings);
          break;
        }
        if (body.nextAfterSeq === null || body.nextAfterSeq === undefined || body.readings.length === 0) break;
        afterSeq = Number(body.nextAfterSeq);
      }
      const fields = [...new Set(readings.flatMap((r) => Object.keys(r.values ?? {})))].sort();
      res.json({ device, fields, readings, truncated });
    }),
  );

  router.get(
    "/api/batches",
    handle(async (_req, res) => {
      const a = await auditChain();
      readingLogs ??= readBatchLogs(a).finally(() => (readingLogs = undefined));
      try {
        await readingLogs;
      } catch (cause) {
        throw unavailable("audit chain", "could not read BatchAnchored logs", cause);
      }
      const list = [...batches.values()].sort((x, y) => y.batchId - x.batchId).slice(0, 500);
      res.json({ chainId: a.chainId, anchor: a.anchor, batches: list, total: batches.size });
    }),
  );

  router.get(
    "/api/readings/:device/:seq/bundle",
    handle(async (req, res) => {
      const device = addressParam(req.params.device as string, "device");
      const seqText = req.params.seq as string;
      if (!/^[1-9][0-9]{0,15}$/.test(seqText)) throw new ServiceError(400, "INVALID_SEQ", "seq must be a positive integer", { field: "seq" });
      const v = await bundleVerifier();
      try {
        const { bundle, result } = await exportBundle(v, device, Number(seqText));
        res.json({ bundle: JSON.parse(bundleToJson(bundle)), server: { status: result.status } });
      } catch (error) {
        const code = (error as SensorSealError).code;
        if (code === "NOT_ANCHORED" || code === "RAW_MISSING" || code === "UNKNOWN_DEVICE")
          throw new ServiceError(404, code, (error as Error).message, { device, seq: Number(seqText) });
        if (code === "SERVICE_UNREACHABLE" || code === "SERVICE_ERROR" || code === "UNAUTHORIZED")
          throw unavailable("verifier sources", (error as Error).message, error);
        throw error;
      }
    }),
  );

  router.get(
    "/api/rewards",
    handle(async (_req, res) => {
      const answer: Record<string, unknown> = {};
      let rows: { account: Address; cumulative: string }[] = [];
      if (options.oracle === undefined) answer.oracle = { error: { code: "NOT_CONFIGURED", message: "the oracle is not configured" } };
      else {
        try {
          const { status, body } = await fetchJson(`${options.oracle.url.replace(/\/+$/, "")}/v1/ledger`, "oracle", timeoutMs);
          if (status !== 200) throw unavailable("oracle", `the oracle answered ${status}`);
          const ledger = body as LedgerJson;
          rows = ledgerRows(ledger);
          answer.oracle = { epoch: ledger.processedEpoch, total: ledger.total, rulesVersion: ledger.rulesVersion };
        } catch (error) {
          answer.oracle = { error: { code: (error as ServiceError).code ?? "SERVICE_UNAVAILABLE", message: (error as Error).message } };
        }
      }
      const claimed = new Map<Address, bigint>();
      if (options.reward === undefined) answer.distributor = { error: { code: "NOT_CONFIGURED", message: "the reward chain is not configured" } };
      else {
        const r = options.reward;
        try {
          const read = <F extends "totalPosted" | "totalClaimed" | "lastEpoch" | "currentRoot">(functionName: F) =>
            rewardClient!.readContract({ address: r.distributor, abi: rewardDistributorAbi, functionName });
          const [totalPosted, totalClaimed, lastEpoch, currentRoot] = await Promise.all([read("totalPosted"), read("totalClaimed"), read("lastEpoch"), read("currentRoot")]);
          for (const row of rows)
            claimed.set(row.account, await rewardClient!.readContract({ address: r.distributor, abi: rewardDistributorAbi, functionName: "claimed", args: [row.account] }));
          answer.distributor = {
            address: r.distributor,
            chainId: r.chainId,
            totalPosted: totalPosted.toString(),
            totalClaimed: totalClaimed.toString(),
            lastEpoch: lastEpoch.toString(),
            currentRoot: currentRoot === ZERO_ROOT ? null : currentRoot,
            token: await rewardToken(),
          };
        } catch (error) {
          logger.debug({ err: error }, "reward chain read failed");
          answer.distributor = { error: { code: "SERVICE_UNAVAILABLE", message: `the reward chain does not answer at ${r.rpcUrl}` } };
        }
      }
      answer.rewards = rows.map((row) => ({
        account: row.account,
        cumulative: row.cumulative,
        claimed: claimed.has(row.account) ? claimed.get(row.account)!.toString() : null,
      }));
      res.json(answer);
    }),
  );

  router.get(
    "/api/claims/:account",
    handle(async (req, res) => {
      const account = addressParam(req.params.account as string, "account");
      if (options.oracle === undefined) throw notConfigured("oracle");
      const { status, body } = await fetchJson(`${options.oracle.url.replace(/\/+$/, "")}/v1/claims/${account}`, "oracle", timeoutMs);
      if (status === 200 || status === 404) {
        res.status(status).json(body ?? { error: { code: "NO_ENTITLEMENT", message: "no entitlement" } });
        return;
      }
      throw unavailable("oracle", `the oracle answered ${status}`);
    }),
  );

  router.get(/^\/(?!api\/).*/, (req, res, next) => {
    const asset = assets.get(req.path);
    if (asset === undefined) return next();
    res.setHeader("Content-Type", asset.contentType);
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.end(asset.body);
  });

  const app = createServiceApp({
    name: "web",
    logger,
    router,
    rateLimit: { ratePerSecond: 50, burst: 200 },
  });
  return {
    app,
    async stop() {
      audit?.registryIndex.stop();
      const v = await verifier?.catch(() => undefined);
      await v?.close();
    },
  };
}
