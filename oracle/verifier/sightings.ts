/**
 * Where the verifier has seen each reading on the audit chain: in audited batches (authentic or not),
 * in direct submissions (`ReadingSubmitted`), and which batches have no manifest (UNAVAILABLE). A plain
 * index filled by the batch loader and read by the judge.
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { MAX_CLOCK_SKEW_SECONDS } from "../core/reading-time.js";
import type { Reading } from "../core/reading.js";
import type { ManifestAudit } from "./audit.js";
import type { DirectEntry } from "./direct.js";
import type { ReadingResult } from "./types.js";

/** An anchored occurrence of a reading, from an audited manifest. */
export interface AnchoredOccurrence {
  audit: ManifestAudit;
  /** Its index in the manifest. */
  index: number;
  reading: Reading;
  signature: Hex;
  /** The batch audit's verdict on it. */
  result: ReadingResult;
}

/** A batch whose manifest could not be had (TRUST-MODEL §1: EXCLUDED). */
export interface UnavailableBatch {
  batchId: number;
  anchoredAt: bigint;
  /** `maxAnchorDelayAt(anchoredAt)`. */
  maxAnchorDelay: bigint;
  reason: string;
}

/** The map key of (device, seq). */
export const readingKey = (device: Address, seq: number | bigint): string => `${device.toLowerCase()}:${seq}`;

/** The sightings of one verifier run. */
export class Sightings {
  readonly #anchored = new Map<string, AnchoredOccurrence[]>();
  readonly #direct = new Map<string, DirectEntry[]>();
  readonly #unavailable = new Map<number, UnavailableBatch>();

  /** Records every reading of an audited manifest. */
  addAudit(audit: ManifestAudit): void {
    audit.manifest?.items.forEach((item, index) => {
      const k = readingKey(item.reading.device, item.reading.seq);
      const list = this.#anchored.get(k) ?? [];
      list.push({ audit, index, reading: item.reading, signature: item.signature, result: audit.result.readings[index] });
      this.#anchored.set(k, list);
    });
  }

  addUnavailable(batch: UnavailableBatch): void {
    this.#unavailable.set(batch.batchId, batch);
  }

  /** Replaces the direct submissions (they are read again from the deployment block on each load). */
  setDirect(entries: readonly DirectEntry[]): void {
    this.#direct.clear();
    for (const e of entries) {
      const k = readingKey(e.reading.device, e.reading.seq);
      this.#direct.set(k, [...(this.#direct.get(k) ?? []), e]);
    }
  }

  anchoredOf(device: Address, seq: number | bigint): readonly AnchoredOccurrence[] {
    return this.#anchored.get(readingKey(device, seq)) ?? [];
  }

  directOf(device: Address, seq: number | bigint): readonly DirectEntry[] {
    return this.#direct.get(readingKey(device, seq)) ?? [];
  }

  /** True when an authentic batch holds (device, seq). */
  hasAuthentic(device: Address, seq: number | bigint): boolean {
    return this.anchoredOf(device, seq).some((a) => a.audit.authentic);
  }

  /** Every direct submission seen. */
  directSubmissions(): DirectEntry[] {
    return [...this.#direct.values()].flat();
  }

  /** Every device seen in a manifest or a direct submission. */
  devices(): Address[] {
    const out: Address[] = [];
    for (const list of this.#anchored.values()) for (const a of list) out.push(a.reading.device);
    for (const list of this.#direct.values()) for (const d of list) out.push(d.reading.device);
    return out;
  }

  /** The seqs of `device` seen on chain (batch or direct) with a timestamp `inRange`. */
  seqsOf(device: Address, inRange: (timestamp: number) => boolean): number[] {
    const prefix = `${device.toLowerCase()}:`;
    const seqs: number[] = [];
    const collect = (map: Map<string, readonly { reading: Reading }[]>) => {
      for (const [k, list] of map)
        if (k.startsWith(prefix) && list.some((e) => inRange(Number(e.reading.timestamp)))) seqs.push(Number(k.slice(prefix.length)));
    };
    collect(this.#anchored);
    collect(this.#direct);
    return seqs;
  }

  /** Unavailable batches anchored in the window of a reading dated `timestamp` (they could hold it). */
  unavailableFor(timestamp: bigint): UnavailableBatch[] {
    return [...this.#unavailable.values()].filter(
      (u) => timestamp <= u.anchoredAt + MAX_CLOCK_SKEW_SECONDS && u.anchoredAt <= timestamp + u.maxAnchorDelay,
    );
  }

  /** True when a batch that could hold a reading dated `timestamp`, anchored by `deadline`, has no manifest. */
  unavailableBefore(timestamp: bigint, deadline: bigint): boolean {
    return [...this.#unavailable.values()].some((u) => timestamp <= u.anchoredAt + MAX_CLOCK_SKEW_SECONDS && u.anchoredAt <= deadline);
  }

  /** When (device, seq, dataHash) was anchored: authentic batches' `anchoredAt` and direct submissions' times. */
  anchoredTimes(device: Address, seq: bigint, dataHash: Hex): bigint[] {
    return [
      ...this.anchoredOf(device, seq)
        .filter((a) => a.audit.authentic && a.reading.dataHash === dataHash)
        .map((a) => BigInt(a.audit.result.anchoredAt)),
      ...this.directOf(device, seq)
        .filter((d) => d.reading.dataHash === dataHash)
        .map((d) => d.anchoredAt),
    ];
  }
}
