/**
 * The auditor's HTTP API. `/v1/status` and `/metrics` are open (no data in them); everything else
 * needs an API key (`consumer` or `admin`, the platform's key file format), and every query is
 * validated (400 INVALID_QUERY / INVALID_ADDRESS). Only VERIFIED readings are served as data.
 *
 * @module
 */
import { Router, type Request, type RequestHandler } from "express";
import { getAddress, isAddress } from "viem";
import { z } from "zod";

import { aqi } from "../core/aqi.js";
import { requireRole, type ApiKeyring } from "../platform/auth.js";
import { handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import { PROMETHEUS_CONTENT_TYPE } from "../service/metrics.js";
import type { Auditor } from "./auditor.js";
import { bundleRoutes } from "./bundle-routes.js";
import { exportRows } from "./exports.js";
import type { AuditorMetrics } from "./metrics.js";
import { QUALITY_RULES_VERSION, qualityFlags, type QualityInput } from "./quality.js";
import type { AggregateRow, AuditorStore, VerdictRow } from "./store.js";

const uint = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, "must be a non-negative integer")
  .transform(Number);
const devices = z
  .string()
  .max(43 * 200)
  .transform((s, ctx) => {
    const list = s.split(",").filter((d) => d !== "");
    const bad = list.find((d) => !isAddress(d, { strict: false }));
    if (bad !== undefined) {
      ctx.addIssue({ code: "custom", message: `${bad.slice(0, 50)} is not an address` });
      return z.NEVER;
    }
    return list.map((d) => getAddress(d).toLowerCase());
  });
const bbox = z.string().transform((s, ctx) => {
  const n = s.split(",").map(Number);
  if (n.length !== 4 || n.some((x) => !Number.isFinite(x)) || n[0] > n[2] || n[1] > n[3] || Math.abs(n[0]) > 90 || Math.abs(n[2]) > 90) {
    ctx.addIssue({ code: "custom", message: "bbox is minLat,minLon,maxLat,maxLon" });
    return z.NEVER;
  }
  return { minLat: n[0], minLon: n[1], maxLat: n[2], maxLon: n[3] };
});
const range = { from: uint.optional(), to: uint.optional() };
const limit = (max: number, fallback: number) => uint.pipe(z.number().int().min(1).max(max)).default(fallback);
const readingsQuery = z.strictObject({ device: devices.optional(), ...range, bbox: bbox.optional(), limit: limit(5000, 1000) });
const verdictsQuery = z.strictObject({
  device: devices.optional(),
  ...range,
  status: z
    .string()
    .regex(/^[A-Z_]{3,32}$/)
    .optional(),
  limit: limit(5000, 1000),
});
const aggregatesQuery = z.strictObject({
  device: devices.optional(),
  ...range,
  bucket: z.enum(["hour", "day"]).default("hour"),
  grid: z.coerce.number().positive().max(10).optional(),
  limit: limit(10_000, 2000),
});
/** `/v1/export` and `/v1/export/bundles`: a device set, a time range, a format. */
const exportQuery = z.strictObject({
  device: devices,
  ...range,
  format: z.enum(["csv", "jsonl"]).default("jsonl"),
  limit: limit(100_000, 10_000),
});

/** The verified rows an export selects (`/v1/export` and its bundles: the same rows). */
function exportedVerdicts(store: AuditorStore, q: z.output<typeof exportQuery>): Promise<VerdictRow[]> {
  return store.verdicts({
    devices: q.device,
    ...(q.from === undefined ? {} : { from: q.from }),
    ...(q.to === undefined ? {} : { to: q.to }),
    status: "VERIFIED",
    limit: q.limit,
  });
}

/** Validates a query (400 INVALID_QUERY naming the field). */
function parse<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  const parsed = schema.safeParse(req.query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".");
    throw new ServiceError(field === "device" ? "INVALID_ADDRESS" : "INVALID_QUERY", `${field || "query"}: ${issue.message}`, { field });
  }
  const q = parsed.data as { from?: number; to?: number };
  if (q.from !== undefined && q.to !== undefined && q.from > q.to)
    throw new ServiceError("INVALID_QUERY", "from must not be after to", { field: "from" });
  return parsed.data;
}

