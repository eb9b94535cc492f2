/**
 * `GET /api/devices` (the registry, from the audit chain; public) and `GET /api/devices/:device/readings`
 * (the platform's raw readings with their numeric fields, for the charts; signed-in consumers only,
 * read with their own key).
 *
 * @module
 */
import type express from "express";
import type { Address, Hex } from "viem";

import { DEVICE_STATUS_NAMES } from "../../core/device-status.js";
import { handle } from "../../service/app.js";
import { consumerKey, requireSession } from "../session.js";
import { platformGet, unavailable, type Upstreams } from "../upstream.js";
import { addressParam, optionalInt } from "./params.js";

type ChartReading = { seq: number; ts: number; dataHash: Hex; receivedAt: string; values: Record<string, number> | null };

/** The numeric sensor fields of a payload (everything numeric except the envelope). */
export function payloadValues(payload: string): Record<string, number> | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(value))
    if (!["v", "seq", "ts"].includes(key) && typeof v === "number" && Number.isFinite(v)) out[key] = v;
  return out;
}

/** Pages through the platform's readings of `device` (at most `maxReadings`) as the consumer holding `apiKey`. */
async function platformReadings(
  up: Upstreams,
  apiKey: string,
  device: Address,
  from: number | undefined,
  to: number | undefined,
  maxReadings: number,
) {
  const readings: ChartReading[] = [];
  let afterSeq = 0;
  let truncated = false;
  for (;;) {
    const q = new URLSearchParams({ afterSeq: String(afterSeq), limit: String(Math.min(1000, maxReadings)) });
    if (from !== undefined) q.set("from", String(from));
    if (to !== undefined) q.set("to", String(to));
    const { status, body } = await platformGet(up, apiKey, `/v1/devices/${device}/readings?${q}`);
    if (status === 404) break;
    if (!Array.isArray(body?.readings)) throw unavailable("platform", `the platform answered ${status}`);
    for (const r of body.readings) {
      readings.push({ seq: r.seq, ts: r.ts, dataHash: r.dataHash, receivedAt: r.receivedAt, values: payloadValues(String(r.payload)) });
    }
    if (readings.length >= maxReadings) {
      truncated = body.nextAfterSeq !== null && body.nextAfterSeq !== undefined;
      readings.length = Math.min(readings.length, maxReadings);
      break;
    }
    if (body.nextAfterSeq === null || body.nextAfterSeq === undefined || body.readings.length === 0) break;
    afterSeq = Number(body.nextAfterSeq);
  }
  return { readings, truncated };
}

/** Adds `GET /api/devices` and `GET /api/devices/:device/readings`. */
export function deviceRoutes(router: express.Router, up: Upstreams): void {
  const maxReadings = up.options.maxReadings ?? 5000;
  router.get(
    "/api/devices",
    handle(async (_req, res) => {
      const a = await up.auditChain();
      await a.registryIndex.sync().catch(() => undefined);
      const devices = a.registryIndex
        .devices()
        .map((d) => ({
          device: d.device,
          scheme: d.scheme,
          status: DEVICE_STATUS_NAMES[d.status] ?? String(d.status),
          beneficiary: d.beneficiary,
          registeredAt: d.history[0]?.since ?? null,
          ...(d.rotatedTo === undefined ? {} : { rotatedTo: d.rotatedTo }),
          ...(d.rotatedFrom === undefined ? {} : { rotatedFrom: d.rotatedFrom }),
        }))
        .sort((x, y) => (x.registeredAt ?? 0) - (y.registeredAt ?? 0));
      res.json({ chainId: a.chainId, registry: a.registry, devices });
    }),
  );

  router.get(
    "/api/devices/:device/readings",
    requireSession(up.sessions),
    handle(async (req, res) => {
      const device = addressParam(req.params.device as string, "device");
      const from = optionalInt(req.query.from, "from");
      const to = optionalInt(req.query.to, "to");
      const { readings, truncated } = await platformReadings(up, consumerKey(res), device, from, to, maxReadings);
      const fields = [...new Set(readings.flatMap((r) => Object.keys(r.values ?? {})))].sort();
      res.json({ device, fields, readings, truncated });
    }),
  );
}
