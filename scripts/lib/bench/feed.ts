/**
 * A live feed of bulk requests to one service (`POST /v1/readings`) for the soak run: bulks queue up
 * as readings fall due, senders take them in order, a 429 (whole request) is waited out for its
 * Retry-After and sent again, items of a bulk answered 429 one by one (a device's quota) are queued
 * again, any other refusal of an item is counted (a reading the service will never have). A request
 * whose connection broke (a keep-alive socket closed by the server as it was reused) is sent again, as
 * a real client does; both services answer a resent reading as a duplicate, counted apart.
 *
 * @module
 */
import { sleep, type HttpClient } from "./util.js";

/**
 * One item of a bulk answer: the relayer's `status` is the HTTP status and `duplicate` a flag; the
 * platform's HTTP status is `httpStatus` and `status` "stored" | "duplicate" | "rejected".
 */
interface ItemAnswer {
  status?: number | string;
  httpStatus?: number;
  duplicate?: boolean;
  error?: { code?: string };
}

/** A connection that broke under a request (ECONNRESET — "socket hang up" — or EPIPE): worth sending again. */
const brokenConnection = (error: unknown) => ["ECONNRESET", "EPIPE"].includes((error as { code?: string }).code ?? "");

export class Feed {
  readonly #backlog: unknown[][] = [];
  #queued = 0;
  /** Items the service took as new (stored / queued). */
  accepted = 0;
  /** Items answered as already taken (after a resend). */
  duplicates = 0;
  /** Requests sent again after their connection broke. */
  resends = 0;
  /** Items refused for good, by error code. */
  readonly refused: Record<string, number> = {};
  /** Requests answered 429 and sent again. */
  retries = 0;
  #running = true;
  #senders: Promise<void>[] = [];
  /** Set when a sender met an answer it cannot handle: the run stops with it. */
  failure: Error | undefined;

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
    this.#senders = Array.from({ length: senders }, () =>
      this.#send().catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        this.#running = false;
      }),
    );
  }

  /** Stops taking new bulks once the backlog is empty; resolves when every sender is done (rejects with a sender's failure). */
  async drain(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#senders);
    if (this.failure !== undefined) throw this.failure;
  }

  async #send(): Promise<void> {
    while (this.failure === undefined && (this.#running || this.#backlog.length > 0)) {
      const items = this.#backlog.shift();
      if (items === undefined) {
        await sleep(20);
        continue;
      }
      let answer;
      try {
        answer = await this.client.post("/v1/readings", JSON.stringify(items));
      } catch (error) {
        if (!brokenConnection(error)) throw error;
        this.resends++;
        this.#backlog.unshift(items);
        await sleep(100);
        continue;
      }
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
        if (status < 300 && (r.duplicate === true || r.status === "duplicate")) this.duplicates++;
        else if (status < 300) this.accepted++;
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
