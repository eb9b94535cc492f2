/**
 * The verifier's thin shell: HTTP clients of the platform and the relayer, and the chain reader.
 * Nothing here is trusted: every answer is rechecked by the verifier.
 *
 * @module
 */
import { getAddress, type Address, type Hex, type PublicClient } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import { readAnchorLogs, type AnchoredBatchLog } from "../chain/anchor-log.js";
import type { AnchoredBatch } from "../core/anchored-batch.js";
import { VerifierError } from "./types.js";

/** A reading as the platform serves it (`GET /v1/devices/:device/readings…`). */
export interface PlatformReading {
  device: Address;
  seq: number;
  ts: number;
  dataHash: Hex;
  /** The exact stored payload text. */
  payload: string;
  signature: Hex;
  receivedAt: string;
}

/** An equivocation as the platform serves it. */
export interface PlatformEquivocation {
  id: number;
  seq: number;
  stored: PlatformReading;
  conflicting: PlatformReading;
}

async function getJson(
  url: string,
  headers: Record<string, string>,
  what: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON from another service, read field by field by the caller
): Promise<{ status: number; body: any; bytes: Uint8Array }> {
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (cause) {
    throw new VerifierError("SERVICE_UNREACHABLE", `${what} unreachable at ${new URL(url).origin}`, { cause, details: { url } });
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    body = undefined;
  }
  if (res.status === 401 || res.status === 403)
    throw new VerifierError("UNAUTHORIZED", `${what} refused the request (${res.status}): check the API key`, { details: { url } });
  if (res.status >= 500 || (res.status >= 400 && res.status !== 404))
    throw new VerifierError("SERVICE_ERROR", `${what} answered ${res.status}: ${JSON.stringify(body ?? "").slice(0, 200)}`, {
      details: { url },
    });
  return { status: res.status, body, bytes };
}

/**
 * Client of the data platform's read API (consumer API key).
 *
 * @example
 * const platform = new PlatformClient("http://127.0.0.1:8546", process.env.SENSORSEAL_API_KEY!);
 * for await (const r of platform.readings(device, { from: 0 })) console.log(r.seq);
 */
export class PlatformClient {
  readonly #headers: Record<string, string>;
  constructor(
    readonly url: string,
    apiKey: string,
    readonly pageSize = 1000,
  ) {
    this.url = url.replace(/\/+$/, "");
    this.#headers = { authorization: `Bearer ${apiKey}` };
  }

