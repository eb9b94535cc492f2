/**
 * The agency auditor's findings on the dashboard (issue 15): the alert banner and the map.
 *
 * `GET /api/auditor/status` (public: the auditor's own open `/v1/status`, counts only),
 * `GET /api/auditor/alerts` and `GET /api/auditor/map` (signed-in consumers: the auditor's API is read
 * with the consumer's own key, as raw data is, so the auditor's key list decides who sees what).
 * The map answer is the auditor's `/v1/map` (each device's latest verified reading, its AQI and
 * verification health) and the latest hourly aggregate of each grid cell (`/v1/aggregates?grid=`).
 *
 * @module
 */
import type express from "express";

import { handle } from "../../service/app.js";
import { ServiceError } from "../../service/errors.js";
import { consumerKey, requireSession } from "../session.js";
import { fetchJson, notConfigured, unavailable, type Upstreams } from "../upstream.js";

/** Grid cell size of the map's aggregates, degrees (about 1 km). */
export const MAP_GRID_DEGREES = 0.01;

/** GETs `path` of the auditor's API (with `apiKey` when given); its 401/403/400 pass through. */
async function auditorGet(up: Upstreams, path: string, apiKey?: string) {
  const url = up.options.auditor?.url;
  if (url === undefined) throw notConfigured("auditor");
  const headers: Record<string, string> = apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` };
  const { status, body } = await fetchJson(`${url.replace(/\/+$/, "")}${path}`, "auditor", up.timeoutMs, headers);
  if (status === 401 || status === 403)
    throw new ServiceError(status === 401 ? "UNAUTHORIZED" : "FORBIDDEN", "the auditor does not accept this consumer's key", {
      service: "auditor",
    });
  if (status !== 200) throw unavailable("auditor", `the auditor answered ${status}`);
  return body;
}

/** Registers the auditor routes. */
export function auditorRoutes(router: express.Router, up: Upstreams): void {
  router.get(
    "/api/auditor/status",
    handle(async (_req, res) => {
      const s = await auditorGet(up, "/v1/status");
      res.json({
        stale: s.stale === true,
        verdicts: s.verdicts ?? {},
        verifiedPercent: s.verifiedPercent ?? null,
        alerts: { total: Number(s.alerts?.total ?? 0) },
        lastError: s.lastError ?? null,
      });
    }),
  );

  router.get(
    "/api/auditor/alerts",
    requireSession(up.sessions),
    handle(async (_req, res) => {
      const body = await auditorGet(up, "/v1/alerts?limit=1000", consumerKey(res));
      const alerts = Array.isArray(body?.alerts) ? body.alerts : [];
      // Newest first: the banner shows the latest few.
      res.json({ alerts: alerts.reverse().slice(0, 20), total: alerts.length });
    }),
  );

  router.get(
    "/api/auditor/map",
    requireSession(up.sessions),
    handle(async (_req, res) => {
      const key = consumerKey(res);
      const [map, aggregates] = await Promise.all([
        auditorGet(up, "/v1/map", key),
        auditorGet(up, `/v1/aggregates?bucket=hour&grid=${MAP_GRID_DEGREES}&limit=10000`, key),
      ]);
      const latest = new Map<string, { bucket: number }>();
      for (const c of (aggregates?.cells ?? []) as { cell: string; bucket: number }[]) {
        const seen = latest.get(c.cell);
        if (seen === undefined || c.bucket > seen.bucket) latest.set(c.cell, c);
      }
      res.json({ devices: map?.devices ?? [], grid: MAP_GRID_DEGREES, cells: [...latest.values()] });
    }),
  );
}
