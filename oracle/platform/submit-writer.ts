/**
 * Group commit of the platform's reading intake: the readings of requests answered at about the same
 * time share one store transaction (one fsync on SQLite, one round trip on PostgreSQL), in arrival
 * order, so duplicate and conflict checks see each other exactly as if written one by one.
 *
 * @module
 */
import type { PlatformStore, PutOutcome, StoredReading } from "./store.js";

interface PendingPut {
  readings: readonly StoredReading[];
  resolve(outcomes: PutOutcome[]): void;
  reject(error: unknown): void;
}

/**
 * Writes readings with group commit; each promise resolves once its transaction committed.
 *
 * @example
 * const writer = new GroupWriter(store);
 * const [outcome] = await writer.put([reading]); // { outcome: "stored", reading }
 */
export class GroupWriter {
  readonly #store: PlatformStore;
  readonly #maxGroup: number;
  #pending: PendingPut[] = [];
  #running: Promise<void> | undefined;

  constructor(store: PlatformStore, maxGroup = 5000) {
    this.#store = store;
    this.#maxGroup = maxGroup;
  }

  /** Stores `readings` (one transaction shared with concurrent callers); answers each one's outcome, in order. */
  put(readings: readonly StoredReading[]): Promise<PutOutcome[]> {
    if (readings.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#pending.push({ readings, resolve, reject });
      this.#running ??= this.#drain().finally(() => {
        this.#running = undefined;
      });
    });
  }

  /** Resolves when nothing is being written. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      // Let requests already on the wire reach the queue, so they share this commit.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const group: PendingPut[] = [];
      let size = 0;
      while (this.#pending.length > 0 && (group.length === 0 || size + this.#pending[0]!.readings.length <= this.#maxGroup)) {
        const next = this.#pending.shift()!;
        group.push(next);
        size += next.readings.length;
      }
      try {
        const outcomes = await this.#store.putReadings(group.flatMap((g) => g.readings));
        let offset = 0;
        for (const g of group) {
          g.resolve(outcomes.slice(offset, offset + g.readings.length));
          offset += g.readings.length;
        }
      } catch (error) {
        for (const g of group) g.reject(error);
      }
    }
  }
}
