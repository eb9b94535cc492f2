/**
 * Bundles beside the batch proof (format in oracle/core/bundle.ts): a reading submitted directly
 * on-chain (`ReadingSubmitted`), and the evidence of a CENSORED verdict (receipt + the relayer's
 * on-chain registration). Exported from a verifier; checked against nothing but an RPC endpoint.
 *
 * @module
 */
import { createPublicClient, http, parseEventLogs, type Address, type PublicClient } from "viem";

import { deviceRegistryAbi, readingAnchorAbi } from "../chain/abis.js";
import { readAnchorLogs } from "../chain/anchor-log.js";
import { checkReadingEvidence, type AnyBundle, type CensoredEvidenceBundle, type DirectProofBundle } from "../core/bundle.js";
import { bytesToHex } from "../core/bytes.js";
import { DeviceStatus, type DeviceStatus as Status } from "../core/device-status.js";
import { judgeReadingTime, MAX_CLOCK_SKEW_SECONDS } from "../core/reading-time.js";
import { receiptRootOf, recoverReceiptSigner, ReceiptDigester, type SignedReceiptJson } from "../core/receipt.js";
import { TIME_VERDICTS } from "./audit.js";
import { checkBundleOnChain, exportBundle, type BundleCheckResult, type BundleVerdict } from "./bundle.js";
import { ReadingVerdict, STATUS_PRIORITY, VerifierError } from "./types.js";
import type { Verifier } from "./verifier.js";

const OFFLINE_STATUS: Record<string, BundleCheckResult["status"]> = {
  payloadHash: ReadingVerdict.TAMPERED,
  payloadFields: ReadingVerdict.TAMPERED,
  deviceKey: ReadingVerdict.BAD_SIGNATURE,
  signature: ReadingVerdict.BAD_SIGNATURE,
};

/**
 * The bundle of one reading, whatever holds it: a batch proof, else its direct submission, else —
 * when the verdict is CENSORED — the censorship evidence.
 *
 * @throws {VerifierError} NOT_ANCHORED / RAW_MISSING / UNKNOWN_DEVICE when there is nothing to bundle.
 * @example const { bundle } = await exportAnyBundle(verifier, device, 7); anyBundleToJson(bundle);
 */
export async function exportAnyBundle(verifier: Verifier, device: Address, seq: number) {
  const result = await verifier.verifyReading(device, seq);
  if (verifier.anchored(result.device, seq)?.audit.built !== undefined) return exportBundle(verifier, device, seq);
  const raw = await verifier.platform?.reading(result.device, seq);
  if (raw === undefined) throw new VerifierError("RAW_MISSING", `the platform has no payload for ${device} #${seq}`);
  const key = verifier.registry.device(result.device);
  if (key === undefined) throw new VerifierError("UNKNOWN_DEVICE", `device ${device} is not in the registry`);
  const common = {
    v: 1 as const,
    payload: raw.payload,
    signature: raw.signature,
    reading: { device: result.device, seq: BigInt(seq), timestamp: BigInt(raw.ts), dataHash: raw.dataHash },
    chainId: verifier.chain.chainId,
    anchor: verifier.chain.anchor,
    registry: verifier.chain.registry,
    device: { scheme: key.scheme, publicKey: bytesToHex(key.publicKey) },
  };
  const direct = verifier.directSubmission(result.device, seq, raw.dataHash);
  if (direct !== undefined) {
    const bundle: DirectProofBundle = {
      ...common,
      kind: "direct",
      tx: direct.log.txHash,
      block: direct.log.blockNumber,
      logIndex: direct.log.logIndex,
    };
    return { bundle, result };
  }
  const censored = result.problems.find((p) => p.status === ReadingVerdict.CENSORED)?.details as
    | {
        receipt: SignedReceiptJson;
        registration: { relayer: Address; receiptSigner: Address; txHash: `0x${string}`; blockNumber: number };
      }
    | undefined;
  if (censored === undefined) throw new VerifierError("NOT_ANCHORED", `reading ${device} #${seq} is neither anchored nor proven CENSORED`);
  const bundle: CensoredEvidenceBundle = {
    ...common,
    kind: "censored",
    receipt: { deadline: BigInt(censored.receipt.deadline), signature: censored.receipt.signature, ...receiptRootOf(censored.receipt) },
    registration: {
      relayer: censored.registration.relayer,
      receiptSigner: censored.registration.receiptSigner,
      tx: censored.registration.txHash,
      block: BigInt(censored.registration.blockNumber),
    },
  };
  return { bundle, result };
}

