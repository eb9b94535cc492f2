/**
 * The verifier: for one reading, a device and time range, a batch, or everything, it fetches raw
 * payloads from the platform, manifests from the relayer (or mirrors), roots and batches from the
 * chain and keys/statuses from the registry's events, and reports each reading as VERIFIED or
 * exactly what is wrong. It trusts only the audit-chain RPC endpoint.
 *
 * @module
 */
import { createPublicClient, getAddress, http, isAddress, type Address, type Hex, type PublicClient } from "viem";

import { RegistryIndex } from "../chain/registry-index.js";
import { hexToBytes } from "../core/bytes.js";
import { keccak256Hex } from "../core/keccak.js";
import { verifyDeviceSignature } from "../core/keys.js";
import { buildBatch, parseManifest } from "../core/manifest.js";
import { dataHash } from "../core/payload.js";
import { MAX_CLOCK_SKEW_SECONDS } from "../core/reading-time.js";
import { ReadingDigester, readingFromPayload, type Reading } from "../core/reading.js";
import { auditManifest, type DeviceDirectory, type ManifestAudit } from "./audit.js";
import { censorshipProblem, readRelayerRegistrations, type CensorshipContext, type ReceiptEvidence } from "./censorship.js";
import { directInfo, directProblems, readDirectSubmissions, type DirectEntry } from "./direct.js";
import { fetchManifest } from "./manifest-fetch.js";
import { SignaturePool } from "./pool.js";
import { ChainReader, PlatformClient, RelayerClient, type PlatformEquivocation, type PlatformReading } from "./sources.js";
import {
  countStatuses,
  finish,
  ReadingVerdict,
  VerifierError,
  type BatchResult,
  type Problem,
  type ReadingResult,
  type Report,
} from "./types.js";

/** Progress of a long run, for a display. */
export interface Progress {
  phase: "batches" | "signatures" | "devices" | "readings";
  done: number;
  total: number;
}

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

/** An anchored occurrence of a reading, from an audited manifest. */
interface Anchored {
  audit: ManifestAudit;
  index: number;
  reading: Reading;
  signature: Hex;
  result: ReadingResult;
}

const key = (device: Address, seq: number | bigint) => `${device.toLowerCase()}:${seq}`;

/**
 * @example
 * const verifier = await Verifier.create({ rpc: "http://127.0.0.1:8545", anchor,
 *   platform: { url: "http://127.0.0.1:8546", apiKey }, relayer: "http://127.0.0.1:8547" });
 * const report = await verifier.verifyDevice(device, { from: 1_700_000_000 });
 * report.ok; // every reading VERIFIED
 * await verifier.close();
 */
export class Verifier {
  readonly chain: ChainReader;
  readonly registry: RegistryIndex;
  readonly digester: ReadingDigester;
  readonly pool: SignaturePool;
  readonly #platform: PlatformClient | undefined;
  readonly #relayer: RelayerClient | undefined;
  readonly #mirrors = new Map<string, Uint8Array[]>();
  readonly #audits = new Map<number, Promise<ManifestAudit>>();
  readonly #anchored = new Map<string, Anchored[]>();
  /** Batches whose manifest could not be had (UNAVAILABLE), by id. */
  /** Direct submissions (`ReadingSubmitted`) by device and seq. */
  readonly #direct = new Map<string, DirectEntry[]>();
  readonly #receipts = new Map<string, ReceiptEvidence[]>();
  #censorship: CensorshipContext | undefined;
  readonly #unavailable = new Map<number, { batchId: number; anchoredAt: bigint; maxAnchorDelay: bigint; reason: string }>();
  readonly #progress: ((p: Progress) => void) | undefined;
  #allLoaded = false;

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
    for (const e of options.receipts ?? []) {
      const k = key(e.receipt.device, BigInt(e.receipt.seq));
      this.#receipts.set(k, [...(this.#receipts.get(k) ?? []), e]);
    }
    for (const bytes of options.manifests ?? []) {
      try {
        const root = buildBatch(parseManifest(bytes)).root;
        this.#mirrors.set(root, [...(this.#mirrors.get(root) ?? []), bytes]);
      } catch {
        // Not a manifest: ignored (it could not match an anchored batch anyway).
      }
    }
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

  // ---------------------------------------------------------------- batches

