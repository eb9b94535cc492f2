/**
 * The auditor's Prometheus metrics (`GET /metrics`).
 *
 * @module
 */
import { Counter, Gauge, MetricsRegistry } from "../service/metrics.js";

/** @example const m = auditorMetrics(); m.alerts.inc({ kind: "TAMPERED" }); */
export function auditorMetrics() {
  const registry = new MetricsRegistry();
  return {
    registry,
    alerts: registry.add(new Counter("auditor_alerts_total", "Alerts raised, by kind")),
    verdicts: registry.add(new Counter("auditor_verdicts_total", "Verdicts recorded, by status")),
    unchecked: registry.add(new Counter("auditor_unchecked_total", "Work items that could not be checked (retried), by kind")),
    cursor: registry.add(new Gauge("auditor_cursor_block", "Last audit-chain block queued")),
    head: registry.add(new Gauge("auditor_head_block", "Audit-chain head at the last poll")),
    backlog: registry.add(new Gauge("auditor_backlog_items", "Work items not done yet")),
  };
}

export type AuditorMetrics = ReturnType<typeof auditorMetrics>;
