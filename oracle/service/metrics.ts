/**
 * A small hand-written Prometheus registry (text exposition format 0.0.4): counters and gauges with
 * labels, and histograms. Every service's `/metrics`; no dependency.
 *
 * @module
 */
import { SensorSealError } from "../core/errors.js";

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",");
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}

interface Metric {
  readonly name: string;
  render(): string;
}

/** A monotonically increasing count, optionally per label set. */
export class Counter implements Metric {
  readonly #values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** @example counter.inc({ code: "INVALID_SIGNATURE" }); */
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }

  /** The current value for a label set (tests, logs). */
  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.#values.size === 0) lines.push(`${this.name} 0`);
    for (const [key, value] of this.#values) lines.push(`${this.name}${key ? `{${key}}` : ""} ${formatNumber(value)}`);
    return lines.join("\n");
  }
}

/** A value that goes up and down; `collect` (if given) refreshes it at scrape time. */
export class Gauge implements Metric {
  readonly #values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly collect?: (gauge: Gauge) => void,
  ) {}

  /** @example gauge.set(12); gauge.set(3, { status: "queued" }); */
  set(value: number, labels: Labels = {}): void {
    this.#values.set(labelKey(labels), value);
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    this.collect?.(this);
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    if (this.#values.size === 0) lines.push(`${this.name} 0`);
    for (const [key, value] of this.#values) lines.push(`${this.name}${key ? `{${key}}` : ""} ${formatNumber(value)}`);
    return lines.join("\n");
  }
}

/** Observations counted in cumulative buckets, with their sum and count. */
export class Histogram implements Metric {
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.#counts = buckets.map(() => 0);
  }

  /** @example histogram.observe(1.7); */
  observe(value: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) this.#counts[i]++;
    this.#sum += value;
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket{le="${formatNumber(le)}"} ${this.#counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.#count}`);
    lines.push(`${this.name}_sum ${formatNumber(this.#sum)}`);
    lines.push(`${this.name}_count ${this.#count}`);
    return lines.join("\n");
  }
}

/** A metric name was registered twice in one {@link MetricsRegistry}. */
export class DuplicateMetricError extends SensorSealError {
  override name = "DuplicateMetricError" as const;
  declare readonly code: "DUPLICATE_METRIC";
  constructor(metric: string) {
    super("DUPLICATE_METRIC", `metric ${metric} registered twice`, { details: { metric } });
  }
}

/**
 * Holds metrics and renders them in the Prometheus text format.
 *
 * @example
 * const registry = new MetricsRegistry();
 * const accepted = registry.add(new Counter("relayer_readings_accepted_total", "Readings accepted"));
 * accepted.inc();
 * registry.render(); // "# HELP relayer_readings_accepted_total …"
 */
export class MetricsRegistry {
  readonly #metrics: Metric[] = [];

  add<M extends Metric>(metric: M): M {
    if (this.#metrics.some((m) => m.name === metric.name)) throw new DuplicateMetricError(metric.name);
    this.#metrics.push(metric);
    return metric;
  }

  /** The exposition text, ending in a newline. */
  render(): string {
    return `${this.#metrics.map((m) => m.render()).join("\n")}\n`;
  }
}

/** Content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
