/**
 * Verdicts for every reading of one anchored batch at once (the auditor's hot path): the same verdict
 * `verifyReading` gives each reading, with the per-reading costs paid once per batch — one registry
 * sync and one chain clock per batch, the platform's payloads fetched per device (not per reading),
 * and every payload signature checked in the signature pool in one job. A payload signature that is
 * byte-for-byte the manifest's signature over the same reading, already checked by the batch audit,
 * is not checked twice (same digest, same key, same bytes: same answer).
 *
 * @module
 */
import type { Address } from "viem";

import { hexToBytes } from "../core/bytes.js";
import { dataHash } from "../core/payload.js";
import { readingFromPayload, type Reading, type ReadingDigester } from "../core/reading.js";
import type { DeviceDirectory, ManifestAudit } from "./audit.js";
import { DeviceSignatures, type PayloadInfo } from "./device-signatures.js";
import { packedJob, type DeviceKey, type SignaturePool } from "./pool.js";
import { readingKey } from "./sightings.js";
import type { PlatformClient, PlatformReading } from "./sources.js";
import { ReadingVerdict, type BatchResult, type ReadingResult } from "./types.js";

/** What {@link Verifier.verifyBatchReadings} answers. */
export interface BatchVerdicts {
  /** The full-batch audit (manifest against the chain, every manifest signature). */
  batch: BatchResult;
  /** One verdict per manifest item, in manifest order (the batch's own verdicts when it is not authentic). */
  readings: ReadingResult[];
  /** The platform's payloads that were judged, by `readingKey(device, seq)` (undefined: the platform has none). */
  payloads: Map<string, PlatformReading | undefined>;
}

/** A platform client that can load a device's seq range in one request (the auditor's cache does). */
interface SeqRangePrefetch {
  prefetch(device: Address, fromSeq: number, toSeq: number): Promise<void>;
}

/** A platform client that can load listed (device, seq) pairs in bulk (the auditor's cache does); false: not offered by the platform. */
interface PairPrefetch {
  prefetchPairs(pairs: readonly { device: Address; seq: number }[]): Promise<boolean>;
}

/** Seq span wider than this is fetched reading by reading (a replayed old seq, not a neighbour). */
const MAX_SPAN = 2000;

/**
 * The platform's payloads for `readings`: one bulk lookup of every (device, seq) when the client and
 * the platform support it; else per device one seq-range prefetch when the client supports it, else
 * one time-range listing; anything not found that way is asked for by (device, seq), so a payload
 * whose time was altered is still found (and judged TAMPERED, not RAW_MISSING).
 *
 * @example
 * const payloads = await fetchBatchPayloads(platform, audit.manifest.items.map((i) => i.reading));
 * payloads.get(readingKey(device, 7)); // the platform's reading, or undefined
 */
export async function fetchBatchPayloads(
  platform: PlatformClient,
  readings: readonly Reading[],
  concurrency = 8,
): Promise<Map<string, PlatformReading | undefined>> {
  const spans = new Map<Address, { minSeq: number; maxSeq: number; minTs: number; maxTs: number }>();
  for (const r of readings) {
    const seq = Number(r.seq);
    const ts = Number(r.timestamp);
    const s = spans.get(r.device);
    if (s === undefined) spans.set(r.device, { minSeq: seq, maxSeq: seq, minTs: ts, maxTs: ts });
    else
      Object.assign(s, {
        minSeq: Math.min(s.minSeq, seq),
        maxSeq: Math.max(s.maxSeq, seq),
        minTs: Math.min(s.minTs, ts),
        maxTs: Math.max(s.maxTs, ts),
      });
  }
  const found = new Map<string, PlatformReading>();
  const prefetcher = "prefetch" in platform ? (platform as unknown as SeqRangePrefetch) : undefined;
  const bulk = "prefetchPairs" in platform ? (platform as unknown as PairPrefetch) : undefined;
  const inBulk = bulk !== undefined && (await bulk.prefetchPairs(readings.map((r) => ({ device: r.device, seq: Number(r.seq) }))));
  if (!inBulk)
    await eachLimit([...spans], concurrency, async ([device, s]) => {
      if (s.maxSeq - s.minSeq >= MAX_SPAN) return;
      if (prefetcher !== undefined) await prefetcher.prefetch(device, s.minSeq, s.maxSeq);
      else for await (const r of platform.readings(device, { from: s.minTs, to: s.maxTs })) found.set(readingKey(device, r.seq), r);
    });
  const out = new Map<string, PlatformReading | undefined>();
  await eachLimit(readings, concurrency, async (r) => {
    const k = readingKey(r.device, r.seq);
    if (out.has(k)) return;
    out.set(k, found.get(k));
    if (!found.has(k)) out.set(k, await platform.reading(r.device, Number(r.seq)));
  });
  return out;
}

