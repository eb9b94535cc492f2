/**
 * The anchor's `maxAnchorDelay()` as the relayer's intake sees it: read at start-up and refreshed
 * periodically (the admin may change it; the value in force at anchoring is what the contract applies).
 *
 * @module
 */
import type { Address, PublicClient } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import type { Logger } from "../service/logger.js";

/** A cached `maxAnchorDelay()`, in seconds. */
export class AnchorDelayWatch {
  readonly #client: PublicClient;
  readonly #anchor: Address;
  readonly #logger: Logger;
  #value: bigint;
  #timer: NodeJS.Timeout | undefined;

  private constructor(client: PublicClient, anchor: Address, logger: Logger, value: bigint) {
    this.#client = client;
    this.#anchor = anchor;
    this.#logger = logger;
    this.#value = value;
  }

  /** Reads the current value (fails when the anchor cannot be read: the relayer cannot judge readings' age). */
  static async open(client: PublicClient, anchor: Address, logger: Logger): Promise<AnchorDelayWatch> {
    const value = await client.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "maxAnchorDelay" });
    return new AnchorDelayWatch(client, anchor, logger, BigInt(value));
  }

  /** The last value read, seconds. */
  get seconds(): bigint {
    return this.#value;
  }

  /** Re-reads the value every `intervalMs` (a failed read keeps the last value). */
  start(intervalMs: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the value now. */
  async refresh(): Promise<void> {
    try {
      const value = await this.#client.readContract({ address: this.#anchor, abi: readingAnchorAbi, functionName: "maxAnchorDelay" });
      this.#value = BigInt(value);
    } catch (error) {
      this.#logger.warn({ err: error }, "could not refresh maxAnchorDelay; keeping the last value");
    }
  }
}