  /** A device's readings with from ≤ ts ≤ to, by ascending seq (all pages). */
  async *readings(device: Address, range: { from?: number; to?: number } = {}): AsyncGenerator<PlatformReading> {
    let afterSeq = 0;
    for (;;) {
      const q = new URLSearchParams({ afterSeq: String(afterSeq), limit: String(this.pageSize) });
      if (range.from !== undefined) q.set("from", String(range.from));
      if (range.to !== undefined) q.set("to", String(range.to));
      const { status, body } = await getJson(`${this.url}/v1/devices/${device}/readings?${q}`, this.#headers, "platform");
      if (status === 404) return;
      if (!Array.isArray(body?.readings)) throw new VerifierError("SERVICE_ERROR", "platform: unexpected readings answer");
      for (const r of body.readings as PlatformReading[]) yield r;
      if (body.nextAfterSeq === null || body.nextAfterSeq === undefined || body.readings.length === 0) return;
      afterSeq = Number(body.nextAfterSeq);
    }
  }

  /** One reading, or undefined when the platform has none. */
  async reading(device: Address, seq: number): Promise<PlatformReading | undefined> {
    const { status, body } = await getJson(`${this.url}/v1/devices/${device}/readings/${seq}`, this.#headers, "platform");
    return status === 404 ? undefined : (body as PlatformReading);
  }

  /** The device's equivocations (all pages). */
  async equivocations(device: Address): Promise<PlatformEquivocation[]> {
    const out: PlatformEquivocation[] = [];
    let afterId = 0;
    for (;;) {
      const q = new URLSearchParams({ afterId: String(afterId), limit: String(this.pageSize) });
      const { status, body } = await getJson(`${this.url}/v1/devices/${device}/equivocations?${q}`, this.#headers, "platform");
      if (status === 404 || !Array.isArray(body?.equivocations)) return out;
      out.push(...(body.equivocations as PlatformEquivocation[]));
      if (body.nextAfterId === null || body.nextAfterId === undefined) return out;
      afterId = Number(body.nextAfterId);
    }
  }
}

/** What the relayer says of one reading (a hint: the verifier rechecks all of it). */
export interface RelayerReading {
  status: string;
  device: Address;
  seq: string;
  timestamp: string;
  dataHash: Hex;
  signature: Hex;
  chainId: number;
  anchor: Address;
  batchId?: number;
  root?: Hex;
  leaf?: Hex;
  proof?: Hex[];
  txHash?: Hex;
  blockNumber?: number;
}

/**
 * Client of the relayer's read API (no key).
 *
 * @example
 * const relayer = new RelayerClient("http://127.0.0.1:8547");
 * const bytes = await relayer.manifest(3); // exact manifest bytes or undefined
 */
export class RelayerClient {
  constructor(readonly url: string) {
    this.url = url.replace(/\/+$/, "");
  }

  async reading(device: Address, seq: number): Promise<RelayerReading | undefined> {
    const { status, body } = await getJson(`${this.url}/v1/readings/${device}/${seq}`, {}, "relayer");
    return status === 404 ? undefined : (body as RelayerReading);
  }

  /** The exact manifest bytes of an on-chain batch id, or undefined. */
  async manifest(batchId: number): Promise<Uint8Array | undefined> {
    const { status, bytes } = await getJson(`${this.url}/v1/batches/${batchId}/manifest`, {}, "relayer");
    return status === 404 ? undefined : bytes;
  }
}

/**
 * Reads anchored batches from the ReadingAnchor: `getBatch` (the authority) and the
 * `BatchAnchored` logs (for the anchoring transaction), cached.
 *
 * @example
 * const chain = await ChainReader.connect(publicClient, anchor);
 * const batch = await chain.batch(1); // undefined when not anchored
 */
export class ChainReader {
  readonly #batches = new Map<number, AnchoredBatch>();
  readonly #logs = new Map<number, AnchoredBatchLog>();
  #logsUntil: bigint;

  private constructor(
    readonly client: PublicClient,
    readonly anchor: Address,
    readonly chainId: number,
    readonly registry: Address,
    readonly fromBlock: bigint,
  ) {
    this.#logsUntil = fromBlock - 1n;
  }

  /** Checks there is a ReadingAnchor at `anchor` and reads its registry and the chain id. */
  static async connect(client: PublicClient, anchor: Address, fromBlock = 0n): Promise<ChainReader> {
    let chainId: number;
    try {
      chainId = await client.getChainId();
    } catch (cause) {
      throw new VerifierError("SERVICE_UNREACHABLE", "audit-chain RPC unreachable", { cause });
    }
    let registry: Address;
    try {
      registry = await client.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "registry" });
    } catch (cause) {
      throw new VerifierError("NOT_AN_ANCHOR", `no ReadingAnchor at ${anchor} on chain ${chainId}`, { cause });
    }
    return new ChainReader(client, getAddress(anchor), chainId, getAddress(registry), fromBlock);
  }

  readonly #delays = new Map<bigint, bigint>();
  readonly #manifestUrls = new Map<string, string | undefined>();

  /** `maxAnchorDelayAt(timestamp)`: the anchoring delay in force at that time, seconds (cached). */
  async maxAnchorDelayAt(timestamp: bigint): Promise<bigint> {
    let delay = this.#delays.get(timestamp);
    if (delay === undefined) {
      delay = BigInt(
        await this.client.readContract({
          address: this.anchor,
          abi: readingAnchorAbi,
          functionName: "maxAnchorDelayAt",
          args: [timestamp],
        }),
      );
      this.#delays.set(timestamp, delay);
    }
    return delay;
  }

  /**
   * The `manifestUrl` a relayer had registered at a block (`relayerInfo` read at that block), or
   * undefined when it had none: the one source of its batches' manifests (TRUST-MODEL §1).
   */
  async manifestUrlAt(relayer: Address, blockNumber: bigint): Promise<string | undefined> {
    const k = `${relayer.toLowerCase()}@${blockNumber}`;
    if (!this.#manifestUrls.has(k)) {
      const info = await this.client.readContract({
        address: this.anchor,
        abi: readingAnchorAbi,
        functionName: "relayerInfo",
        args: [relayer],
        blockNumber,
      });
      this.#manifestUrls.set(k, info.manifestUrl === "" ? undefined : info.manifestUrl);
    }
    return this.#manifestUrls.get(k);
  }

  async batchCount(): Promise<number> {
    return Number(await this.client.readContract({ address: this.anchor, abi: readingAnchorAbi, functionName: "batchCount" }));
  }

  /** The batch as `getBatch` answers, with its anchoring tx from the logs; undefined when unknown. */
  async batch(batchId: number): Promise<AnchoredBatch | undefined> {
    const cached = this.#batches.get(batchId);
    if (cached !== undefined) return cached;
    const b = await this.client.readContract({
      address: this.anchor,
      abi: readingAnchorAbi,
      functionName: "getBatch",
      args: [BigInt(batchId)],
    });
    if (/^0x0{64}$/.test(b.root)) return undefined;
    await this.#readLogs();
    const log = this.#logs.get(batchId);
    const batch: AnchoredBatch = {
      batchId: BigInt(batchId),
      root: b.root,
      manifestHash: b.manifestHash,
      leafCount: Number(b.leafCount),
      anchoredAt: BigInt(b.anchoredAt),
      blockNumber: BigInt(b.blockNumber),
      ...(log === undefined ? {} : { txHash: log.txHash, relayer: log.relayer }),
    };
    this.#batches.set(batchId, batch);
    return batch;
  }

  /** The BatchAnchored log of a batch (what the event says), if seen. */
  async anchoredLog(batchId: number): Promise<AnchoredBatchLog | undefined> {
    await this.#readLogs();
    return this.#logs.get(batchId);
  }

  async #readLogs(): Promise<void> {
    const read = await readAnchorLogs({
      client: this.client,
      anchor: this.anchor,
      fromBlock: this.#logsUntil + 1n,
      events: ["BatchAnchored"],
    });
    for (const log of read.batches) this.#logs.set(Number(log.batchId), log);
    this.#logsUntil = read.toBlock;
  }
}