/** {@link DeviceSignatures} answering from payload checks made beforehand (in the pool). */
export class PrecheckedSignatures extends DeviceSignatures {
  readonly #infos: Map<PlatformReading, PayloadInfo>;

  constructor(directory: DeviceDirectory, digester: ReadingDigester, infos: Map<PlatformReading, PayloadInfo>) {
    super(directory, digester);
    this.#infos = infos;
  }

  override payloadInfo(raw: PlatformReading): PayloadInfo {
    return this.#infos.get(raw) ?? super.payloadInfo(raw);
  }
}

/** Parameters of {@link precheckPayloads}. */
export interface PrecheckParameters {
  payloads: Iterable<PlatformReading>;
  /** The batch audit the payloads belong to: its already checked manifest signatures are reused. */
  audit: ManifestAudit;
  directory: DeviceDirectory;
  digester: ReadingDigester;
  pool: SignaturePool;
}

/**
 * Reads every payload (bytes, hash, reading) and checks the signatures the batch audit did not
 * already check, in one pool job; answers a {@link DeviceSignatures} for `judgeReading`.
 *
 * @example
 * const signatures = await precheckPayloads({ payloads, audit, directory: registry, digester, pool });
 * signatures.payloadInfo(raw).signed; // no signature check on this thread
 */
export async function precheckPayloads(p: PrecheckParameters): Promise<PrecheckedSignatures> {
  const checked = new Map<string, { reading: Reading; signature: string }>();
  p.audit.manifest?.items.forEach((item, i) => {
    const verdict = p.audit.result.readings[i];
    if (verdict !== undefined && !verdict.problems.some((x) => x.status === ReadingVerdict.BAD_SIGNATURE))
      checked.set(readingKey(item.reading.device, item.reading.seq), { reading: item.reading, signature: item.signature.toLowerCase() });
  });
  const infos = new Map<PlatformReading, PayloadInfo>();
  const pending: { raw: PlatformReading; info: PayloadInfo; key: number; signature: Uint8Array }[] = [];
  const keys: DeviceKey[] = [];
  const keyOf = new Map<Address, number>();
  for (const raw of p.payloads) {
    const bytes = new Uint8Array(Buffer.from(raw.payload, "utf8"));
    let reading: Reading | undefined;
    try {
      reading = readingFromPayload(bytes);
    } catch {
      reading = undefined;
    }
    const hash = reading?.dataHash ?? dataHash(bytes);
    const info: PayloadInfo = { bytes, hash, ...(reading === undefined ? {} : { reading }), signed: false };
    infos.set(raw, info);
    if (reading === undefined) continue;
    const known = checked.get(readingKey(reading.device, reading.seq));
    if (known !== undefined && sameReading(known.reading, reading) && known.signature === raw.signature.toLowerCase()) {
      info.signed = true;
      continue;
    }
    let k = keyOf.get(reading.device);
    if (k === undefined) {
      const key = p.directory.device(reading.device);
      k = key === undefined ? -1 : keys.push({ scheme: key.scheme, publicKey: key.publicKey }) - 1;
      keyOf.set(reading.device, k);
    }
    let signature: Uint8Array;
    try {
      signature = hexToBytes(raw.signature);
    } catch {
      continue;
    }
    if (k >= 0 && signature.length <= 65) pending.push({ raw, info, key: k, signature });
  }
  const n = pending.length;
  const job = packedJob(
    keys,
    Uint32Array.from(pending, (x) => x.key),
    (i) => p.digester.digest(pending[i].info.reading!),
    (i) => pending[i].signature,
  );
  const ok = n === 0 ? new Uint8Array() : await p.pool.verify(job);
  pending.forEach((x, i) => (x.info.signed = ok[i] === 1));
  return new PrecheckedSignatures(p.directory, p.digester, infos);
}

function sameReading(a: Reading, b: Reading): boolean {
  return (
    a.device.toLowerCase() === b.device.toLowerCase() &&
    a.seq === b.seq &&
    a.timestamp === b.timestamp &&
    a.dataHash.toLowerCase() === b.dataHash.toLowerCase()
  );
}

/** Runs `fn` on every item with at most `limit` in flight. */
export async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
