/**
 * Proof bundles in the verifier: export one from the platform, the relayer's manifest and the chain,
 * and check one against nothing but an audit-chain RPC endpoint (format in oracle/core/bundle.ts).
 *
 * @module
 */
import { createPublicClient, http, type Address, type PublicClient } from "viem";

import { deviceRegistryAbi, readingAnchorAbi } from "../chain/abis.js";
import { readAnchorLogs, type AnchoredBatchLog } from "../chain/anchor-log.js";
import { checkBundle, type ProofBundle } from "../core/bundle.js";
import { bytesToHex } from "../core/bytes.js";
import type { DeviceStatus } from "../core/device-status.js";
import { judgeReadingTime } from "../core/reading-time.js";
import { TIME_VERDICTS, type ManifestAudit } from "./audit.js";
import { verifyReadingOnChain } from "./contract-verdict.js";
import { ReadingVerdict, STATUS_PRIORITY, VerifierError, type ReadingResult } from "./types.js";
import type { Verifier } from "./verifier.js";

/**
 * Exports the proof bundle of one reading: payload and signature as anchored, proof rebuilt from the
 * authenticated manifest, root and manifest hash from the chain, anchoring tx from its log, device
 * key from the registry. Also answers the verifier's verdict on the reading.
 *
 * @throws {VerifierError} NOT_ANCHORED / RAW_MISSING when there is nothing to bundle.
 * @example
 * const { bundle } = await exportBundle(verifier, device, 7);
 * fs.writeFileSync("proof.json", bundleToJson(bundle));
 */
export async function exportBundle(
  verifier: Verifier,
  device: Address,
  seq: number,
): Promise<{ bundle: ProofBundle; result: ReadingResult }> {
  const result = await verifier.verifyReading(device, seq);
  const entry = verifier.anchored(result.device, seq);
  if (entry === undefined || entry.audit.built === undefined)
    throw new VerifierError("NOT_ANCHORED", `reading ${device} #${seq} is not in any anchored manifest`);
  const raw = await verifier.platform?.reading(result.device, seq);
  if (raw === undefined) throw new VerifierError("RAW_MISSING", `the platform has no payload for ${device} #${seq}`);
  const log = await verifier.chain.anchoredLog(entry.audit.result.batchId);
  if (log === undefined) throw new VerifierError("NOT_ANCHORED", `no BatchAnchored log for batch ${entry.audit.result.batchId}`);
  return { bundle: batchProofBundle(verifier, { audit: entry.audit, index: entry.index, payload: raw.payload, log }), result };
}

/**
 * The proof bundle of the `index`-th reading of an audited batch: payload as the platform serves it,
 * reading and signature as anchored, leaf and proof from the rebuilt tree, root and manifest hash
 * from the chain, anchoring tx from its log, device key from the registry (as last synced).
 *
 * @throws {VerifierError} NOT_ANCHORED when the batch was not rebuilt; UNKNOWN_DEVICE when the key is unknown.
 * @example
 * const audit = await verifier.loadBatch(3);
 * const bundle = batchProofBundle(verifier, { audit, index: 0, payload, log: (await verifier.chain.anchoredLog(3))! });
 */
export function batchProofBundle(
  verifier: Verifier,
  p: { audit: ManifestAudit; index: number; payload: string; log: AnchoredBatchLog },
): ProofBundle {
  const { audit, index } = p;
  const batch = audit.result;
  const item = audit.manifest?.items[index];
  if (audit.built === undefined || item === undefined)
    throw new VerifierError("NOT_ANCHORED", `batch ${batch.batchId} has no rebuilt reading #${index}`);
  const key = verifier.registry.device(item.reading.device);
  if (key === undefined) throw new VerifierError("UNKNOWN_DEVICE", `device ${item.reading.device} is not in the registry`);
  return {
    v: 1,
    payload: p.payload,
    signature: item.signature,
    reading: item.reading,
    leaf: audit.built.leaves[index],
    proof: audit.built.proofs[index],
    batchId: BigInt(batch.batchId),
    root: batch.root,
    manifestHash: batch.manifestHash,
    tx: p.log.txHash,
    block: BigInt(p.log.blockNumber),
    chainId: verifier.chain.chainId,
    anchor: verifier.chain.anchor,
    registry: verifier.chain.registry,
    device: { scheme: key.scheme, publicKey: bytesToHex(key.publicKey) },
  };
}

/** One check of {@link checkBundleOnChain}, with the status its failure means. */
export interface BundleCheckResult {
  name: string;
  ok: boolean;
  message: string;
  status: Exclude<ReadingVerdict, "VERIFIED">;
}

