import { getAddress, hexToBytes, parseEventLogs, type Address, type Hex, type PublicClient } from "viem";

import { DeviceStatus, type CompromiseRecord, type StatusChange } from "../core/device-status.js";
import type { KeyScheme } from "../core/keys.js";
import { deviceRegistryAbi } from "./abis.js";

/** What the index knows of one device. */
export interface IndexedDevice {
  device: Address;
  scheme: KeyScheme;
  /** 64 bytes x‖y. */
  publicKey: Uint8Array;
  beneficiary: Address;
  metadataHash: Hex;
  status: DeviceStatus;
  history: StatusChange[];
  /** `DeviceCompromised` declarations, oldest first: every time from the earliest `since` on is Revoked. */
  compromises: CompromiseRecord[];
  rotatedFrom?: Address;
  rotatedTo?: Address;
  /** The eSIM issuer that attested the device (kept across rotations), if it was registered on an attestation. */
  issuer?: Address;
}

/** An eSIM issuer recorded in the registry (times in seconds; `revokedAt` 0 while in force). */
export interface IndexedIssuer {
  issuer: Address;
  addedAt: number;
  revokedAt: number;
}

export interface RegistryIndexOptions {
  client: PublicClient;
  registry: Address;
  /** First block to read events from (the deployment block). */
  deployBlock: number | bigint;
  /** How often to follow new blocks; 0 turns polling off (call `sync()` yourself). */
  pollMs?: number;
  /** Blocks left unread at the head, so a shallow reorg never reaches the index. */
  confirmations?: number;
  /** Largest block range of one `eth_getLogs`. */
  maxBlockRange?: number;
}

const SCHEMES: readonly KeyScheme[] = ["secp256k1", "p256"];

/**
 * Follows the DeviceRegistry's events and keeps every device's key and status history in memory,
 * so the hot paths (platform, relayer, verifier) answer "was this device active at t?" without an
 * RPC call per reading. Mirrors the contract's checkpoints: the status at `t` is the last change
 * whose block timestamp is ≤ `t`.
 *
 * @example
 * const index = await RegistryIndex.start({ client, registry, deployBlock: 1, pollMs: 1000 });
 * index.isActiveAt("0x…", 1_700_000_000); // boolean
 * index.stop();
 */
export class RegistryIndex {
  readonly #options: Required<Omit<RegistryIndexOptions, "deployBlock">> & { deployBlock: bigint };
  readonly #devices = new Map<Address, IndexedDevice>();
  readonly #issuers = new Map<Address, IndexedIssuer>();
  #nextBlock: bigint;
  #syncing: Promise<void> | undefined;
  #nextSync: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastError: unknown;
  #syncedTimestamp = 0;

