/**
 * The verifier: for one reading, a device and time range, a batch, or everything, it fetches raw
 * payloads from the platform, manifests from the relayer (or mirrors), roots and batches from the
 * chain and keys/statuses from the registry's events, and reports each reading as VERIFIED, PENDING
 * (still in flight) or exactly what is wrong. It trusts only the audit-chain RPC endpoint.
 *
 * Parts: ./batch-loader.ts (audits and direct submissions into ./sightings.ts), ./judge.ts (one
 * reading's verdict), ./censor.ts (CENSORED from receipts), ./in-flight.ts (PENDING), ./report.ts.
 *
 * @module
 */
import { createPublicClient, getAddress, http, isAddress, type Address, type Hex, type PublicClient } from "viem";

import { RegistryIndex } from "../chain/registry-index.js";
import { ReadingDigester, type Reading } from "../core/reading.js";
import type { DeviceDirectory, ManifestAudit } from "./audit.js";
import { BatchLoader, type Progress } from "./batch-loader.js";
import { eachLimit, fetchBatchPayloads, precheckPayloads, type BatchVerdicts } from "./batch-verdicts.js";
import { Censor } from "./censor.js";
import type { ReceiptEvidence } from "./censorship.js";
import { DeviceSignatures } from "./device-signatures.js";
import type { DirectEntry } from "./direct.js";
import type { ChainClock } from "./in-flight.js";
import { judgeReading } from "./judge.js";
import { SignaturePool } from "./pool.js";
import { report } from "./report.js";
import { readingKey, Sightings } from "./sightings.js";
import { ChainReader, PlatformClient, RelayerClient, type PlatformEquivocation, type PlatformReading } from "./sources.js";
import { finish, ReadingVerdict, VerifierError, type BatchResult, type ReadingResult, type Report } from "./types.js";

export type { Progress } from "./batch-loader.js";

/** Options of {@link Verifier.create}. */
export interface VerifierOptions {
  /** The audit chain: an RPC URL or a viem public client. */
  rpc: string | PublicClient;
  /** ReadingAnchor address (the registry is read from it). */
  anchor: Address;
  /** First block of the deployment (registry events and BatchAnchored logs are read from it). */
  deployBlock?: number;
  /** The data platform and a consumer API key. */
  platform?: { url: string; apiKey: string } | PlatformClient;
  /**
   * A relayer's read API: only a hint of where a reading is. Manifests are fetched from the anchoring
   * relayer's registered `manifestUrl` (on chain), never from here.
   */
  relayer?: string | RelayerClient;
  /** Manifest bytes from other mirrors; matched to anchored batches by their rebuilt root, used only when their hash is anchored (or to show a mismatch). */
  manifests?: readonly Uint8Array[];
  /** The device's relayer receipts (the SDK outbox's 202 bodies): evidence for CENSORED (TRUST-MODEL §6). */
  receipts?: readonly ReceiptEvidence[];
  /** Signature worker threads (default: every core). */
  threads?: number;
  onProgress?: (progress: Progress) => void;
}

/**
 * @example
 * const verifier = await Verifier.create({ rpc: "http://127.0.0.1:8545", anchor,
 *   platform: { url: "http://127.0.0.1:8546", apiKey }, relayer: "http://127.0.0.1:8547" });
 * const report = await verifier.verifyDevice(device, { from: 1_700_000_000 });
 * report.ok; // every reading VERIFIED or PENDING (still in flight)
 * await verifier.close();
 */
export class Verifier {
  readonly chain: ChainReader;
  readonly registry: RegistryIndex;
  readonly digester: ReadingDigester;
  readonly pool: SignaturePool;
  readonly #platform: PlatformClient | undefined;
  readonly #relayer: RelayerClient | undefined;
  readonly #sightings = new Sightings();
  readonly #signatures: DeviceSignatures;
  readonly #loader: BatchLoader;
  readonly #censor: Censor;
  readonly #progress: ((p: Progress) => void) | undefined;

