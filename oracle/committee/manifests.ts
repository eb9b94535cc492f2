/**
 * Fetching a batch's manifest by the data-availability rule of docs/TRUST-MODEL.md §1: the source is
 * the `manifestUrl` that the batch's relayer had registered at the anchoring block, and, when it does
 * not serve, the copies of the peer oracles (any copy is checked against the anchored hash); the body
 * is streamed and dropped as soon as it exceeds `maxManifestBytes(leafCount)`; a batch whose manifest
 * is not retrievable once the audit head reached `anchoring block + D` (`manifestAvailabilityBlocks()`
 * at that block) is EXCLUDED — by every honest oracle alike, so one unavailable batch fails only itself.
 *
 * @module
 */
import type { Address, Hex, PublicClient } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import { keccak256Hex } from "../core/keccak.js";

/** `maxManifestBytes(leafCount) = 1024 + 512 · leafCount`: the most bytes a manifest may take. */
export function maxManifestBytes(leafCount: number): number {
  return 1024 + 512 * leafCount;
}

/** What {@link fetchManifestOnce} needs of a batch. */
export interface ManifestTarget {
  root: Hex;
  manifestHash: Hex;
  leafCount: number;
  blockNumber: bigint;
  relayer: Address;
}

/** The outcome of one attempt: the bytes that hash to `manifestHash`, or why not (for the log). */
export type ManifestAttempt = { ok: true; bytes: Uint8Array } | { ok: false; why: string };

/**
 * Reads the body of `res` up to `cap` bytes; answers undefined (and cancels the stream) past it.
 *
 * @example
 * const bytes = await readCapped(await fetch(url), 2048); // undefined when larger than 2048 bytes
 */
export async function readCapped(res: Response, cap: number): Promise<Uint8Array | undefined> {
  const length = Number(res.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(length) && length > cap) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes;
}

/** Reads the anchor's parameters as of a batch's anchoring block (cached per block and relayer). */
export function createManifestSourcing(client: PublicClient, anchor: Address) {
  const urls = new Map<string, string>();
  const windows = new Map<bigint, bigint>();
  return {
    /** The relayer's registered base URL at `blockNumber` (no trailing slash); "" when it had none. */
    async sourceOf(relayer: Address, blockNumber: bigint): Promise<string> {
      const key = `${relayer.toLowerCase()}@${blockNumber}`;
      let url = urls.get(key);
      if (url === undefined) {
        const { manifestUrl } = await client.readContract({
          address: anchor,
          abi: readingAnchorAbi,
          functionName: "relayerInfo",
          args: [relayer],
          blockNumber,
        });
        url = manifestUrl.replace(/\/+$/, "");
        urls.set(key, url);
      }
      return url;
    },
    /** D: `manifestAvailabilityBlocks()` in force at `blockNumber`. */
    async availabilityBlocks(blockNumber: bigint): Promise<bigint> {
      let d = windows.get(blockNumber);
      if (d === undefined) {
        d = BigInt(
          await client.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "manifestAvailabilityBlocks", blockNumber }),
        );
        windows.set(blockNumber, d);
      }
      return d;
    },
  };
}

/** Fetches `url`, size-capped by the batch's leaf count and hash-checked against its anchored `manifestHash`. Throws nothing. */
async function fetchChecked(url: string, target: ManifestTarget, fetcher: (url: string) => Promise<Response>): Promise<ManifestAttempt> {
  try {
    const res = await fetcher(url);
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: false, why: `HTTP ${res.status}` };
    }
    const bytes = await readCapped(res, maxManifestBytes(target.leafCount));
    if (bytes === undefined) return { ok: false, why: `larger than ${maxManifestBytes(target.leafCount)} bytes` };
    if (keccak256Hex(bytes).toLowerCase() !== target.manifestHash.toLowerCase())
      return { ok: false, why: "does not hash to the anchored manifestHash" };
    return { ok: true, bytes };
  } catch (error) {
    return { ok: false, why: (error as Error).message };
  }
}

/**
 * One attempt at a batch's manifest from its relayer's registered URL: `GET <url>/v1/batches/<root>/manifest`,
 * size-capped and hash-checked. Throws nothing.
 */
export async function fetchManifestOnce(
  target: ManifestTarget,
  sourceUrl: string,
  fetcher: (url: string) => Promise<Response>,
): Promise<ManifestAttempt> {
  if (sourceUrl === "") return { ok: false, why: "the relayer had no registered manifest URL at the anchoring block" };
  return fetchChecked(`${sourceUrl}/v1/batches/${target.root}/manifest`, target, fetcher);
}

/**
 * Asks each peer oracle in turn for its copy (`GET <peer>/v1/manifests/<manifestHash>`) until one
 * serves bytes that hash to the anchored `manifestHash` within the size cap: a peer is not trusted,
 * the hash on-chain is, so the copy is the anchored manifest itself and is judged as if the relayer
 * had served it. Throws nothing; `why` lists every peer's failure.
 */
export async function fetchManifestFromPeers(
  target: ManifestTarget,
  peers: readonly string[],
  fetcher: (url: string) => Promise<Response>,
): Promise<ManifestAttempt> {
  const failures: string[] = [];
  for (const peer of peers) {
    const base = peer.replace(/\/+$/, "");
    const attempt = await fetchChecked(`${base}/v1/manifests/${target.manifestHash.toLowerCase()}`, target, fetcher);
    if (attempt.ok) return attempt;
    failures.push(`${base}: ${attempt.why}`);
  }
  return { ok: false, why: failures.length === 0 ? "no peers" : failures.join("; ") };
}
