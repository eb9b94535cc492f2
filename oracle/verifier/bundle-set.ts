/**
 * Proof bundles for many readings at once (an export's evidence): the existing bundle formats of
 * oracle/core/bundle.ts, one canonical bundle per line (JSON Lines), built at batch cost — each batch
 * audited once, its payloads fetched per device, its anchoring log read once. Readings outside any
 * batch (direct submissions) get {@link exportAnyBundle}'s bundle.
 *
 * @module
 */
import type { Address } from "viem";

import { anyBundleToJson, type AnyBundle } from "../core/bundle.js";
import { fetchBatchPayloads } from "./batch-verdicts.js";
import { batchProofBundle } from "./bundle.js";
import { exportAnyBundle } from "./evidence-bundle.js";
import { readingKey } from "./sightings.js";
import type { PlatformReading } from "./sources.js";
import { VerifierError } from "./types.js";
import type { Verifier } from "./verifier.js";

/** A reading to bundle: where the auditor found it (a batch id, or null for a direct submission). */
export interface BundleRef {
  device: Address;
  seq: number;
  batchId: number | null;
}

/**
 * The bundles of `refs`, in their order, as JSON Lines text (one canonical bundle per line).
 *
 * @throws {VerifierError} NOT_ANCHORED / RAW_MISSING / UNKNOWN_DEVICE when one cannot be bundled.
 * @example
 * const text = await exportBundleSet(verifier, [{ device, seq: 7, batchId: 3 }]);
 * // one line per reading; `npm run verify -- bundle check file.jsonl --rpc …` checks them all
 */
export async function exportBundleSet(verifier: Verifier, refs: readonly BundleRef[]): Promise<string> {
  await verifier.registry.sync();
  const byBatch = new Map<number, BundleRef[]>();
  for (const r of refs) if (r.batchId !== null) byBatch.set(r.batchId, [...(byBatch.get(r.batchId) ?? []), r]);
  const built = new Map<string, AnyBundle>();
  for (const [batchId, list] of byBatch) for (const [k, bundle] of await batchBundles(verifier, batchId, list)) built.set(k, bundle);
  const lines: string[] = [];
  for (const r of refs) {
    const bundle = built.get(readingKey(r.device, r.seq)) ?? (await exportAnyBundle(verifier, r.device, r.seq)).bundle;
    lines.push(`${anyBundleToJson(bundle)}\n`);
  }
  return lines.join("");
}

/** The bundles of `list`, all in batch `batchId` (one audit, one log read, payloads per device). */
async function batchBundles(verifier: Verifier, batchId: number, list: readonly BundleRef[]): Promise<Map<string, AnyBundle>> {
  const audit = await verifier.loadBatch(batchId);
  const log = await verifier.chain.anchoredLog(batchId);
  if (log === undefined || audit.manifest === undefined || !audit.authentic)
    throw new VerifierError("NOT_ANCHORED", `batch ${batchId} has no authentic manifest or no BatchAnchored log`);
  const indexOf = new Map(audit.manifest.items.map((item, i) => [readingKey(item.reading.device, item.reading.seq), i]));
  const positions = list.map((r) => {
    const index = indexOf.get(readingKey(r.device, r.seq));
    if (index === undefined) throw new VerifierError("NOT_ANCHORED", `${r.device} #${r.seq} is not in batch ${batchId}`);
    return { key: readingKey(r.device, r.seq), index };
  });
  const items = audit.manifest.items;
  const payloads =
    verifier.platform === undefined
      ? new Map<string, PlatformReading | undefined>()
      : await fetchBatchPayloads(
          verifier.platform,
          positions.map((p) => items[p.index].reading),
        );
  const bundles = new Map<string, AnyBundle>();
  for (const { key, index } of positions) {
    const raw = payloads.get(key);
    if (raw === undefined) throw new VerifierError("RAW_MISSING", `the platform has no payload for ${key}`);
    bundles.set(key, batchProofBundle(verifier, { audit, index, payload: raw.payload, log }));
  }
  return bundles;
}