/**
 * Checks any bundle with only an RPC endpoint. A batch proof or direct submission is `ok` with status
 * VERIFIED; CENSORED evidence is `ok` with status CENSORED when the receipt binds a registered
 * relayer, its deadline passed, the reading is device-signed and valid at the deadline, and no direct
 * submission of it happened by then. (That no batch anchored by the deadline holds it needs the
 * manifests: the relayer refutes it with a batch proof whose batch is anchored by the deadline.)
 *
 * @example (await checkAnyBundleOnChain(parseAnyBundle(text), "http://127.0.0.1:8545")).status;
 */
export async function checkAnyBundleOnChain(bundle: AnyBundle, rpc: string | PublicClient): Promise<BundleVerdict> {
  if (!("kind" in bundle)) return checkBundleOnChain(bundle, rpc);
  const client = typeof rpc === "string" ? (createPublicClient({ transport: http(rpc, { retryCount: 1 }) }) as PublicClient) : rpc;
  const checks: BundleCheckResult[] = checkReadingEvidence(bundle).map((c) => ({ ...c, status: OFFLINE_STATUS[c.name] }));
  const add = (name: string, ok: boolean, message: string, status: BundleCheckResult["status"]) =>
    checks.push({ name, ok, message, status });
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (cause) {
    throw new VerifierError("SERVICE_UNREACHABLE", "audit-chain RPC unreachable", { cause });
  }
  add("chainId", chainId === bundle.chainId, `RPC chain id ${chainId}, bundle ${bundle.chainId}`, ReadingVerdict.NOT_ANCHORED);
  if (chainId !== bundle.chainId) return verdict(checks, bundle);
  const registry = await client
    .readContract({ address: bundle.anchor, abi: readingAnchorAbi, functionName: "registry" })
    .catch(() => undefined);
  add("registry", registry === bundle.registry, `anchor's registry is ${registry ?? "unreadable"}`, ReadingVerdict.NOT_ANCHORED);
  const device = await client
    .readContract({ address: bundle.registry, abi: deviceRegistryAbi, functionName: "getDevice", args: [bundle.reading.device] })
    .catch(() => undefined);
  const chainKey = device === undefined ? undefined : `${device.keyX}${device.keyY.slice(2)}`.toLowerCase();
  add("registryKey", chainKey === bundle.device.publicKey, "registry key = bundle's", ReadingVerdict.BAD_SIGNATURE);
  const statusAt = async (t: bigint) =>
    Number(
      await client.readContract({
        address: bundle.registry,
        abi: deviceRegistryAbi,
        functionName: "statusAt",
        args: [bundle.reading.device, t],
      }),
    ) as Status;
  if (bundle.kind === "direct") await checkDirect(client, bundle, statusAt, add);
  else await checkCensored(client, bundle, statusAt, add);
  return verdict(checks, bundle);
}

type Add = (name: string, ok: boolean, message: string, status: BundleCheckResult["status"]) => void;

async function checkDirect(client: PublicClient, bundle: DirectProofBundle, statusAt: (t: bigint) => Promise<Status>, add: Add) {
  const { reading } = bundle;
  const logs = await readAnchorLogs({
    client,
    anchor: bundle.anchor,
    fromBlock: bundle.block,
    toBlock: bundle.block,
    events: ["ReadingSubmitted"],
  }).catch(() => undefined);
  const log = logs?.submissions.find((s) => s.txHash.toLowerCase() === bundle.tx && s.logIndex === bundle.logIndex);
  const logOk =
    log !== undefined &&
    log.device === reading.device &&
    log.seq === reading.seq &&
    log.timestamp === reading.timestamp &&
    log.dataHash === reading.dataHash;
  add(
    "submissionLog",
    logOk,
    logOk ? `tx ${bundle.tx} logged ReadingSubmitted of this reading` : "no matching ReadingSubmitted log",
    ReadingVerdict.NOT_ANCHORED,
  );
  const anchoredAt = (await client.getBlock({ blockNumber: bundle.block })).timestamp;
  const maxAnchorDelay = await client.readContract({
    address: bundle.anchor,
    abi: readingAnchorAbi,
    functionName: "maxAnchorDelayAt",
    args: [anchoredAt],
  });
  const [atReading, atAnchor] = [await statusAt(reading.timestamp), await statusAt(anchoredAt)];
  const time = judgeReadingTime({
    timestamp: reading.timestamp,
    anchoredAt,
    maxAnchorDelay: BigInt(maxAnchorDelay),
    statusAt: (t) => (t === reading.timestamp ? atReading : atAnchor),
  });
  add(
    "readingTime",
    time.ok,
    time.ok ? "the one timestamp rule holds at the submission's block time" : `${time.code}: ${time.message}`,
    time.ok ? ReadingVerdict.DEVICE_NOT_ACTIVE : TIME_VERDICTS[time.code],
  );
}

