/**
 * The web service's upstreams: the audit chain (connected lazily, retried), the verifier for proof
 * bundles, the reward chain, and the other services' HTTP APIs. Failures answer 503
 * SERVICE_UNAVAILABLE (`details.service`), a missing configuration 503 NOT_CONFIGURED.
 *
 * The platform is called only with the signed-in consumer's own key (../session.ts): the service
 * has none. A key the platform refuses ends its sessions and answers 401 UNAUTHORIZED (403
 * FORBIDDEN for a role that may not read raw data); its quota answers pass through as 429.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";

import { createPublicClient, http, type Address, type PublicClient } from "viem";

import { rewardDistributorAbi, rewardTokenAbi } from "../chain/abis.js";
import { connectAuditChain, type AuditConnection } from "../chain/audit-connection.js";
import { ServiceError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { PlatformClient, type PlatformEquivocation, type PlatformReading } from "../verifier/sources.js";
import { VerifierError } from "../verifier/types.js";
import { Verifier } from "../verifier/verifier.js";
import type { WebServerOptions } from "./server.js";
import { SessionStore } from "./session.js";

const RETRY_CONNECT_MS = 3000;

/** 503 SERVICE_UNAVAILABLE for `service`. */
export const unavailable = (service: string, message: string, cause?: unknown) =>
  new ServiceError("SERVICE_UNAVAILABLE", message, { service }, { cause });
/** 503 NOT_CONFIGURED for `service`. */
export const notConfigured = (service: string) => new ServiceError("NOT_CONFIGURED", `the ${service} is not configured`, { service });

/** Answers a reachable-or-not upstream's JSON (status and body), never throwing on HTTP errors. */
export async function fetchJson(
  url: string,
  service: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON from another service, read field by field by the caller
): Promise<{ status: number; body: any }> {
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
  /** The signed-in consumers and their keys. */
  sessions: SessionStore;
  /** The audit chain's connection (connects on first use; a failure is retried after 3 s). */
  auditChain(): Promise<AuditConnection>;
  /**
   * The verifier behind `/api/readings/:device/:seq/bundle`. Its platform calls use the key of
   * {@link asConsumer}'s caller; outside of it they fail UNAUTHORIZED.
   */
  bundleVerifier(): Promise<Verifier>;
  /** The reward chain's client (undefined when not configured). */
  rewardClient: PublicClient | undefined;
  /** The reward token (address, symbol, decimals), read once. */
  rewardToken(): Promise<{ address: Address; symbol: string; decimals: number }>;
  /** The audit connection and verifier, if opened (for `stop`). */
  opened(): { audit: AuditConnection | undefined; verifier: Promise<Verifier> | undefined };
}

function lazyAuditChain(
  options: WebServerOptions,
  logger: Logger,
): { get(): Promise<AuditConnection>; current(): AuditConnection | undefined } {
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
        platform: new ConsumerPlatformClient(options.platform.url),
        relayer: options.relayer.url,
        threads: 1,
      });
      verifier.catch(() => (verifier = undefined));
    }
    return verifier;
  };

  const rewardClient: PublicClient | undefined =
    options.reward === undefined
      ? undefined
      : (createPublicClient({ transport: http(options.reward.rpcUrl, { retryCount: 0, timeout: timeoutMs }) }) as PublicClient);
  let tokenInfo: { address: Address; symbol: string; decimals: number } | undefined;
  const rewardToken = async () => {
    if (tokenInfo !== undefined) return tokenInfo;
    const r = options.reward!;
    const address =
      r.token ?? (await rewardClient!.readContract({ address: r.distributor, abi: rewardDistributorAbi, functionName: "token" }));
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
    sessions: new SessionStore(options.session),
    auditChain: audit.get,
    bundleVerifier,
    rewardClient,
    rewardToken,
    opened: () => ({ audit: audit.current(), verifier }),
  };
}

const consumer = new AsyncLocalStorage<string>();

/** Runs `fn` with `apiKey` as the key of every platform call the bundle verifier makes for it. */
export function asConsumer<T>(apiKey: string, fn: () => Promise<T>): Promise<T> {
  return consumer.run(apiKey, fn);
}

/**
 * The verifier's platform client, shared by every session: each call uses the key of the consumer
 * it runs for ({@link asConsumer}), so the verifier's chain and manifest caches are shared while
 * raw data is fetched as that consumer. The verifier keeps no platform answer between calls.
 */
class ConsumerPlatformClient extends PlatformClient {
  constructor(url: string) {
    super(url, "");
  }
  #client(): PlatformClient {
    const apiKey = consumer.getStore();
    if (apiKey === undefined) throw new VerifierError("UNAUTHORIZED", "no signed-in consumer for this platform call");
    return new PlatformClient(this.url, apiKey, this.pageSize);
  }
  override readings(device: Address, range: { from?: number; to?: number } = {}): AsyncGenerator<PlatformReading> {
    return this.#client().readings(device, range);
  }
  override reading(device: Address, seq: number): Promise<PlatformReading | undefined> {
    return this.#client().reading(device, seq);
  }
  override equivocations(device: Address): Promise<PlatformEquivocation[]> {
    return this.#client().equivocations(device);
  }
}

/** A platform answer refused for `apiKey`: its sessions end on 401, then the consumer is told. */
function platformRefusal(
  up: Upstreams,
  apiKey: string,
  status: number,
  body: { error?: { details?: { retryAfterSeconds?: unknown } } } | undefined,
): ServiceError | undefined {
  if (status === 401) {
    up.sessions.endKey(apiKey);
    return new ServiceError("UNAUTHORIZED", "the platform does not accept this API key (unknown or revoked): sign in again");
  }
  if (status === 403) return new ServiceError("FORBIDDEN", "this API key may not read raw data on the platform (a consumer key is needed)");
  if (status === 429) {
    const retry = Number(body?.error?.details?.retryAfterSeconds ?? 1);
    return new ServiceError("RATE_LIMITED", "the platform's limit for this API key is reached: try again later", {
      retryAfterSeconds: Number.isFinite(retry) ? retry : 1,
    });
  }
  return undefined;
}

/**
 * GETs `path` of the platform's read API as the consumer holding `apiKey`. 404 and 200 are answered;
 * refusals become the consumer's own 401/403/429, anything else 503 SERVICE_UNAVAILABLE.
 */
export async function platformGet(
  up: Upstreams,
  apiKey: string,
  path: string,
): Promise<{ status: 200 | 404; body: Awaited<ReturnType<typeof fetchJson>>["body"] }> {
  const p = up.options.platform;
  if (p === undefined) throw notConfigured("platform");
  const { status, body } = await fetchJson(`${p.url.replace(/\/+$/, "")}${path}`, "platform", up.timeoutMs, {
    authorization: `Bearer ${apiKey}`,
  });
  const refused = platformRefusal(up, apiKey, status, body);
  if (refused !== undefined) throw refused;
  if (status !== 200 && status !== 404) throw unavailable("platform", `the platform answered ${status}`);
  return { status, body };
}

/**
 * Checks a consumer's key with one authenticated platform call (a raw-data read that needs the
 * consumer role). Throws the 401/403 the platform's answer means; returns when it may read.
 */
export async function checkConsumerKey(up: Upstreams, apiKey: string): Promise<void> {
  await platformGet(up, apiKey, `/v1/devices/0x${"0".repeat(40)}/readings?limit=1`);
}
