/**
 * Summing verdicts into a report: `ok` means nothing is wrong (every reading VERIFIED or PENDING, every
 * batch ok); `pending` says how many readings are still in flight.
 *
 * @module
 */
import { countStatuses, OK_STATUSES, type BatchResult, type ReadingResult, type Report } from "./types.js";

/**
 * The report of a set of results.
 *
 * @example report([{ device, seq: 1, status: "PENDING", problems: [...] }]); // { ok: true, pending: 1, … }
 */
export function report(readings: ReadingResult[], batches?: BatchResult[]): Report {
  const counts = countStatuses(readings);
  const ok = readings.every((r) => OK_STATUSES.includes(r.status)) && (batches ?? []).every((b) => b.ok);
  return { ok, pending: counts.PENDING, counts, readings, ...(batches === undefined ? {} : { batches }) };
}
