import { Counter, Gauge, Histogram, MetricsRegistry } from "../service/metrics.js";
import { processMetrics, type ProcessMetrics } from "../service/process-metrics.js";

/** The relayer's metrics. */
export interface RelayerMetrics {
  registry: MetricsRegistry;
  /** prom-client: RSS, CPU, event-loop lag, GC, and every refusal (all routes) by code. */
  process: ProcessMetrics;
  readingsAccepted: Counter;
  readingsDuplicate: Counter;
  readingsRejected: Counter;
  queueDepth: Gauge;
  batches: Gauge;
  anchorLatency: Histogram;
  gasUsed: Counter;
  anchorTxs: Counter;
  reorgs: Counter;
  deepReorgs: Counter;
  requestsShed: Counter;
  submissionsInFlight: Gauge;
  deadlinesMissed: Counter;
}

/**
 * The relayer's metric set, named `sensorseal_relayer_*`.
 *
 * @example
 * const metrics = createRelayerMetrics();
 * metrics.readingsRejected.inc({ code: "INVALID_SIGNATURE" });
 */
export function createRelayerMetrics(): RelayerMetrics {
  const registry = new MetricsRegistry();
  const p = "sensorseal_relayer";
  return {
    registry,
    process: processMetrics("relayer"),
    readingsAccepted: registry.add(new Counter(`${p}_readings_accepted_total`, "Readings accepted and queued (new ones)")),
    readingsDuplicate: registry.add(
      new Counter(`${p}_readings_duplicate_total`, "Resends of an already accepted reading (answered with the same receipt)"),
    ),
    readingsRejected: registry.add(new Counter(`${p}_readings_rejected_total`, "Readings rejected, by error code")),
    queueDepth: registry.add(new Gauge(`${p}_queue_depth`, "Accepted readings not yet in a batch")),
    batches: registry.add(new Gauge(`${p}_batches`, "Batches by status")),
    anchorLatency: registry.add(
      new Histogram(
        `${p}_anchor_latency_seconds`,
        "Seconds from a batch's creation to its anchoring transaction being mined",
        [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      ),
    ),
    gasUsed: registry.add(new Counter(`${p}_gas_used_total`, "Gas used by mined anchoring transactions")),
    anchorTxs: registry.add(
      new Counter(`${p}_anchor_transactions_total`, "Anchoring transactions broadcast, by kind (initial, bump, rebroadcast)"),
    ),
    reorgs: registry.add(new Counter(`${p}_reorgs_total`, "Anchored batches whose transaction left the canonical chain")),
    deepReorgs: registry.add(
      new Counter(
        `${p}_confirmed_reorgs_total`,
        "Confirmed batches whose anchoring left the canonical chain (a reorg deeper than CONFIRMATIONS; also in reorgs_total)",
      ),
    ),
    requestsShed: registry.add(
      new Counter(`${p}_requests_shed_total`, "Submissions answered 429 OVERLOADED (load shedding), by reason (in_flight, event_loop_lag)"),
    ),
    submissionsInFlight: registry.add(new Gauge(`${p}_submissions_in_flight`, "Submissions (POST /v1/readings) being handled")),
    deadlinesMissed: registry.add(
      new Counter(`${p}_receipt_deadlines_missed_total`, "Readings anchored after the deadline of their signed receipt"),
    ),
  };
}