/** The verdict on a bundle. */
export interface BundleVerdict {
  ok: boolean;
  status: ReadingVerdict;
  checks: BundleCheckResult[];
}

const OFFLINE_STATUS: Record<string, BundleCheckResult["status"]> = {
  payloadHash: ReadingVerdict.TAMPERED,
  payloadFields: ReadingVerdict.TAMPERED,
  leaf: ReadingVerdict.NOT_ANCHORED,
  proof: ReadingVerdict.NOT_ANCHORED,
  deviceKey: ReadingVerdict.BAD_SIGNATURE,
  signature: ReadingVerdict.BAD_SIGNATURE,
};

/** Records one on-chain check. */
type AddCheck = (name: string, ok: boolean, message: string, status: BundleCheckResult["status"]) => void;

/** A contract read, or undefined when it reverts or the RPC fails (the check that needs it fails). */
async function tryRead<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch {
    return undefined;
  }
}

/**
 * Checks a bundle with only an RPC endpoint: the pure checks (payload hash and fields, leaf, proof,
 * key, signature), then on chain: chain id, the anchor's registry, `getBatch` root and manifest
 * hash, the tx receipt's BatchAnchored log, the registry's key, `statusAt` the reading's time and the
 * anchoring time, the 300 s skew, and `ReadingAnchor.verifyReading`.
 *
 * @throws {VerifierError} SERVICE_UNREACHABLE when the RPC does not answer its chain id.
 * @example
 * const verdict = await checkBundleOnChain(parseBundle(text), "http://127.0.0.1:8545");
 * verdict.status; // "VERIFIED" or what is wrong
 */
export async function checkBundleOnChain(bundle: ProofBundle, rpc: string | PublicClient): Promise<BundleVerdict> {
  const client = typeof rpc === "string" ? (createPublicClient({ transport: http(rpc, { retryCount: 1 }) }) as PublicClient) : rpc;
  const checks: BundleCheckResult[] = checkBundle(bundle).map((c) => ({ ...c, status: OFFLINE_STATUS[c.name] }));
  const add: AddCheck = (name, ok, message, status) => checks.push({ name, ok, message, status });

  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (cause) {
    throw new VerifierError("SERVICE_UNREACHABLE", "audit-chain RPC unreachable", { cause });
  }
  add("chainId", chainId === bundle.chainId, `RPC chain id ${chainId}, bundle ${bundle.chainId}`, ReadingVerdict.NOT_ANCHORED);
  if (chainId !== bundle.chainId) return verdict(checks);

  const anchoredAt = await checkAnchoring(client, bundle, add);
  await checkRegistryKey(client, bundle, add);
  await checkReadingTime(client, bundle, anchoredAt, add);
  const onChain = await verifyReadingOnChain(client, bundle.anchor, {
    batchId: bundle.batchId,
    reading: bundle.reading,
    signature: bundle.signature,
    proof: bundle.proof,
    ...(anchoredAt === undefined ? {} : { anchoredAt }),
  });
  add(
    "verifyReading",
    onChain.status === ReadingVerdict.VERIFIED,
    onChain.error === undefined ? "ReadingAnchor.verifyReading returned true" : `ReadingAnchor.verifyReading reverted: ${onChain.error}`,
    onChain.status === ReadingVerdict.VERIFIED ? ReadingVerdict.NOT_ANCHORED : onChain.status,
  );
  return verdict(checks);
}

/**
 * The anchor's registry, `getBatch` root and manifest hash, and the anchoring tx's BatchAnchored log
 * in the bundle's block. Answers the batch's `anchoredAt` (undefined when `getBatch` is unreadable).
 */