/** A verified reading as served, with its quality flags. */
function readingJson(v: VerdictRow, flags: string[]) {
  return {
    device: getAddress(v.device),
    seq: v.seq,
    ts: v.ts,
    pm2_5_ugm3: v.pm25,
    pm10_ugm3: v.pm10,
    temperature_c: v.temperature,
    humidity_pct: v.humidity,
    loc: v.lat === null || v.lon === null ? null : { lat: v.lat, lon: v.lon },
    batchId: v.batchId,
    dataHash: v.dataHash,
    quality: { version: QUALITY_RULES_VERSION, flags },
  };
}

/** Quality flags over a device-ordered page: the device's previous rows and other devices' PM2.5 in the same hour. */
export function withQuality(rows: readonly VerdictRow[]): { row: VerdictRow; flags: string[] }[] {
  const byHour = new Map<number, { device: string; pm25: number }[]>();
  for (const r of rows)
    if (r.ts !== null && r.pm25 !== null)
      byHour.set(Math.floor(r.ts / 3600), [...(byHour.get(Math.floor(r.ts / 3600)) ?? []), { device: r.device, pm25: r.pm25 }]);
  const previous: QualityInput[] = [];
  return rows.map((r, i) => {
    if (i > 0 && rows[i - 1].device !== r.device) previous.length = 0;
    const neighbours =
      r.ts === null ? [] : (byHour.get(Math.floor(r.ts / 3600)) ?? []).filter((n) => n.device !== r.device).map((n) => n.pm25);
    const flags = qualityFlags(r, previous, neighbours);
    previous.push(r);
    return { row: r, flags };
  });
}

function withAqi(a: AggregateRow | (Omit<AggregateRow, "device"> & { cell: string })) {
  return { ...a, aqi: { china: aqi("china", a) ?? null, us: aqi("us", a) ?? null } };
}

/** Averages per grid cell (cell = floor(lat/size), floor(lon/size)) from per-device averages, weighted by count. */
function gridCells(rows: readonly AggregateRow[], size: number) {
  const cells = new Map<
    string,
    { cell: string; bucket: number; n: number; sums: Record<string, number>; counts: Record<string, number> }
  >();
  for (const r of rows) {
    if (r.lat === null || r.lon === null) continue;
    const cell = `${Math.floor(r.lat / size)}:${Math.floor(r.lon / size)}`;
    const k = `${cell}@${r.bucket}`;
    const c = cells.get(k) ?? { cell, bucket: r.bucket, n: 0, sums: {}, counts: {} };
    c.n += r.n;
    for (const f of ["pm25", "pm10", "temperature", "humidity", "lat", "lon"] as const)
      if (r[f] !== null) {
        c.sums[f] = (c.sums[f] ?? 0) + r[f]! * r.n;
        c.counts[f] = (c.counts[f] ?? 0) + r.n;
      }
    cells.set(k, c);
  }
  const avg = (c: { sums: Record<string, number>; counts: Record<string, number> }, f: string) =>
    c.counts[f] ? c.sums[f] / c.counts[f] : null;
  return [...cells.values()].map((c) =>
    withAqi({
      cell: c.cell,
      bucket: c.bucket,
      n: c.n,
      pm25: avg(c, "pm25"),
      pm10: avg(c, "pm10"),
      temperature: avg(c, "temperature"),
      humidity: avg(c, "humidity"),
      pm25Max: null,
      lat: avg(c, "lat"),
      lon: avg(c, "lon"),
    }),
  );
}

/**
 * @example app.use(auditorRouter({ store, auditor, keyring, metrics }));
 */
