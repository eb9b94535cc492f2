/**
 * Bench devices: keys, signed readings and their on-chain registration.
 *
 * @module
 */
import { toHex, type Address } from "viem";

import { deviceRegistryAbi } from "../../../oracle/chain/abis.js";
import { bytesToHex } from "../../../oracle/core/bytes.js";
import {
  deviceIdFromPublicKey,
  generatePrivateKey,
  keySchemeId,
  publicKeyFromPrivate,
  signDigest,
  type KeyScheme,
} from "../../../oracle/core/keys.js";
import { buildPayload, dataHash } from "../../../oracle/core/payload.js";
import { type ReadingDigester, type Reading } from "../../../oracle/core/reading.js";
import { DEV_KEYS } from "../dev-keys.js";
import { type BenchChain } from "./chains.js";

// ---- devices and readings ----------------------------------------------------------------------------
/** A bench device: a fresh key of its scheme and its on-chain id. */
export type Device = ReturnType<typeof newDevice>;
export function newDevice(scheme: KeyScheme): { scheme: KeyScheme; priv: Uint8Array; publicKey: Uint8Array; address: Address } {
  const priv = generatePrivateKey(scheme);
  const publicKey = publicKeyFromPrivate(scheme, priv);
  return { scheme, priv, publicKey, address: deviceIdFromPublicKey(publicKey) };
}

export interface SignedReading {
  reading: Reading;
  signature: Uint8Array;
  /** The payload's canonical JSON text (what the platform stores verbatim). */
  payload: string;
}
/** A device's reading as its SDK makes it: a canonical air-quality payload, its hash, the EIP-712 signature. */
export function signReading(digester: ReadingDigester, device: Device, seq: number, ts: number): SignedReading {
  const payload = buildPayload({
    device: device.address,
    seq,
    ts,
    temperature_c: Math.round(150 + 100 * Math.random()) / 10,
    humidity_pct: Math.round(300 + 500 * Math.random()) / 10,
    pm2_5_ugm3: Math.round(10 + 300 * Math.random()) / 10,
    pm10_ugm3: Math.round(20 + 500 * Math.random()) / 10,
  });
  const reading: Reading = { device: device.address, seq: BigInt(seq), timestamp: BigInt(ts), dataHash: dataHash(payload.bytes) };
  return { reading, signature: signDigest(device.scheme, device.priv, digester.digest(reading)), payload: payload.text };
}
/** A signed reading as the platform takes it: `{ payload, signature }`. */
export const platformWire = ({ payload, signature }: SignedReading) => ({ payload, signature: bytesToHex(signature) });
export const wire = ({ reading, signature }: SignedReading) => ({
  device: reading.device,
  seq: reading.seq.toString(),
  timestamp: reading.timestamp.toString(),
  dataHash: reading.dataHash,
  signature: bytesToHex(signature),
});

export async function registerDevices(audit: BenchChain & { registry: Address }, devices: Device[]): Promise<number> {
  const registrar = audit.wallet(DEV_KEYS.registrar);
  let lastBlock = 0n;
  for (const d of devices) {
    const hash = await registrar.writeContract({
      address: audit.registry,
      abi: deviceRegistryAbi,
      functionName: "registerDevice",
      args: [keySchemeId(d.scheme), toHex(d.publicKey), registrar.account.address, `0x${"00".repeat(32)}`],
      chain: audit.chain,
    });
    const receipt = await audit.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== "success") throw new Error(`registerDevice ${d.address} reverted`);
    lastBlock = receipt.blockNumber;
  }
  const block = await audit.publicClient.getBlock({ blockNumber: lastBlock });
  return Number(block.timestamp);
}
