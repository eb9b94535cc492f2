/**
 * The delivery worker's walk of one target's pending heads: round robin over devices from where
 * the last pass stopped, a bounded slice per pass (so a long run of devices backing off does not
 * block the event loop), and a sleep only once a whole round found nothing due.
 *
 * @module
 */
import type { DeliveryHead, DeliveryTarget, Outbox } from "./outbox.js";

/** What one pass found. */
export type ScanResult = {
  /** Due heads, at most the capacity asked for. */
  heads: DeliveryHead[];
  /** When the worker should look again (Infinity: only when woken). */
  wakeAt: number;
  /** Whether to go on with another pass on the next turn (the slice ended before the round did). */
  again: boolean;
};

/**
 * Round-robin scanner of one target's due heads.
 *
 * @example
 * ```ts
 * import { Outbox } from "./outbox.js";
 * const outbox = Outbox.open(":memory:");
 * outbox.append({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1, ts: 1_700_000_000, payload: "{}",
 *   dataHash: `0x${"11".repeat(32)}`, signature: `0x${"22".repeat(64)}` });
 * const scan = new FairScan(outbox, "relayer");
 * scan.next(4, Date.now(), () => false, 0).heads.map((h) => h.seq); // [1]
 * outbox.close();
 * ```
 */
export class FairScan {
  readonly #outbox: Outbox;
  readonly #target: DeliveryTarget;
  /** The last device served ("" for the start). */
  #cursor = "";
  /**
   * A run of passes that found nothing due: where it began (a device address, "" for the start)
   * and the earliest due time seen, so the worker sleeps only after a whole round.
   */
  #idle: { origin: string | undefined; wakeAt: number } = { origin: undefined, wakeAt: Infinity };

  constructor(outbox: Outbox, target: DeliveryTarget) {
    this.#outbox = outbox;
    this.#target = target;
  }

  /**
   * One pass from the cursor, wrapping once: up to `capacity` due heads of devices not `busy`
   * (`busyCount` of them are in flight, so the slice grows with them).
   */
  next(capacity: number, now: number, busy: (device: string) => boolean, busyCount: number): ScanResult {
    const start = this.#cursor;
    let cursor = start;
    let wrapped = false;
    let scanned = 0;
    let notDue = Infinity;
    const heads: DeliveryHead[] = [];
    const scanLimit = capacity * 4 + busyCount + 64;
    while (heads.length < capacity && scanned < scanLimit) {
      const head = this.#outbox.headAfter(this.#target, cursor);
      if (head === undefined) {
        if (wrapped || start === "") break;
        wrapped = true;
        cursor = "";
        continue;
      }
      if (wrapped && head.device > start) break;
      scanned++;
      cursor = head.device;
      if (busy(head.device)) continue;
      if (head.nextAttemptAt > now) {
        notDue = Math.min(notDue, head.nextAttemptAt);
        continue;
      }
      heads.push(head);
      if (wrapped && head.device === start) break;
    }
    this.#cursor = cursor;
    const stoppedEarly = scanned >= scanLimit && heads.length < capacity;
    if (heads.length > 0) {
      this.#idle = { origin: undefined, wakeAt: Infinity };
      return { heads, wakeAt: notDue, again: stoppedEarly };
    }
    return { heads, ...this.#idlePass(start, cursor, wrapped, notDue, stoppedEarly) };
  }

  /** A pass that found nothing due: sleep if the idle run has gone round the ring, else go on. */
  #idlePass(start: string, cursor: string, wrapped: boolean, notDue: number, stoppedEarly: boolean): Omit<ScanResult, "heads"> {
    const idle = this.#idle;
    idle.wakeAt = Math.min(idle.wakeAt, notDue);
    let roundDone = !stoppedEarly; // walked the whole ring in this pass
    if (idle.origin === undefined) idle.origin = start;
    else if (wrapped ? idle.origin > start || idle.origin <= cursor : start < idle.origin && idle.origin <= cursor) {
      roundDone = true; // this pass went past where the idle run began
    }
    if (!roundDone) return { wakeAt: Infinity, again: true }; // a long run of heads not due: go on next turn
    // A whole round and nothing due: sleep until the earliest head seen is due.
    const wakeAt = idle.wakeAt;
    this.#idle = { origin: undefined, wakeAt: Infinity };
    return { wakeAt, again: false };
  }
}
