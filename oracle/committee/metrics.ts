/**
 * The oracle's Prometheus metrics (`sensorseal_oracle_*`), on the relayer's small registry.
 *
 * @module
 */
import { Counter, Gauge, MetricsRegistry } from "../service/metrics.js";

export interface OracleMetrics {
  registry: MetricsRegistry;
  batches: Counter;
  readings: Counter;
  epochs: Counter;
  reorgs: Counter;
  signaturesReceived: Counter;
  rootsPosted: Counter;
  postFailures: Counter;
  manifestFailures: Counter;
  halted: Gauge;
  processedBlock: Gauge;
  headBlock: Gauge;
}

/**
 * The oracle's metric set.
 *
 * @example
 * const metrics = createOracleMetrics();
 * metrics.readings.inc({ result: "rejected", reason: "INVALID_SIGNATURE" });
 * metrics.registry.render(); // "# HELP sensorseal_oracle_batches_total …"
 */
export function createOracleMetrics(): OracleMetrics {
  const registry = new MetricsRegistry();
  const p = "sensorseal_oracle";
  return {
    registry,
    batches: registry.add(new Counter(`${p}_batches_total`, "Anchored batches judged, by status (verified, rejected) and reason")),
    readings: registry.add(new Counter(`${p}_readings_total`, "Readings judged, by result (rewarded, rejected) and rejection reason")),
    epochs: registry.add(new Counter(`${p}_epochs_total`, "Epochs processed, by status (signed, empty)")),
    reorgs: registry.add(new Counter(`${p}_reorgs_total`, "Audit-chain reorganisations seen, by depth (shallow, deep)")),
    signaturesReceived: registry.add(new Counter(`${p}_signatures_received_total`, "Peer signatures received, by result")),
    rootsPosted: registry.add(new Counter(`${p}_roots_posted_total`, "Roots this oracle posted to the distributor")),
    postFailures: registry.add(new Counter(`${p}_post_failures_total`, "postRoot attempts that failed, by error")),
    manifestFailures: registry.add(
      new Counter(`${p}_manifest_fetch_failures_total`, "Manifests no source could serve with the anchored hash"),
    ),
    halted: registry.add(new Gauge(`${p}_halted`, "1 while halted on a reorg deeper than the confirmation depth")),
    processedBlock: registry.add(new Gauge(`${p}_processed_block`, "Last audit-chain block folded into the ledger")),
    headBlock: registry.add(new Gauge(`${p}_head_block`, "Audit-chain head seen")),
  };
}
