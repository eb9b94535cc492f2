/**
 * A live feed of bulk requests to one service (`POST /v1/readings`) for the soak run: bulks queue up
 * as readings fall due, senders take them in order, a 429 (whole request) is waited out for its
 * Retry-After and sent again, items of a bulk answered 429 one by one (a device's quota) are queued
 * again, any other refusal of an item is counted (a reading the service will never have).
 *
 * @module
 */
import { sleep, type HttpClient } from "./util.js";

/** One item of a bulk answer: the relayer's `status` is the HTTP status; the platform's is `httpStatus`. */
interface ItemAnswer {
  status?: number | string;
  httpStatus?: number;
  error?: { code?: string };
}

export class Feed {
  readonly #backlog: unknown[][] = [];
  #queued = 0;
  /** Items the service took (stored / queued, duplicates included). */
  accepted = 0;
  /** Items refused for good, by error code. */
  readonly refused: Record<string, number> = {};
  /** Requests answered 429 and sent again. */
  retries = 0;
  #running = true;
  #senders: Promise<void>[] = [];

  constructor(
    readonly name: string,
    readonly client: HttpClient,
  ) {}

  /** Readings waiting to be sent (or sent again). */
  get backlog(): number {
    return this.#queued;
  }

  get refusedTotal(): number {
    return Object.values(this.refused).reduce((a, b) => a + b, 0);
  }

  push(items: unknown[]): void {
    this.#backlog.push(items);
    this.#queued += items.length;
  }

  /** Starts `senders` concurrent senders; {@link drain} stops them once the backlog is sent. */
  start(senders: number): void {
    this.#senders = Array.from({ length: senders }, () => this.#send());
  }

  /** Stops taking new bulks once the backlog is empty; resolves when every sender is done. */
  async drain(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#senders);
  }

  async #send(): Promise<void> {
    while (this.#running || this.#backlog.length > 0) {
      const items = this.#backlog.shift();
      if (items === undefined) {
        await sleep(20);
        continue;
      }
      const answer = await this.client.post("/v1/readings", JSON.stringify(items));
      if (answer.status === 429) {
        this.retries++;
        await sleep((answer.retryAfterSeconds ?? 1) * 1000);
        this.#backlog.unshift(items);
        continue;
      }
      if (answer.status !== 200 && answer.status !== 202 && answer.status !== 207)
        throw new Error(`${this.name} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
      this.#queued -= items.length;
      const results = (JSON.parse(answer.text) as { results: ItemAnswer[] }).results;
      const again: unknown[] = [];
      results.forEach((r, i) => {
        const status = r.httpStatus ?? (typeof r.status === "number" ? r.status : 200);
        if (status < 300) this.accepted++;
        else if (status === 429) again.push(items[i]);
        else {
          const code = r.error?.code ?? String(status);
          this.refused[code] = (this.refused[code] ?? 0) + 1;
        }
      });
      if (again.length > 0) {
        this.retries++;
        await sleep(1000);
        this.push(again);
      }
    }
  }
}