  private constructor(options: RegistryIndexOptions) {
    this.#options = {
      pollMs: 1000,
      confirmations: 0,
      maxBlockRange: 5000,
      ...options,
      deployBlock: BigInt(options.deployBlock),
    };
    this.#nextBlock = this.#options.deployBlock;
  }

  /** Reads every event so far, then follows new blocks every `pollMs`. */
  static async start(options: RegistryIndexOptions): Promise<RegistryIndex> {
    const index = new RegistryIndex(options);
    await index.sync();
    if (index.#options.pollMs > 0) {
      index.#timer = setInterval(() => {
        index.sync().catch((error) => {
          index.#lastError = error;
        });
      }, index.#options.pollMs);
      index.#timer.unref();
    }
    return index;
  }

  /** The last error of a background sync, if the latest one failed. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /**
   * Block timestamp (seconds) of the last block read: the index's answers hold for times up to here.
   * A caller judging a reading newer than this can `sync()` first.
   */
  get syncedTimestamp(): number {
    return this.#syncedTimestamp;
  }

  /**
   * Catches up with the chain as it is now: when it returns, every block mined before the call has
   * been read. Concurrent callers share runs; a caller arriving during a run waits for one more, since
   * the run under way may have read the head before the caller's block was mined.
   */
  sync(): Promise<void> {
    if (this.#syncing === undefined) {
      this.#syncing = this.#syncOnce().finally(() => {
        this.#syncing = undefined;
      });
      return this.#syncing;
    }
    this.#nextSync ??= this.#syncing
      .catch(() => undefined)
      .then(() => {
        this.#nextSync = undefined;
        return this.sync();
      });
    return this.#nextSync;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Everything known of `device`, or undefined when it was never registered. */
  device(device: Address): IndexedDevice | undefined {
    return this.#devices.get(normalize(device));
  }

  /** An issuer's record, or undefined when it was never added (as `DeviceRegistry.getIssuer`). */
  issuer(issuer: Address): IndexedIssuer | undefined {
    return this.#issuers.get(normalize(issuer));
  }

  /** Every device, in registration order. */
  devices(): IndexedDevice[] {
    return [...this.#devices.values()];
  }

  /** The status in force at `timestamp` (seconds), as `DeviceRegistry.statusAt`. */
  statusAt(device: Address, timestamp: number | bigint): DeviceStatus {
    const entry = this.#devices.get(normalize(device));
    if (entry === undefined) return DeviceStatus.Unknown;
    const { history, compromises } = entry;
    const t = Number(timestamp);
    // A compromise makes every time from its `since` on Revoked, as DeviceRegistry.statusAt answers.
    if (compromises.some((c) => c.since <= t)) return DeviceStatus.Revoked;
    // A revoked issuer revokes every device it attested from its revocation on, as DeviceRegistry.statusAt.
    const revokedAt = entry.issuer === undefined ? 0 : (this.#issuers.get(entry.issuer)?.revokedAt ?? 0);
    if (revokedAt !== 0 && revokedAt <= t && history.length > 0 && history[0].since <= t) return DeviceStatus.Revoked;
    let low = 0;
    let high = history.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (history[mid].since <= t) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? DeviceStatus.Unknown : history[low - 1].status;
  }

  isActiveAt(device: Address, timestamp: number | bigint): boolean {
    return this.statusAt(device, timestamp) === DeviceStatus.Active;
  }

  async #syncOnce(): Promise<void> {
    const { client, registry, confirmations, maxBlockRange } = this.#options;
    // cacheTime 0: viem otherwise answers a block number up to 4 s old.
    const head = (await client.getBlockNumber({ cacheTime: 0 })) - BigInt(confirmations);
    while (this.#nextBlock <= head) {
      const toBlock = minBigInt(head, this.#nextBlock + BigInt(maxBlockRange) - 1n);
      const logs = await client.getLogs({ address: registry, fromBlock: this.#nextBlock, toBlock });
      const events = parseEventLogs({ abi: deviceRegistryAbi, logs, strict: true });
      const timestamps = new Map<bigint, number>();
      for (const event of events) {
        let since = timestamps.get(event.blockNumber);
        if (since === undefined) {
          since = Number((await client.getBlock({ blockNumber: event.blockNumber })).timestamp);
          timestamps.set(event.blockNumber, since);
        }
        await this.#apply(event, since);
      }
      this.#nextBlock = toBlock + 1n;
    }
    if (head >= 0n) this.#syncedTimestamp = Number((await client.getBlock({ blockNumber: head })).timestamp);
    this.#lastError = undefined;
  }

  async #apply(event: ReturnType<typeof parseEventLogs<typeof deviceRegistryAbi>>[number], since: number): Promise<void> {
    const blockNumber = Number(event.blockNumber);
    switch (event.eventName) {
      case "DeviceRegistered": {
        const { device, scheme, beneficiary, metadataHash, publicKey } = event.args;
        const entry = this.#devices.get(device);
        if (entry !== undefined) {
          this.#setStatus(entry, DeviceStatus.Active, since, blockNumber);
          return;
        }
        this.#devices.set(device, {
          device,
          scheme: SCHEMES[scheme],
          publicKey: hexToBytes(publicKey),
          beneficiary,
          metadataHash,
          status: DeviceStatus.Active,
          history: [{ since, status: DeviceStatus.Active, blockNumber }],
          compromises: [],
        });
        return;
      }
      case "DeviceSuspended":
        return this.#change(event.args.device, DeviceStatus.Suspended, since, blockNumber);
      case "DeviceResumed":
        return this.#change(event.args.device, DeviceStatus.Active, since, blockNumber);
      case "DeviceRevoked":
        return this.#change(event.args.device, DeviceStatus.Revoked, since, blockNumber);
      case "DeviceKeyRotated": {
        const { oldDevice, newDevice } = event.args;
        this.#change(oldDevice, DeviceStatus.Rotated, since, blockNumber);
        const old = this.#devices.get(oldDevice);
        if (old !== undefined) old.rotatedTo = newDevice;
        let fresh = this.#devices.get(newDevice);
        if (fresh === undefined) {
          // The new key is in the registry's storage: read it as of the rotation's block.
          const stored = await this.#options.client.readContract({
            address: this.#options.registry,
            abi: deviceRegistryAbi,
            functionName: "getDevice",
            args: [newDevice],
            blockNumber: event.blockNumber,
          });
          fresh = {
            device: newDevice,
            scheme: SCHEMES[stored.scheme],
            publicKey: hexToBytes(`${stored.keyX}${stored.keyY.slice(2)}` as Hex),
            beneficiary: stored.beneficiary,
            metadataHash: stored.metadataHash,
            status: DeviceStatus.Active,
            history: [{ since, status: DeviceStatus.Active, blockNumber }],
            compromises: [],
          };
          this.#devices.set(newDevice, fresh);
        }
        fresh.rotatedFrom = oldDevice;
        if (old?.issuer !== undefined) fresh.issuer = old.issuer;
        return;
      }
      case "DeviceCompromised": {
        const entry = this.#devices.get(event.args.device);
        if (entry !== undefined) entry.compromises.push({ since: Number(event.args.since), blockNumber });
        return;
      }
      case "DeviceMetadataUpdated": {
        const entry = this.#devices.get(event.args.device);
        if (entry !== undefined) entry.metadataHash = event.args.metadataHash;
        return;
      }
      case "IssuerAdded":
        return this.#addIssuer(event.args.issuer, since);
      case "IssuerRevoked":
        return this.#revokeIssuer(event.args.issuer, Number(event.args.at));
      case "DeviceAttested":
        return this.#attest(event.args.device, event.args.issuer);
      default:
        return; // role events and others carry no device state
    }
  }

  #attest(device: Address, issuer: Address): void {
    const entry = this.#devices.get(device);
    if (entry !== undefined) entry.issuer = issuer;
  }

  #addIssuer(issuer: Address, since: number): void {
    this.#issuers.set(issuer, { issuer, addedAt: since, revokedAt: 0 });
  }

  /** As `DeviceRegistry.revokeIssuer`: every device the issuer attested is Revoked from `at` on. */
  #revokeIssuer(issuer: Address, at: number): void {
    const record = this.#issuers.get(issuer);
    if (record !== undefined) record.revokedAt = at;
    for (const entry of this.#devices.values()) if (entry.issuer === issuer) entry.status = DeviceStatus.Revoked;
  }

  #change(device: Address, status: DeviceStatus, since: number, blockNumber: number): void {
    const entry = this.#devices.get(device);
    if (entry !== undefined) this.#setStatus(entry, status, since, blockNumber);
  }

  #setStatus(entry: IndexedDevice, status: DeviceStatus, since: number, blockNumber: number): void {
    const issuerRevoked = entry.issuer !== undefined && (this.#issuers.get(entry.issuer)?.revokedAt ?? 0) !== 0;
    entry.status = issuerRevoked ? DeviceStatus.Revoked : status;
    const last = entry.history.at(-1);
    // Same timestamp: the contract's checkpoint is overwritten, so is ours.
    if (last !== undefined && last.since === since) {
      last.status = status;
      last.blockNumber = blockNumber;
    } else {
      entry.history.push({ since, status, blockNumber });
    }
  }
}

function normalize(address: Address): Address {
  return getAddress(address);
}

function minBigInt(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
