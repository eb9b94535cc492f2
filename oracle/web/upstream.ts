/**
 * The web service's upstreams: the audit chain (connected lazily, retried), the verifier for proof
 * bundles, the reward chain, and the other services' HTTP APIs. Failures answer 503
 * SERVICE_UNAVAILABLE (`details.service`), a missing configuration 503 NOT_CONFIGURED.
 *
 * @module
 */
import { createPublicClient, http, type Address, type PublicClient } from "viem";

import { rewardDistributorAbi, rewardTokenAbi } from "../chain/abis.js";
import { connectAuditChain, type AuditConnection } from "../chain/audit-connection.js";
import { ServiceError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { Verifier } from "../verifier/verifier.js";
import type { WebServerOptions } from "./server.js";

const RETRY_CONNECT_MS = 3000;

/** 503 SERVICE_UNAVAILABLE for `service`. */
export const unavailable = (service: string, message: string, cause?: unknown) =>
  new ServiceError(503, "SERVICE_UNAVAILABLE", message, { service }, { cause });
/** 503 NOT_CONFIGURED for `service`. */
export const notConfigured = (service: string) => new ServiceError(503, "NOT_CONFIGURED", `the ${service} is not configured`, { service });

/** Answers a reachable-or-not upstream's JSON (status and body), never throwing on HTTP errors. */
export async function fetchJson(url: string, service: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
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

/** Every upstream of one web service. */
export interface Upstreams {
  options: WebServerOptions;
  logger: Logger;
  timeoutMs: number;
  /** The audit chain's connection (connects on first use; a failure is retried after 3 s). */
  auditChain(): Promise<AuditConnection>;
  /** The verifier behind `/api/readings/:device/:seq/bundle`. */
  bundleVerifier(): Promise<Verifier>;
  /** The reward chain's client (undefined when not configured). */
  rewardClient: PublicClient | undefined;
  /** The reward token (address, symbol, decimals), read once. */
  rewardToken(): Promise<{ address: Address; symbol: string; decimals: number }>;
  /** The audit connection and verifier, if opened (for `stop`). */
  opened(): { audit: AuditConnection | undefined; verifier: Promise<Verifier> | undefined };
}

function lazyAuditChain(options: WebServerOptions, logger: Logger): { get(): Promise<AuditConnection>; current(): AuditConnection | undefined } {
  let audit: AuditConnection | undefined;
  let pending: Promise<AuditConnection> | undefined;
  let failedAt = 0;
  let lastError: string | undefined;
  const connect = (a: NonNullable<WebServerOptions["audit"]>) =>
    connectAuditChain(
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
        lastError = undefined;
        return connection;
      },
      (error: unknown) => {
        failedAt = Date.now();
        const issue = (error as { issues?: readonly string[] }).issues?.[0] ?? String((error as Error)?.message ?? error);
        lastError = issue.split(" (")[0].split("\n")[0];
        pending = undefined;
        logger.warn({ err: error }, "audit chain not reachable");
        throw unavailable("audit chain", lastError);
      },
    );
  return {
    async get() {
      const a = options.audit;
      if (a === undefined) throw notConfigured("audit chain");
      if (audit !== undefined) return audit;
      if (pending === undefined) {
        if (Date.now() - failedAt < RETRY_CONNECT_MS) throw unavailable("audit chain", lastError ?? "the audit chain does not answer");
        pending = connect(a);
      }
      return pending;
    },
    current: () => audit,
  };
}

/** Builds the upstreams from the web service's options. */
export function createUpstreams(options: WebServerOptions): Upstreams {
  const { logger } = options;
  const timeoutMs = options.upstreamTimeoutMs ?? 5000;
  const audit = lazyAuditChain(options, logger);

  let verifier: Promise<Verifier> | undefined;
  const bundleVerifier = async (): Promise<Verifier> => {
    if (options.platform === undefined) throw notConfigured("platform");
    if (options.relayer === undefined) throw notConfigured("relayer");
    const a = await audit.get();
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

  return {
    options,
    logger,
    timeoutMs,
    auditChain: audit.get,
    bundleVerifier,
    rewardClient,
    rewardToken,
    opened: () => ({ audit: audit.current(), verifier }),
  };
}