export function auditorRouter(d: {
  store: AuditorStore;
  auditor: Auditor;
  keyring: ApiKeyring;
  metrics: AuditorMetrics;
  staleAfterMs: number;
}): Router {
  const router = Router();
  const readers = requireRole(d.keyring, ["consumer", "admin"]);

  router.get("/metrics", (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(d.metrics.registry.render());
  });

  router.get(
    "/v1/status",
    handle(async (_req, res) => {
      const summary = await d.store.summary();
      const p = d.auditor.progress;
      const stale = p.lastPollAt === null || Date.now() - p.lastPollAt > d.staleAfterMs || p.lastError !== null;
      const checked = Object.values(summary.verdicts).reduce((a, b) => a + b, 0);
      res.json({
        stale,
        lastPollAt: p.lastPollAt === null ? null : new Date(p.lastPollAt).toISOString(),
        lastError: p.lastError,
        head: p.head,
        cursor: p.cursor,
        verdicts: summary.verdicts,
        verifiedPercent: checked === 0 ? null : Math.round((10_000 * (summary.verdicts.VERIFIED ?? 0)) / checked) / 100,
        work: summary.work,
        unchecked: summary.unchecked,
        alerts: summary.alerts,
      });
    }),
  );

  dataRoutes(router, d.store, readers);
  bundleRoutes(router, d.auditor, readers, (req) => exportedVerdicts(d.store, parse(exportQuery, req)));

  router.post(
    "/v1/reverify",
    requireRole(d.keyring, ["admin"]),
    handle(async (req, res) => {
      const body = z
        .strictObject({ kind: z.enum(["batch", "direct"]).optional(), ref: z.string().max(100).optional() })
        .safeParse(req.body ?? {});
      if (!body.success) throw new ServiceError("INVALID_BODY", body.error.issues[0]!.message);
      res.json({ requeued: await d.store.requeue(body.data) });
    }),
  );
  return router;
}

/** The verified-data routes (readings, verdicts, aggregates, map, alerts, exports). */
// eslint-disable-next-line max-lines-per-function -- one route table, each handler a few lines
function dataRoutes(router: Router, store: AuditorStore, readers: RequestHandler): void {
  const d = { store };
  router.get(
    "/v1/readings",
    readers,
    handle(async (req, res) => {
      const q = parse(readingsQuery, req);
      const rows = await d.store.verdicts({ ...q, ...(q.device === undefined ? {} : { devices: q.device }), status: "VERIFIED" });
      res.json({ qualityRules: QUALITY_RULES_VERSION, readings: withQuality(rows).map(({ row, flags }) => readingJson(row, flags)) });
    }),
  );

  router.get(
    "/v1/verdicts",
    readers,
    handle(async (req, res) => {
      const q = parse(verdictsQuery, req);
      const rows = await d.store.verdicts({ ...q, ...(q.device === undefined ? {} : { devices: q.device }) });
      res.json({
        verdicts: rows.map((v) => ({
          device: getAddress(v.device),
          seq: v.seq,
          source: v.source,
          ts: v.ts,
          status: v.status,
          problems: v.problems === null ? [] : JSON.parse(v.problems),
          batchId: v.batchId,
        })),
      });
    }),
  );

  router.get(
    "/v1/aggregates",
    readers,
    handle(async (req, res) => {
      const q = parse(aggregatesQuery, req);
      const rows = await d.store.aggregates({
        ...q,
        ...(q.device === undefined ? {} : { devices: q.device }),
        bucket: q.bucket === "day" ? 86400 : 3600,
      });
      res.json(
        q.grid === undefined
          ? { bucket: q.bucket, devices: rows.map(withAqi) }
          : { bucket: q.bucket, grid: q.grid, cells: gridCells(rows, q.grid) },
      );
    }),
  );

  router.get(
    "/v1/map",
    readers,
    handle(async (_req, res) => {
      const latest = await d.store.latestByDevice();
      res.json({
        devices: latest.map((l) => ({
          ...l,
          device: getAddress(l.device),
          health: Number(l.bad) === 0 ? "ok" : "problems",
          aqi: { china: aqi("china", l) ?? null, us: aqi("us", l) ?? null },
        })),
      });
    }),
  );

  router.get(
    "/v1/alerts",
    readers,
    handle(async (req, res) => {
      const q = parse(z.strictObject({ limit: limit(1000, 100), afterId: uint.optional() }), req);
      const rows = await d.store.alerts(q);
      res.json({ alerts: rows.map((a) => ({ ...a, details: a.details === null ? null : JSON.parse(a.details) })) });
    }),
  );

  router.get(
    "/v1/export",
    readers,
    handle(async (req, res) => {
      const q = parse(exportQuery, req);
      const rows = await exportedVerdicts(d.store, q);
      res.type(q.format === "csv" ? "text/csv" : "application/x-ndjson").send(
        exportRows(
          withQuality(rows).map(({ row, flags }) => readingJson(row, flags)),
          q.format,
        ),
      );
    }),
  );
}