  private constructor(chain: ChainReader, registry: RegistryIndex, options: VerifierOptions) {
    this.chain = chain;
    this.registry = registry;
    this.digester = new ReadingDigester(chain.chainId, chain.anchor);
    this.pool = new SignaturePool(options.threads === undefined ? {} : { threads: options.threads });
    const p = options.platform;
    this.#platform = p === undefined ? undefined : p instanceof PlatformClient ? p : new PlatformClient(p.url, p.apiKey);
    const r = options.relayer;
    this.#relayer = r === undefined ? undefined : r instanceof RelayerClient ? r : new RelayerClient(r);
    this.#progress = options.onProgress;
    this.#signatures = new DeviceSignatures(registry, this.digester);
    this.#loader = new BatchLoader(chain, registry, this.pool, this.#sightings, options.manifests ?? [], options.onProgress);
    const ensureLoaded = () => (this.#loader.allLoaded ? Promise.resolve() : this.#loader.loadAll());
    this.#censor = new Censor(chain, registry, this.#sightings, this.#signatures, ensureLoaded, options.receipts ?? []);
  }

  /** Connects to the chain, checks the anchor, and indexes the registry. */
  static async create(options: VerifierOptions): Promise<Verifier> {
    if (!isAddress(options.anchor, { strict: false }))
      throw new VerifierError("INVALID_ARGUMENT", `anchor ${options.anchor} is not an address`);
    const client =
      typeof options.rpc === "string"
        ? (createPublicClient({ transport: http(options.rpc, { retryCount: 1 }) }) as PublicClient)
        : options.rpc;
    const deployBlock = BigInt(options.deployBlock ?? 0);
    const chain = await ChainReader.connect(client, getAddress(options.anchor), deployBlock);
    const registry = await RegistryIndex.start({ client, registry: chain.registry, deployBlock, pollMs: 0 });
    return new Verifier(chain, registry, options);
  }

  async close(): Promise<void> {
    this.registry.stop();
    await this.pool.close();
  }

  get directory(): DeviceDirectory {
    return this.registry;
  }

  /** Full audit of one anchored batch (rebuild, compare with the chain, recheck every signature). */
  async auditBatch(batchId: number): Promise<BatchResult> {
    return (await this.#loader.audit(batchId)).result;
  }

  /** The audit of one anchored batch with its parsed manifest and rebuilt tree (audited once, then cached). */
  loadBatch(batchId: number): Promise<ManifestAudit> {
    return this.#loader.audit(batchId);
  }

  /** The direct submissions of the chain, as last loaded (for the dashboard and reports). */
  get directSubmissions(): DirectEntry[] {
    return this.#sightings.directSubmissions();
  }

  /** The platform client, if configured. */
  get platform(): PlatformClient | undefined {
    return this.#platform;
  }

  /**
   * Where (device, seq) is anchored, from an audited manifest: the authentic occurrence first.
   * Call after {@link Verifier.verifyReading} (which loads the batches it needs).
   */
  anchored(device: Address, seq: number): { audit: ManifestAudit; index: number; reading: Reading; signature: Hex } | undefined {
    const list = [...this.#sightings.anchoredOf(device, seq)];
    list.sort((a, b) => Number(b.audit.authentic) - Number(a.audit.authentic));
    return list[0];
  }

  /**
   * Where (device, seq) was submitted directly (`ReadingSubmitted`), the entry whose dataHash is
   * `dataHash` first. Call after {@link Verifier.verifyReading}.
   */
  directSubmission(device: Address, seq: number, dataHash?: Hex): DirectEntry | undefined {
    const list = this.#sightings.directOf(device, seq);
    return list.find((d) => d.reading.dataHash === dataHash) ?? list[0];
  }

  /** Verifies one reading. */
  async verifyReading(device: Address, seq: number): Promise<ReadingResult> {
    device = this.#device(device);
    if (!Number.isSafeInteger(seq) || seq < 1) throw new VerifierError("INVALID_ARGUMENT", "seq must be a positive integer");
    await this.registry.sync();
    // The relayer's word only tells where to look; if the reading is not found authentically there, look everywhere.
    const hint = await this.#relayer?.reading(device, seq);
    if (hint?.batchId !== undefined && hint.batchId !== null) await this.#loader.audit(Number(hint.batchId)).catch(() => undefined);
    if (!this.#sightings.hasAuthentic(device, seq)) await this.#loader.loadAll();
    const raw = await this.#platform?.reading(device, seq);
    const equivocations = (await this.#platform?.equivocations(device)) ?? [];
    return this.#verdict(device, seq, raw, equivocations, await this.#clock());
  }

  /**
   * Verifies every reading of one anchored batch, each exactly as {@link Verifier.verifyReading} would,
   * at batch cost: one registry sync, one chain clock, the platform's payloads per device, every
   * signature in the pool (./batch-verdicts.ts). A batch whose manifest is missing or not authentic
   * answers its audit's own verdicts. `concurrency`: platform requests in flight (default 8);
   * `platform`: the client for this call's payloads (an auditor's per-batch cache, so that batches
   * checked at once do not share one), else the verifier's.
   */
  async verifyBatchReadings(batchId: number, options: { concurrency?: number; platform?: PlatformClient } = {}): Promise<BatchVerdicts> {
    const concurrency = options.concurrency ?? 8;
    const platform = options.platform ?? this.#platform;
    if (!Number.isSafeInteger(batchId) || batchId < 1) throw new VerifierError("INVALID_ARGUMENT", "batchId must be a positive integer");
    await this.registry.sync();
    const audit = await this.#loader.audit(batchId);
    const payloads = new Map<string, PlatformReading | undefined>();
    if (!audit.authentic || audit.manifest === undefined) return { batch: audit.result, readings: audit.result.readings, payloads };
    const items = audit.manifest.items.map((i) => i.reading);
    if (platform !== undefined) for (const [k, v] of await fetchBatchPayloads(platform, items, concurrency)) payloads.set(k, v);
    const equivocations = new Map<Address, PlatformEquivocation[]>();
    const devices = [...new Set(items.map((r) => r.device))];
    await eachLimit(devices, concurrency, async (d) => void equivocations.set(d, (await platform?.equivocations(d)) ?? []));
    const clock = await this.#clock();
    const present = [...payloads.values()].filter((r): r is PlatformReading => r !== undefined);
    const signatures = await precheckPayloads({
      payloads: present,
      audit,
      directory: this.registry,
      digester: this.digester,
      pool: this.pool,
    });
    const judged = new Map<string, ReadingResult>();
    const readings: ReadingResult[] = [];
    for (const r of items) {
      const k = readingKey(r.device, r.seq);
      let result = judged.get(k);
      if (result === undefined) {
        const seq = Number(r.seq);
        const raw = payloads.get(k);
        const judgedNow = judgeReading({
          device: r.device,
          seq,
          raw,
          equivocations: equivocations.get(r.device) ?? [],
          sightings: this.#sightings,
          signatures,
          directory: this.registry,
          receipts: this.#censor.receiptsOf(r.device, seq),
          clock,
        });
        result = await this.#censor.censor(judgedNow, raw);
        judged.set(k, result);
      }
      readings.push(result);
    }
    return { batch: audit.result, readings, payloads };
  }

  /** Verifies a device's readings with from ≤ timestamp ≤ to, gaps included. */
  async verifyDevice(device: Address, range: { from?: number; to?: number } = {}): Promise<Report> {
    device = this.#device(device);
    await this.registry.sync();
    if (!this.#loader.allLoaded) await this.#loader.loadAll();
    return report(await this.#deviceResults(device, range, await this.#clock()));
  }

  /** Verifies every device of the registry and of every anchored manifest, and every batch. */
  async verifyAll(): Promise<Report> {
    await this.registry.sync();
    const batches = await this.#loader.loadAll();
    const clock = await this.#clock();
    const devices = new Set<Address>([...this.registry.devices().map((d) => d.device), ...this.#sightings.devices()]);
    const results: ReadingResult[] = [];
    let done = 0;
    for (const device of devices) {
      this.#progress?.({ phase: "devices", done: done++, total: devices.size });
      results.push(...(await this.#deviceResults(device, {}, clock)));
    }
    this.#progress?.({ phase: "devices", done, total: devices.size });
    return report(results, batches);
  }

  /** The chain's time for PENDING: the latest block (read before the platform, so nothing looks older than it is). */
  async #clock(): Promise<ChainClock> {
    const latest = (await this.chain.client.getBlock({ blockTag: "latest" })).timestamp;
    return { latest, maxAnchorDelay: await this.chain.maxAnchorDelayAt(latest) };
  }

  async #verdict(
    device: Address,
    seq: number,
    raw: PlatformReading | undefined,
    equivocations: PlatformEquivocation[],
    clock: ChainClock,
  ): Promise<ReadingResult> {
    const receipts = this.#censor.receiptsOf(device, seq);
    const result = judgeReading({
      device,
      seq,
      raw,
      equivocations,
      sightings: this.#sightings,
      signatures: this.#signatures,
      directory: this.registry,
      receipts,
      clock,
    });
    return this.#censor.censor(result, raw);
  }

  async #deviceResults(device: Address, range: { from?: number; to?: number }, clock: ChainClock): Promise<ReadingResult[]> {
    const inRange = (ts: number) => (range.from === undefined || ts >= range.from) && (range.to === undefined || ts <= range.to);
    const raw = new Map<number, PlatformReading>();
    if (this.#platform !== undefined) for await (const r of this.#platform.readings(device, range)) raw.set(r.seq, r);
    const equivocations = (await this.#platform?.equivocations(device)) ?? [];
    const seqs = new Set<number>([
      ...raw.keys(),
      ...this.#sightings.seqsOf(device, inRange),
      ...this.#censor.seqsOf(device, inRange),
      ...equivocations.filter((e) => inRange(e.conflicting.ts)).map((e) => e.seq),
    ]);
    const sorted = [...seqs].sort((a, b) => a - b);
    const results: ReadingResult[] = [];
    const unbounded = range.from === undefined && range.to === undefined;
    let expected = sorted.length > 0 && unbounded ? 1 : (sorted[0] ?? 1);
    for (const seq of sorted) {
      for (let gap = expected; gap < seq; gap++)
        results.push(
          finish({
            device,
            seq: gap,
            problems: [{ status: ReadingVerdict.SEQUENCE_GAP, message: `no reading with seq ${gap} (neither raw nor anchored)` }],
          }),
        );
      expected = seq + 1;
      this.#progress?.({ phase: "readings", done: results.length, total: sorted.length });
      const payload = raw.get(seq) ?? (unbounded ? undefined : await this.#platform?.reading(device, seq));
      results.push(await this.#verdict(device, seq, payload, equivocations, clock));
    }
    return results;
  }

  #device(device: string): Address {
    if (!isAddress(device, { strict: false })) throw new VerifierError("INVALID_ARGUMENT", `${device} is not a device address`);
    return getAddress(device);
  }
}
