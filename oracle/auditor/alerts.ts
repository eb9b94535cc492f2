/**
 * Delivers stored alerts to a webhook: `POST <url>` with a JSON body, one alert per request, retried
 * with exponential backoff (the outbox is the store, so a restart resumes deliveries). Delivery is at
 * least once: a receiver deduplicates by the alert's `key`.
 *
 * @module
 */
import type { Logger } from "../service/logger.js";
import type { AlertRow, AuditorStore } from "./store.js";

/** Options of {@link deliverAlerts}. */
export interface WebhookOptions {
  url: string;
  /** First retry delay; doubles per attempt up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
}

/** The JSON body posted for an alert. */
export function alertBody(a: AlertRow): Record<string, unknown> {
  return {
    id: a.id,
    key: a.alertKey,
    kind: a.kind,
    device: a.device,
    seq: a.seq,
    batchId: a.batchId,
    message: a.message,
    details: a.details === null ? null : JSON.parse(a.details),
    createdAt: new Date(a.createdAt).toISOString(),
  };
}

/**
 * Posts every due undelivered alert once; a failure schedules its next attempt. Answers how many were delivered.
 *
 * @example await deliverAlerts(store, { url: "http://127.0.0.1:9000/hook", backoffMs: 500, maxBackoffMs: 60_000, timeoutMs: 5000 }, logger);
 */
export async function deliverAlerts(store: AuditorStore, options: WebhookOptions, logger: Logger): Promise<number> {
  let delivered = 0;
  for (const alert of await store.dueAlerts(Date.now(), 50)) {
    try {
      const res = await fetch(options.url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-sensorseal-alert": alert.alertKey },
        body: JSON.stringify(alertBody(alert)),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) throw new Error(`webhook answered ${res.status}`);
      await store.alertDelivered(alert.id);
      delivered++;
    } catch (error) {
      const delay = Math.min(options.maxBackoffMs, options.backoffMs * 2 ** alert.attempts);
      await store.alertFailed(alert.id, Date.now() + delay, (error as Error).message.slice(0, 300));
      logger.warn(
        { alert: alert.alertKey, attempt: alert.attempts + 1, retryInMs: delay, err: (error as Error).message },
        "alert delivery failed",
      );
    }
  }
  return delivered;
}
