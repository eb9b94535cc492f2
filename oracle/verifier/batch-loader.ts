/**
 * Loading what the chain anchored: each batch audited once from its manifest (a mirror's hash-checked
 * copy, else the anchoring relayer's registered `manifestUrl` at the anchoring block — the only place
 * a manifest is fetched from, TRUST-MODEL §1), and every direct submission. Results go into
 * {@link Sightings}.
 *
 * @module
 */
import type { RegistryIndex } from "../chain/registry-index.js";
import { keccak256Hex } from "../core/keccak.js";
import { buildBatch, parseManifest } from "../core/manifest.js";
import { auditManifest, type ManifestAudit } from "./audit.js";
import { readDirectSubmissions } from "./direct.js";
import { fetchManifest } from "./manifest-fetch.js";
import type { SignaturePool } from "./pool.js";
import type { Sightings } from "./sightings.js";
import type { ChainReader } from "./sources.js";
import { VerifierError, type BatchResult } from "./types.js";

/** Progress of a long run, for a display. */
export interface Progress {
  phase: "batches" | "signatures" | "devices" | "readings";
  done: number;
  total: number;
}

/** Audits batches and reads direct submissions into the sightings. */
export class BatchLoader {
  readonly #mirrors = new Map<string, Uint8Array[]>();
  readonly #audits = new Map<number, Promise<ManifestAudit>>();
  #allLoaded = false;

  constructor(
    private readonly chain: ChainReader,
    private readonly registry: RegistryIndex,
    private readonly pool: SignaturePool,
    private readonly sightings: Sightings,
    mirrors: readonly Uint8Array[],
    private readonly progress?: (p: Progress) => void,
  ) {
    for (const bytes of mirrors) {
      try {
        const root = buildBatch(parseManifest(bytes)).root;
        this.#mirrors.set(root, [...(this.#mirrors.get(root) ?? []), bytes]);
      } catch {
        // Not a manifest: ignored (it could not match an anchored batch anyway).
      }
    }
  }

  /** True once every batch and direct submission was loaded. */
  get allLoaded(): boolean {
    return this.#allLoaded;
  }

  /** The audit of one batch (run once; a failed run is retried on the next call). */
  audit(batchId: number): Promise<ManifestAudit> {
    let audit = this.#audits.get(batchId);
    if (audit === undefined) {
      audit = this.#runAudit(batchId);
      this.#audits.set(batchId, audit);
      audit.catch(() => this.#audits.delete(batchId));
    }
    return audit;
  }

  /** Audits every anchored batch (each once) and reads every direct submission. */
  async loadAll(): Promise<BatchResult[]> {
    const count = await this.chain.batchCount();
    const results: BatchResult[] = [];
    for (let id = 1; id <= count; id++) {
      this.progress?.({ phase: "batches", done: id - 1, total: count });
      results.push((await this.audit(id)).result);
    }
    this.progress?.({ phase: "batches", done: count, total: count });
    this.sightings.setDirect(
      await readDirectSubmissions({
        client: this.chain.client,
        anchor: this.chain.anchor,
        fromBlock: this.chain.fromBlock,
        maxAnchorDelayAt: (t) => this.chain.maxAnchorDelayAt(t),
      }),
    );
    this.#allLoaded = true;
    return results;
  }

  async #manifestOf(batchId: number, batch: NonNullable<Awaited<ReturnType<ChainReader["batch"]>>>) {
    const candidates = [...(this.#mirrors.get(batch.root.toLowerCase()) ?? [])];
    const isAnchored = (b: Uint8Array) => keccak256Hex(b) === batch.manifestHash.toLowerCase();
    let failure: string | undefined;
    if (!candidates.some(isAnchored)) {
      const manifestUrl = batch.relayer === undefined ? undefined : await this.chain.manifestUrlAt(batch.relayer, batch.blockNumber);
      if (manifestUrl === undefined) failure = `relayer ${batch.relayer ?? "(unknown)"} had no registered manifestUrl`;
      else {
        const got = await fetchManifest({ manifestUrl, root: batch.root, leafCount: batch.leafCount });
        if (got.ok) candidates.push(got.bytes);
        else failure = got.message;
      }
    }
    return { bytes: candidates.find(isAnchored) ?? candidates[0], failure };
  }

  async #runAudit(batchId: number): Promise<ManifestAudit> {
    const batch = await this.chain.batch(batchId);
    if (batch === undefined) throw new VerifierError("UNKNOWN_BATCH", `batch ${batchId} is not anchored on chain ${this.chain.chainId}`);
    const log = await this.chain.anchoredLog(batchId);
    const manifest = await this.#manifestOf(batchId, batch);
    const maxAnchorDelay = await this.chain.maxAnchorDelayAt(batch.anchoredAt);
    if (manifest.bytes === undefined)
      this.sightings.addUnavailable({ batchId, anchoredAt: batch.anchoredAt, maxAnchorDelay, reason: manifest.failure ?? "no manifest" });
    const audit = await auditManifest({
      batch,
      manifestBytes: manifest.bytes,
      chainId: this.chain.chainId,
      anchor: this.chain.anchor,
      directory: this.registry,
      maxAnchorDelay,
      pool: this.pool,
      onProgress: (done, total) => this.progress?.({ phase: "signatures", done, total }),
    });
    if (log === undefined || log.root !== batch.root || log.manifestHash !== batch.manifestHash || log.leafCount !== batch.leafCount) {
      audit.result.ok = false;
      audit.result.issues.push({ issue: "EVENT_MISMATCH", message: "BatchAnchored log missing or different from getBatch" });
    }
    this.sightings.addAudit(audit);
    return audit;
  }
}
