/**
 * The simulator's progress line: readings made and their rate, what was sent, queued, failed
 * and retried per target, and how far the simulated clock is behind (stderr by default; one
 * rewritten line on a TTY).
 *
 * @module
 */
import type { DeliveryStats } from "./delivery.js";

/** Where progress goes (a stream's `write`), or `false` for none. */
export type ProgressSink = { write(text: string): unknown; isTTY?: boolean } | false;

/** What a progress line reads from the run. */
export type ProgressSource = {
  wallStart: number;
  readings(): number;
  /** Readings still in the outbox (shown when nothing is delivered). */
  pending(): number;
  stats(): DeliveryStats | undefined;
  /** Simulated seconds the run is behind its clock. */
  behindSeconds(): number;
};

/**
 * Writes a progress line every interval and a final one.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const reporter = new ProgressReporter({ write: (t: string) => lines.push(t) }, {
 *   wallStart: Date.now(), readings: () => 10, pending: () => 0, stats: () => undefined, behindSeconds: () => 0,
 * });
 * reporter.write(true);
 * lines[0]; // "[simulate] 10 readings (…/s) | outbox 0\n"
 * ```
 */
export class ProgressReporter {
  readonly #sink: ProgressSink;
  readonly #source: ProgressSource;
  #last: { at: number; readings: number };
  #timer: NodeJS.Timeout | undefined;

  constructor(sink: ProgressSink, source: ProgressSource) {
    this.#sink = sink;
    this.#source = source;
    this.#last = { at: source.wallStart, readings: 0 };
  }

  /** Writes a line every `intervalMs` until {@link ProgressReporter.stop}. */
  start(intervalMs: number): void {
    if (this.#sink === false) return;
    this.#timer = setInterval(() => this.write(false), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Writes one line (`final`: ends it with a newline on a TTY, and leaves out the lag). */
  write(final: boolean): void {
    const sink = this.#sink;
    if (sink === false) return;
    const now = Date.now();
    const readings = this.#source.readings();
    const dt = Math.max(1, now - this.#last.at) / 1000;
    const rate = (readings - this.#last.readings) / dt;
    this.#last = { at: now, readings };
    const s = this.#source.stats();
    const lag = this.#source.behindSeconds();
    const line =
      `[simulate] ${readings} readings (${rate.toFixed(0)}/s)` +
      (s === undefined
        ? ` | outbox ${this.#source.pending()}`
        : ` | sent p:${s.delivered.platform} r:${s.delivered.relayer}` +
          ` | queued p:${s.pending.platform} r:${s.pending.relayer}` +
          ` | failed p:${s.rejected.platform} r:${s.rejected.relayer}` +
          ` | retries ${s.retries.platform + s.retries.relayer}`) +
      (lag > 1 && !final ? ` | behind ${lag.toFixed(0)} sim-s` : "");
    sink.write(sink.isTTY === true ? `\r\x1b[2K${line}${final ? "\n" : ""}` : `${line}\n`);
  }
}