async function checkCensored(client: PublicClient, bundle: CensoredEvidenceBundle, statusAt: (t: bigint) => Promise<Status>, add: Add) {
  const { reading, receipt, registration } = bundle;
  const NOT = ReadingVerdict.NOT_ANCHORED; // a failed check: the evidence proves no censorship
  const signer = await (async () =>
    recoverReceiptSigner(
      new ReceiptDigester(bundle.chainId, bundle.anchor),
      { device: reading.device, seq: reading.seq, dataHash: reading.dataHash, deadline: receipt.deadline },
      receipt.signature,
      receiptRootOf(receipt),
    ))().catch(() => undefined);
  add("receiptSignature", signer === registration.receiptSigner, `receipt signed by ${signer ?? "nobody"}`, NOT);
  const logs = await client.getLogs({ address: bundle.anchor, fromBlock: registration.block, toBlock: registration.block }).catch(() => []);
  const registered = parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "RelayerRegistered" }).find(
    (e) =>
      e.transactionHash.toLowerCase() === registration.tx &&
      e.args.relayer === registration.relayer &&
      e.args.receiptSigner === registration.receiptSigner,
  );
  const registeredAt = registered === undefined ? undefined : (await client.getBlock({ blockNumber: registration.block })).timestamp;
  const bindingOk = registeredAt !== undefined && registeredAt <= receipt.deadline;
  add(
    "registration",
    bindingOk,
    bindingOk
      ? `RelayerRegistered names ${registration.receiptSigner} before the deadline`
      : "no RelayerRegistered of this signer by the deadline",
    NOT,
  );
  const latest = (await client.getBlock({ blockTag: "latest" })).timestamp;
  add("deadlinePassed", latest > receipt.deadline, `latest block ${latest}, deadline ${receipt.deadline}`, NOT);
  const timeOk =
    reading.timestamp <= receipt.deadline + MAX_CLOCK_SKEW_SECONDS && (await statusAt(reading.timestamp)) === DeviceStatus.Active;
  add(
    "readingValid",
    timeOk,
    timeOk ? "dated by the deadline, device Active then" : "dated after the deadline or device not Active then",
    NOT,
  );
  const submitted = await readAnchorLogs({ client, anchor: bundle.anchor, fromBlock: 0n, events: ["ReadingSubmitted"] });
  let directByDeadline = false;
  for (const s of submitted.submissions)
    if (s.device === reading.device && s.seq === reading.seq && s.dataHash === reading.dataHash)
      directByDeadline ||= (await client.getBlock({ blockNumber: s.blockNumber })).timestamp <= receipt.deadline;
  add(
    "noDirectSubmission",
    !directByDeadline,
    directByDeadline ? "submitted directly by the deadline" : "no ReadingSubmitted of it by the deadline",
    NOT,
  );
}

function verdict(checks: BundleCheckResult[], bundle: AnyBundle): BundleVerdict {
  const failed = checks.filter((c) => !c.ok).map((c) => c.status);
  if (failed.length === 0)
    return { ok: true, status: "kind" in bundle && bundle.kind === "censored" ? ReadingVerdict.CENSORED : ReadingVerdict.VERIFIED, checks };
  return { ok: false, status: STATUS_PRIORITY.find((s) => failed.includes(s as never))!, checks };
}