  /** Full audit of one anchored batch (rebuild, compare with the chain, recheck every signature). */
  async auditBatch(batchId: number): Promise<BatchResult> {
    return (await this.#audit(batchId)).result;
  }

  #audit(batchId: number): Promise<ManifestAudit> {
    let audit = this.#audits.get(batchId);
    if (audit === undefined) {
      audit = this.#runAudit(batchId);
      this.#audits.set(batchId, audit);
      audit.catch(() => this.#audits.delete(batchId));
    }
    return audit;
  }

  async #runAudit(batchId: number): Promise<ManifestAudit> {
    const batch = await this.chain.batch(batchId);
    if (batch === undefined) throw new VerifierError("UNKNOWN_BATCH", `batch ${batchId} is not anchored on chain ${this.chain.chainId}`);
    const log = await this.chain.anchoredLog(batchId);
    // Candidates: mirrors with this root (hash-checked copies), then the anchoring relayer's registered
    // manifestUrl at the anchoring block — the only place a manifest is fetched from (TRUST-MODEL §1).
    const candidates = [...(this.#mirrors.get(batch.root.toLowerCase()) ?? [])];
    const isAnchored = (b: Uint8Array) => keccak256Hex(b) === batch.manifestHash.toLowerCase();
    let fetchFailure: string | undefined;
    if (!candidates.some(isAnchored)) {
      const manifestUrl = batch.relayer === undefined ? undefined : await this.chain.manifestUrlAt(batch.relayer, batch.blockNumber);
      if (manifestUrl === undefined) fetchFailure = `relayer ${batch.relayer ?? "(unknown)"} had no registered manifestUrl`;
      else {
        const got = await fetchManifest({ manifestUrl, batchId, leafCount: batch.leafCount });
        if (got.ok) candidates.push(got.bytes);
        else fetchFailure = got.message;
      }
    }
    const manifestBytes = candidates.find(isAnchored) ?? candidates[0];
    const maxAnchorDelay = await this.chain.maxAnchorDelayAt(batch.anchoredAt);
    if (manifestBytes === undefined)
      this.#unavailable.set(batchId, { batchId, anchoredAt: batch.anchoredAt, maxAnchorDelay, reason: fetchFailure ?? "no manifest" });
    const audit = await auditManifest({
      batch,
      manifestBytes,
      chainId: this.chain.chainId,
      anchor: this.chain.anchor,
      directory: this.registry,
      maxAnchorDelay,
      pool: this.pool,
      onProgress: (done, total) => this.#progress?.({ phase: "signatures", done, total }),
    });
    if (log === undefined || log.root !== batch.root || log.manifestHash !== batch.manifestHash || log.leafCount !== batch.leafCount) {
      audit.result.ok = false;
      audit.result.issues.push({ issue: "EVENT_MISMATCH", message: "BatchAnchored log missing or different from getBatch" });
    }
    audit.manifest?.items.forEach((item, index) => {
      const k = key(item.reading.device, item.reading.seq);
      const list = this.#anchored.get(k) ?? [];
      list.push({ audit, index, reading: item.reading, signature: item.signature, result: audit.result.readings[index] });
      this.#anchored.set(k, list);
    });
    return audit;
  }

  /** Audits every anchored batch (once). */
  async #loadAll(): Promise<BatchResult[]> {
    const count = await this.chain.batchCount();
    const results: BatchResult[] = [];
    for (let id = 1; id <= count; id++) {
      this.#progress?.({ phase: "batches", done: id - 1, total: count });
      results.push((await this.#audit(id)).result);
    }
    this.#progress?.({ phase: "batches", done: count, total: count });
    await this.#loadDirect();
    this.#allLoaded = true;
    return results;
  }

  /** Reads every direct submission (once per load: the logs are read again from the deployment block). */
  async #loadDirect(): Promise<void> {
    const entries = await readDirectSubmissions({
      client: this.chain.client,
      anchor: this.chain.anchor,
      fromBlock: this.chain.fromBlock,
      maxAnchorDelayAt: (t) => this.chain.maxAnchorDelayAt(t),
    });
    this.#direct.clear();
    for (const e of entries) {
      const k = key(e.reading.device, e.reading.seq);
      this.#direct.set(k, [...(this.#direct.get(k) ?? []), e]);
    }
  }

  /** The direct submissions of the chain, as last loaded (for the dashboard and reports). */
  get directSubmissions(): DirectEntry[] {
    return [...this.#direct.values()].flat();
  }

  /** Adds CENSORED when one of the device's receipts for the reading proves it (TRUST-MODEL §6). */
  async #censor(result: ReadingResult, raw: PlatformReading | undefined): Promise<ReadingResult> {
    const receipts = this.#receipts.get(key(result.device, result.seq));
    if (receipts === undefined) return result;
    const context = await this.#censorshipContext();
    for (const e of receipts) {
      const evidence: ReceiptEvidence =
        e.reading === undefined && raw !== undefined && raw.dataHash.toLowerCase() === e.receipt.dataHash.toLowerCase()
          ? { ...e, reading: { timestamp: raw.ts, signature: raw.signature } }
          : e;
      const { problem } = await censorshipProblem(evidence, context);
      if (problem !== undefined) return finish({ ...result, problems: [...result.problems, problem] });
    }
    return result;
  }

  async #censorshipContext(): Promise<CensorshipContext> {
    const latest = (await this.chain.client.getBlock({ blockTag: "latest" })).timestamp;
    if (this.#censorship?.latest === latest) return this.#censorship;
    if (!this.#allLoaded) await this.#loadAll();
    this.#censorship = {
      chainId: this.chain.chainId,
      anchor: this.chain.anchor,
      registrations: await readRelayerRegistrations(this.chain.client, this.chain.anchor, this.chain.fromBlock),
      latest,
      statusAt: (device, t) => this.registry.statusAt(device, t),
      signedByDevice: (reading, signature) => this.#signedByDevice(reading, signature),
      anchoredTimes: (device, seq, dataHash) => [
        ...(this.#anchored.get(key(device, seq)) ?? [])
          .filter((a) => a.audit.authentic && a.reading.dataHash === dataHash)
          .map((a) => BigInt(a.audit.result.anchoredAt)),
        ...(this.#direct.get(key(device, seq)) ?? []).filter((d) => d.reading.dataHash === dataHash).map((d) => d.anchoredAt),
      ],
      unavailableBefore: (t, deadline) =>
        [...this.#unavailable.values()].some((u) => t <= u.anchoredAt + MAX_CLOCK_SKEW_SECONDS && u.anchoredAt <= deadline),
    };
    return this.#censorship;
  }

  // ---------------------------------------------------------------- readings

  /** The platform client, if configured. */
  get platform(): PlatformClient | undefined {
    return this.#platform;
  }

  /**
   * Where (device, seq) is anchored, from an audited manifest: the authentic occurrence first.
   * Call after {@link Verifier.verifyReading} (which loads the batches it needs).
   */
  anchored(device: Address, seq: number): { audit: ManifestAudit; index: number; reading: Reading; signature: Hex } | undefined {
    const list = [...(this.#anchored.get(key(device, seq)) ?? [])];
    list.sort((a, b) => Number(b.audit.authentic) - Number(a.audit.authentic));
    return list[0];
  }

  /** Verifies one reading. */
  async verifyReading(device: Address, seq: number): Promise<ReadingResult> {
    device = this.#device(device);
    if (!Number.isSafeInteger(seq) || seq < 1) throw new VerifierError("INVALID_ARGUMENT", "seq must be a positive integer");
    await this.registry.sync();
    // The relayer's word only tells where to look; if the reading is not found authentically there, look everywhere.
    const hint = await this.#relayer?.reading(device, seq);
    if (hint?.batchId !== undefined && hint.batchId !== null) await this.#audit(Number(hint.batchId)).catch(() => undefined);
    if (!this.#anchored.get(key(device, seq))?.some((a) => a.audit.authentic)) await this.#loadAll();
    const raw = await this.#platform?.reading(device, seq);
    const equivocations = (await this.#platform?.equivocations(device)) ?? [];
    return this.#censor(this.#judge(device, seq, raw, equivocations), raw);
  }

  /** Verifies a device's readings with from ≤ timestamp ≤ to, gaps included. */
  async verifyDevice(device: Address, range: { from?: number; to?: number } = {}): Promise<Report> {
    device = this.#device(device);
    await this.registry.sync();
    if (!this.#allLoaded) await this.#loadAll();
    return report(await this.#deviceResults(device, range));
  }

  /** Verifies every device of the registry and of every anchored manifest, and every batch. */
  async verifyAll(): Promise<Report> {
    await this.registry.sync();
    const batches = await this.#loadAll();
    const devices = new Set<Address>(this.registry.devices().map((d) => d.device));
    for (const list of this.#anchored.values()) for (const a of list) devices.add(a.reading.device);
    for (const list of this.#direct.values()) for (const d of list) devices.add(d.reading.device);
    const results: ReadingResult[] = [];
    let done = 0;
    for (const device of devices) {
      this.#progress?.({ phase: "devices", done: done++, total: devices.size });
      results.push(...(await this.#deviceResults(device, {})));
    }
    this.#progress?.({ phase: "devices", done, total: devices.size });
    return report(results, batches);
  }

  async #deviceResults(device: Address, range: { from?: number; to?: number }): Promise<ReadingResult[]> {
    const inRange = (ts: number) => (range.from === undefined || ts >= range.from) && (range.to === undefined || ts <= range.to);
    const raw = new Map<number, PlatformReading>();
    if (this.#platform !== undefined) for await (const r of this.#platform.readings(device, range)) raw.set(r.seq, r);
    const equivocations = (await this.#platform?.equivocations(device)) ?? [];
    const seqs = new Set<number>(raw.keys());
    const prefix = `${device.toLowerCase()}:`;
    for (const [k, list] of this.#anchored)
      if (k.startsWith(prefix) && list.some((a) => inRange(Number(a.reading.timestamp)))) seqs.add(Number(k.slice(prefix.length)));
    for (const [k, list] of this.#direct)
      if (k.startsWith(prefix) && list.some((d) => inRange(Number(d.reading.timestamp)))) seqs.add(Number(k.slice(prefix.length)));
    for (const [k, list] of this.#receipts)
      if (k.startsWith(prefix) && list.some((e) => e.reading === undefined || inRange(Number(e.reading.timestamp))))
        seqs.add(Number(k.slice(prefix.length)));
    for (const e of equivocations) if (inRange(e.conflicting.ts)) seqs.add(e.seq);
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
      const payload = raw.get(seq) ?? (await this.#rawOutsideRange(device, seq, range));
      results.push(await this.#censor(this.#judge(device, seq, payload, equivocations), payload));
    }
    return results;
  }

  /** A reading anchored with a timestamp in range but whose raw payload (wrongly) says otherwise. */
  async #rawOutsideRange(device: Address, seq: number, range: { from?: number; to?: number }): Promise<PlatformReading | undefined> {
    if (range.from === undefined && range.to === undefined) return undefined;
    return this.#platform?.reading(device, seq);
  }

  #device(device: string): Address {
    if (!isAddress(device, { strict: false })) throw new VerifierError("INVALID_ARGUMENT", `${device} is not a device address`);
    return getAddress(device);
  }

  /** A raw payload's reading, whether its signature is valid, and its hash. */
  #payloadInfo(r: PlatformReading): { bytes: Uint8Array; hash: Hex; reading?: Reading; signed: boolean } {
    const bytes = new Uint8Array(Buffer.from(r.payload, "utf8"));
    const hash = dataHash(bytes);
    let reading: Reading | undefined;
    try {
      reading = readingFromPayload(bytes);
    } catch {
      reading = undefined;
    }
    return {
      bytes,
      hash,
      ...(reading === undefined ? {} : { reading }),
      signed: reading !== undefined && this.#signedByDevice(reading, r.signature),
    };
  }

  #signedByDevice(reading: Reading, signature: Hex): boolean {
    const k = this.registry.device(reading.device);
    if (k === undefined) return false;
    try {
      return verifyDeviceSignature({
        scheme: k.scheme,
        publicKey: k.publicKey,
        digest: this.digester.digest(reading),
        signature: hexToBytes(signature),
      });
    } catch {
      return false;
    }
  }

  #judge(device: Address, seq: number, raw: PlatformReading | undefined, equivocations: PlatformEquivocation[]): ReadingResult {
    const problems: Problem[] = [];
    const entries = this.#anchored.get(key(device, seq)) ?? [];
    const payload = raw === undefined ? undefined : this.#payloadInfo(raw);
    // Prefer an authentic batch, then one whose dataHash matches the payload.
    const rank = (a: Anchored) => (a.audit.authentic ? 0 : 2) + (payload !== undefined && a.reading.dataHash === payload.hash ? 0 : 1);
    const best = [...entries].sort((a, b) => rank(a) - rank(b))[0];
    const result: Omit<ReadingResult, "status"> = { device, seq, problems };
    if (payload !== undefined) result.payloadHash = payload.hash;
    // A batch holding the reading comes first; else a direct submission (TRUST-MODEL §5).
    const directs = best === undefined ? (this.#direct.get(key(device, seq)) ?? []) : [];
    const direct = directs.find((d) => d.reading.dataHash === payload?.hash) ?? directs[0];
    let anchored: { reading: Reading; where: string } | undefined;
    if (best !== undefined) {
      anchored = { reading: best.reading, where: `batch ${best.audit.result.batchId}` };
      if (best.result.anchor !== undefined) result.anchor = best.result.anchor;
      problems.push(...best.result.problems);
    } else if (direct !== undefined) {
      anchored = { reading: direct.reading, where: `direct submission ${direct.log.txHash}` };
      result.direct = directInfo(direct);
      problems.push(...directProblems(direct, this.registry, (r, sig) => this.#signedByDevice(r, sig)));
    }

    if (anchored === undefined) {
      if (payload !== undefined) {
        result.timestamp = raw!.ts;
        // A batch anchored in the reading's window whose manifest cannot be had may hold it: UNAVAILABLE, not NOT_ANCHORED.
        const t = BigInt(raw!.ts);
        const couldHold = [...this.#unavailable.values()].filter(
          (u) => t <= u.anchoredAt + MAX_CLOCK_SKEW_SECONDS && u.anchoredAt <= t + u.maxAnchorDelay,
        );
        if (couldHold.length > 0)
          problems.push({
            status: ReadingVerdict.UNAVAILABLE,
            message: `not in any available manifest; batch(es) ${couldHold.map((u) => u.batchId).join(", ")} of its window have no manifest`,
            details: { batches: couldHold.map((u) => ({ batchId: u.batchId, reason: u.reason })) },
          });
        else problems.push({ status: ReadingVerdict.NOT_ANCHORED, message: "no anchored batch holds this reading" });
        if (payload.reading === undefined || !payload.signed)
          problems.push({ status: ReadingVerdict.BAD_SIGNATURE, message: "the platform's payload is not signed by the device" });
      }
    } else {
      const anchoredReading = anchored.reading;
      result.timestamp = Number(anchoredReading.timestamp);
      result.anchoredDataHash = anchoredReading.dataHash;
      if (payload === undefined) {
        problems.push({
          status: ReadingVerdict.RAW_MISSING,
          message: `anchored in ${anchored.where} but the platform has no payload`,
        });
      } else if (payload.hash !== anchoredReading.dataHash) {
        if (payload.signed && payload.reading!.seq === BigInt(seq))
          problems.push({
            status: ReadingVerdict.EQUIVOCATION,
            message: "the device signed the platform's payload and another anchored dataHash for this seq",
            details: { payloadHash: payload.hash, anchoredDataHash: anchoredReading.dataHash },
          });
        else
          problems.push({
            status: ReadingVerdict.TAMPERED,
            message: "keccak256(raw payload) is not the anchored dataHash",
            details: { payloadHash: payload.hash, anchoredDataHash: anchoredReading.dataHash },
          });
      } else if (
        payload.reading === undefined ||
        payload.reading.device !== anchoredReading.device ||
        payload.reading.seq !== anchoredReading.seq ||
        payload.reading.timestamp !== anchoredReading.timestamp
      ) {
        problems.push({ status: ReadingVerdict.TAMPERED, message: "the payload's device/seq/ts contradict the anchored reading" });
      }
    }

    // Equivocation evidence: two validly signed, different payloads for this seq.
    const signedHashes = new Set<string>();
    if (payload?.signed && payload.reading!.seq === BigInt(seq)) signedHashes.add(payload.hash);
    for (const e of equivocations) {
      if (e.seq !== seq) continue;
      for (const r of [e.stored, e.conflicting]) {
        const info = this.#payloadInfo(r);
        if (info.signed && info.reading!.device === device && info.reading!.seq === BigInt(seq)) signedHashes.add(info.hash);
      }
    }
    for (const a of entries)
      if (a.result.problems.every((p) => p.status !== ReadingVerdict.BAD_SIGNATURE)) signedHashes.add(a.reading.dataHash);
    if (signedHashes.size > 1)
      problems.push({
        status: ReadingVerdict.EQUIVOCATION,
        message: `the device signed ${signedHashes.size} different payloads for seq ${seq}`,
        details: { dataHashes: [...signedHashes] },
      });
    if (direct?.signature !== undefined && this.#signedByDevice(direct.reading, direct.signature))
      signedHashes.add(direct.reading.dataHash);
    if (anchored === undefined && payload === undefined && signedHashes.size === 0)
      problems.push({ status: ReadingVerdict.SEQUENCE_GAP, message: `no reading with seq ${seq}` });
    return finish(result);
  }
}

function report(readings: ReadingResult[], batches?: BatchResult[]): Report {
  const counts = countStatuses(readings);
  const ok = counts.VERIFIED === readings.length && (batches ?? []).every((b) => b.ok);
  return { ok, counts, readings, ...(batches === undefined ? {} : { batches }) };
}