async function checkAnchoring(client: PublicClient, bundle: ProofBundle, add: AddCheck): Promise<bigint | undefined> {
  const registry = await tryRead(() => client.readContract({ address: bundle.anchor, abi: readingAnchorAbi, functionName: "registry" }));
  add(
    "registry",
    registry === bundle.registry,
    registry === bundle.registry ? "anchor's registry = bundle's" : `anchor's registry is ${registry ?? "unreadable"}`,
    ReadingVerdict.NOT_ANCHORED,
  );

  const batch = await tryRead(() =>
    client.readContract({ address: bundle.anchor, abi: readingAnchorAbi, functionName: "getBatch", args: [bundle.batchId] }),
  );
  const rootOk = batch !== undefined && batch.root.toLowerCase() === bundle.root;
  add(
    "anchoredRoot",
    rootOk,
    rootOk ? `getBatch(${bundle.batchId}).root = root` : `getBatch(${bundle.batchId}).root is ${batch?.root ?? "unreadable"}`,
    ReadingVerdict.NOT_ANCHORED,
  );
  const mhOk = batch !== undefined && batch.manifestHash.toLowerCase() === bundle.manifestHash;
  add(
    "anchoredManifestHash",
    mhOk,
    mhOk ? "getBatch manifestHash = bundle's" : "getBatch manifestHash differs",
    ReadingVerdict.MANIFEST_MISMATCH,
  );

  // The anchor's BatchAnchored logs of the bundle's block: only a successful tx in that block has one.
  const anchored = await tryRead(() =>
    readAnchorLogs({ client, anchor: bundle.anchor, fromBlock: bundle.block, toBlock: bundle.block, events: ["BatchAnchored"] }),
  );
  const log = anchored?.batches.find((l) => l.txHash.toLowerCase() === bundle.tx.toLowerCase() && l.batchId === bundle.batchId);
  const txOk = log !== undefined && log.root.toLowerCase() === bundle.root && log.manifestHash.toLowerCase() === bundle.manifestHash;
  add(
    "anchoringTx",
    txOk,
    txOk
      ? `tx ${bundle.tx} in block ${bundle.block} logged BatchAnchored(${bundle.batchId}, root)`
      : "the tx receipt has no matching BatchAnchored log in that block",
    ReadingVerdict.NOT_ANCHORED,
  );
  return batch?.anchoredAt;
}

/** The registry's key and scheme for the device are the bundle's. */
async function checkRegistryKey(client: PublicClient, bundle: ProofBundle, add: AddCheck): Promise<void> {
  const device = await tryRead(() =>
    client.readContract({ address: bundle.registry, abi: deviceRegistryAbi, functionName: "getDevice", args: [bundle.reading.device] }),
  );
  const chainKey = device === undefined ? undefined : `${device.keyX}${device.keyY.slice(2)}`.toLowerCase();
  const keyOk = chainKey === bundle.device.publicKey && (device!.scheme === 0 ? "secp256k1" : "p256") === bundle.device.scheme;
  add(
    "registryKey",
    keyOk,
    keyOk ? "registry key and scheme = bundle's" : "the registry holds another key for this device",
    ReadingVerdict.BAD_SIGNATURE,
  );
}

/** The one timestamp rule (oracle/core/reading-time.ts) on the chain's own statuses and delay. */
async function checkReadingTime(client: PublicClient, bundle: ProofBundle, anchoredAt: bigint | undefined, add: AddCheck): Promise<void> {
  const { reading } = bundle;
  const statusAt = (t: bigint) =>
    tryRead(() =>
      client.readContract({ address: bundle.registry, abi: deviceRegistryAbi, functionName: "statusAt", args: [reading.device, t] }),
    );
  const atReading = await statusAt(reading.timestamp);
  if (anchoredAt === undefined || anchoredAt === 0n) {
    add("statusAtReading", atReading === 1, `statusAt(reading time) = ${atReading ?? "unreadable"}`, ReadingVerdict.DEVICE_NOT_ACTIVE);
    return;
  }
  const atAnchor = await statusAt(anchoredAt);
  const maxAnchorDelay = await tryRead(() =>
    client.readContract({ address: bundle.anchor, abi: readingAnchorAbi, functionName: "maxAnchorDelayAt", args: [anchoredAt] }),
  );
  if (atReading === undefined || atAnchor === undefined || maxAnchorDelay === undefined) {
    add("readingTime", false, "registry statusAt or maxAnchorDelayAt unreadable", ReadingVerdict.DEVICE_NOT_ACTIVE);
    return;
  }
  const time = judgeReadingTime({
    timestamp: reading.timestamp,
    anchoredAt,
    maxAnchorDelay: BigInt(maxAnchorDelay),
    statusAt: (t) => (t === reading.timestamp ? atReading : atAnchor) as DeviceStatus,
  });
  add(
    "readingTime",
    time.ok,
    time.ok
      ? `timestamp within [anchoredAt − ${maxAnchorDelay} s, anchoredAt + 300 s], device Active then, not Revoked at anchoring`
      : `${time.code}: ${time.message}`,
    time.ok ? ReadingVerdict.DEVICE_NOT_ACTIVE : TIME_VERDICTS[time.code],
  );
}

function verdict(checks: BundleCheckResult[]): BundleVerdict {
  const failed = checks.filter((c) => !c.ok).map((c) => c.status);
  const status = failed.length === 0 ? ReadingVerdict.VERIFIED : STATUS_PRIORITY.find((s) => failed.includes(s as never))!;
  return { ok: failed.length === 0, status, checks };
}
