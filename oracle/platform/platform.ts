import express, { type Express, type Request, type Router } from "express";
import { getAddress, isAddress, type Address } from "viem";
import { z } from "zod";

import { bytesToHex } from "../core/bytes.js";
import { createServiceApp, handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { RateLimiter } from "../service/rate-limit.js";
import type { SqlDatabase } from "../store/sql.js";
import { ApiKeyring, requireRole, type ApiKeyEntry } from "./auth.js";
import { ReadingVerifier, type DeviceDirectory, type VerifiedReading } from "./ingest.js";
import { PlatformStore, type PutOutcome, type StoredReading } from "./store.js";

/** Sizes, rates and timeouts of a platform; every one has a default. */
export interface PlatformLimits {
  /** Largest request body (express `limit` syntax), single or bulk. */
  bodyLimit: string;
  /** Largest payload of one reading, in UTF-8 bytes. */
  maxPayloadBytes: number;
  /** Most readings in one bulk request. */
  maxBulkItems: number;
  /** Requests per second per client address (token bucket refill). */
  ipRatePerSecond: number;
  /** Requests a client address may burst. */
  ipBurst: number;
  /** Readings accepted per device per minute (quota, counted on validly signed readings). */
  deviceReadingsPerMinute: number;
  /** Readings a device may burst (e.g. an outbox flushing after an outage). */
  deviceBurst: number;
  /** How far past the platform's clock a reading's `ts` may be. */
  maxClockSkewSeconds: number;
  /** Least time between two registry catch-ups forced by readings of devices the index does not know. */
  registryResyncMs: number;
  /** Page size when `limit` is not given, and the largest `limit` accepted. */
  defaultPageSize: number;
  maxPageSize: number;
  /** How long `close()` waits for in-flight requests before closing the store anyway. */
  shutdownTimeoutMs: number;
}

export const DEFAULT_PLATFORM_LIMITS: PlatformLimits = {
  bodyLimit: "1mb",
  maxPayloadBytes: 4096,
  maxBulkItems: 200,
  ipRatePerSecond: 100,
  ipBurst: 200,
  deviceReadingsPerMinute: 120,
  deviceBurst: 120,
  maxClockSkewSeconds: 300,
  registryResyncMs: 1000,
  defaultPageSize: 100,
  maxPageSize: 1000,
  shutdownTimeoutMs: 10_000,
};

export interface PlatformOptions {
  /** The store (SQLite or PostgreSQL); the platform migrates it and closes it in `close()`. */
  store: SqlDatabase;
  /** The audit chain's device registry, indexed (oracle/chain/registry-index.ts). */
  registry: DeviceDirectory;
  /** The EIP-712 domain readings are signed on: audit chain id and ReadingAnchor address. */
  domain: { chainId: number; anchor: Address };
  /** Accepted API keys (hashed), or a keyring made of them. */
  apiKeys: readonly ApiKeyEntry[] | ApiKeyring;
  logger: Logger;
  limits?: Partial<PlatformLimits>;
  /** Express `trust proxy` (set when the platform runs behind a reverse proxy), for per-IP limits. */
  trustProxy?: boolean | number | string;
  /** The clock in ms (tests may pin it). */
  now?: () => number;
}

export interface Platform {
  /** The whole service (createServiceApp): give it to `listen(app, port)`. */
  app: Express;
  /** The platform's own routes. */
  router: Router;
  store: PlatformStore;
  limits: PlatformLimits;
  /** Stops taking work (`/readyz` → 503), waits for in-flight requests, closes the store. */
  close(): Promise<void>;
}

/** The JSON a reader gets for one reading: the payload as the exact stored text. */
export interface ReadingResponse {
  device: Address;
  seq: number;
  ts: number;
  dataHash: `0x${string}`;
  payload: string;
  signature: `0x${string}`;
  receivedAt: string;
}

/** Per-item answer of a bulk submission. */
export type BulkItemResult =
  | { index: number; httpStatus: 200 | 201; status: "stored" | "duplicate"; device: Address; seq: number; dataHash: `0x${string}` }
  | { index: number; httpStatus: number; status: "rejected"; error: { code: string; message: string; details?: Record<string, unknown> } };

const READ_ROLES = ["consumer", "admin"] as const;
const SEQ_RE = /^[1-9][0-9]{0,15}$/;

/**
 * The raw-data platform: accepts validly signed readings of active devices, stores payloads
 * verbatim, serves them byte for byte to API-key holders with the `consumer` or `admin` role.
 *
 * Routes: `POST /v1/readings` (one `{ payload, signature }` or an array of them),
 * `GET /v1/devices/:device/readings?from=&to=&afterSeq=&limit=`, `GET /v1/devices/:device/readings/:seq`,
 * `GET /v1/devices/:device/readings/:seq/payload` (the raw bytes), `GET /v1/devices/:device/equivocations`,
 * `GET /v1/stats` (admin), plus `/healthz` and `/readyz`.
 *
 * @example
 * const platform = await createPlatform({ store: await openDatabase(":memory:"), registry,
 *   domain: { chainId: 31337, anchor }, apiKeys: [], logger: createLogger("platform", "silent") });
 * const server = await listen(platform.app, 0);
 * // … later: stop taking connections, then drain and close the store
 * await server.close(); await platform.close();
 */
export async function createPlatform(options: PlatformOptions): Promise<Platform> {
  const limits: PlatformLimits = { ...DEFAULT_PLATFORM_LIMITS, ...options.limits };
  const { logger } = options;
  const now = options.now ?? Date.now;
  const store = await PlatformStore.open(options.store);
  const keyring = options.apiKeys instanceof ApiKeyring ? options.apiKeys : new ApiKeyring(options.apiKeys);
  const verifier = new ReadingVerifier({
    domain: options.domain,
    registry: options.registry,
    maxPayloadBytes: limits.maxPayloadBytes,
    maxClockSkewSeconds: limits.maxClockSkewSeconds,
    registryResyncMs: limits.registryResyncMs,
    now,
  });
  const quotas = new RateLimiter({ ratePerSecond: limits.deviceReadingsPerMinute / 60, burst: limits.deviceBurst });

  // Draining: requests in flight finish, new ones are refused, then the store closes.
  let draining = false;
  const inFlight = new Set<express.Response>();
  let idle: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  const router = express.Router();
  router.use((req, res, next) => {
    const started = performance.now();
    res.on("finish", () => {
      logger.info(
        {
          method: req.method,
          url: req.originalUrl,
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ip: req.ip,
          apiKey: (res.locals.apiKey as { id?: string } | undefined)?.id,
        },
        "request",
      );
    });
    if (draining) {
      res.setHeader("Connection", "close");
      return next(new ServiceError(503, "SHUTTING_DOWN", "the platform is shutting down"));
    }
    inFlight.add(res);
    res.on("close", () => {
      inFlight.delete(res);
      if (inFlight.size === 0) idle?.();
    });
    next();
  });

  const readers = requireRole(keyring, READ_ROLES);

  router.post(
    "/v1/readings",
    handle(async (req, res) => {
      const body: unknown = req.body;
      if (Array.isArray(body)) {
        const answer = await submitBulk(body);
        if (answer.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(answer.retryAfterSeconds));
        res.status(200).json(answer.body);
        return;
      }
      if (typeof body !== "object" || body === null) {
        throw new ServiceError(400, "INVALID_JSON", "expected a JSON object or array body (Content-Type: application/json)");
      }
      const verified = await verifier.verify(body);
      chargeQuota(verified);
      const [outcome] = await store.putReadings([toStored(verified)]);
      const { status, body: answer } = single(outcome!);
      res.status(status).json(answer);
    }),
  );

  router.get(
    "/v1/devices/:device/readings",
    readers,
    handle(async (req, res) => {
      const device = deviceParam(req);
      const query = parseQuery(listQuerySchema(limits), req);
      if (query.from !== undefined && query.to !== undefined && query.from > query.to) {
        throw new ServiceError(400, "INVALID_QUERY", "from must not be after to", { from: query.from, to: query.to });
      }
      const readings = await store.listReadings(device, query);
      res.json({
        device,
        readings: readings.map(readingResponse),
        nextAfterSeq: readings.length === query.limit ? readings.at(-1)!.seq : null,
      });
    }),
  );

  router.get(
    "/v1/devices/:device/readings/:seq",
    readers,
    handle(async (req, res) => {
      res.json(readingResponse(await findReading(req)));
    }),
  );

  router.get(
    "/v1/devices/:device/readings/:seq/payload",
    readers,
    handle(async (req, res) => {
      const reading = await findReading(req);
      res
        .status(200)
        .type("application/json")
        .setHeader("X-SensorSeal-Signature", bytesToHex(reading.signature))
        .setHeader("X-SensorSeal-Data-Hash", bytesToHex(reading.dataHash))
        .end(Buffer.from(reading.payload.buffer, reading.payload.byteOffset, reading.payload.byteLength));
    }),
  );

  router.get(
    "/v1/devices/:device/equivocations",
    readers,
    handle(async (req, res) => {
      const device = deviceParam(req);
      const query = parseQuery(equivocationQuerySchema(limits), req);
      const rows = await store.listEquivocations(device, query);
      res.json({
        device,
        equivocations: rows.map((row) => ({
          id: row.id,
          seq: row.conflicting.seq,
          stored: readingResponse(row.stored),
          conflicting: readingResponse(row.conflicting),
        })),
        nextAfterId: rows.length === query.limit ? rows.at(-1)!.id : null,
      });
    }),
  );

  router.get(
    "/v1/stats",
    requireRole(keyring, ["admin"]),
    handle(async (_req, res) => {
      res.json(await store.counts());
    }),
  );

  function chargeQuota(verified: VerifiedReading): void {
    const wait = quotas.take(verified.reading.device, 1, now());
    if (wait > 0) {
      throw new ServiceError(429, "DEVICE_QUOTA_EXCEEDED", "device reading quota exceeded", {
        device: verified.reading.device,
        readingsPerMinute: limits.deviceReadingsPerMinute,
        retryAfterSeconds: wait,
      });
    }
  }

  function toStored(verified: VerifiedReading): StoredReading {
    const { reading } = verified;
    return {
      device: reading.device.toLowerCase(),
      seq: Number(reading.seq),
      ts: Number(reading.timestamp),
      dataHash: hexBytes(reading.dataHash),
      payload: verified.payload,
      signature: verified.signature,
      receivedAt: now(),
    };
  }

  function single(outcome: PutOutcome): { status: number; body: unknown } {
    const r = outcome.reading;
    switch (outcome.outcome) {
      case "stored":
        logger.debug({ device: r.device, seq: r.seq }, "reading stored");
        return { status: 201, body: { status: "stored", ...summary(r) } };
      case "duplicate":
        return { status: 200, body: { status: "duplicate", ...summary(r) } };
      case "conflict": {
        const details = {
          device: getAddress(r.device),
          seq: r.seq,
          storedDataHash: bytesToHex(outcome.existing.dataHash),
          conflictingDataHash: bytesToHex(r.dataHash),
        };
        logger.warn({ event: "equivocation", ...details }, "equivocation: device signed two payloads for one seq");
        throw new ServiceError(409, "SEQUENCE_CONFLICT", "another payload is stored for this device and seq", details);
      }
    }
  }

  async function submitBulk(items: unknown[]): Promise<{ body: unknown; retryAfterSeconds?: number }> {
    if (items.length === 0) throw new ServiceError(400, "INVALID_PAYLOAD", "empty bulk submission");
    if (items.length > limits.maxBulkItems) {
      throw new ServiceError(413, "PAYLOAD_TOO_LARGE", `at most ${limits.maxBulkItems} readings per request`, {
        items: items.length,
        maxItems: limits.maxBulkItems,
      });
    }
    const results: BulkItemResult[] = new Array(items.length);
    const accepted: { index: number; reading: StoredReading }[] = [];
    let retryAfterSeconds: number | undefined;
    for (const [index, item] of items.entries()) {
      try {
        const verified = await verifier.verify(item);
        chargeQuota(verified);
        accepted.push({ index, reading: toStored(verified) });
      } catch (error) {
        const rejected = rejection(index, error);
        if (rejected.error.code === "DEVICE_QUOTA_EXCEEDED") {
          retryAfterSeconds = Math.max(retryAfterSeconds ?? 0, Number(rejected.error.details?.retryAfterSeconds ?? 1));
        }
        results[index] = rejected;
      }
    }
    const outcomes = accepted.length > 0 ? await store.putReadings(accepted.map((a) => a.reading)) : [];
    for (const [i, outcome] of outcomes.entries()) {
      const { index } = accepted[i]!;
      try {
        const { status } = single(outcome);
        const r = outcome.reading;
        results[index] = {
          index,
          httpStatus: status as 200 | 201,
          status: outcome.outcome as "stored" | "duplicate",
          device: getAddress(r.device),
          seq: r.seq,
          dataHash: bytesToHex(r.dataHash),
        };
      } catch (error) {
        results[index] = rejection(index, error);
      }
    }
    const count = (status: BulkItemResult["status"]) => results.filter((r) => r.status === status).length;
    return {
      body: { results, stored: count("stored"), duplicates: count("duplicate"), rejected: count("rejected") },
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  }

  async function findReading(req: Request): Promise<StoredReading> {
    const device = deviceParam(req);
    const seqText = String(req.params.seq);
    if (!SEQ_RE.test(seqText) || !Number.isSafeInteger(Number(seqText))) {
      throw new ServiceError(400, "INVALID_QUERY", "seq must be a positive integer", { field: "seq" });
    }
    const reading = await store.getReading(device, Number(seqText));
    if (reading === undefined) throw new ServiceError(404, "NOT_FOUND", "no such reading", { device, seq: Number(seqText) });
    return reading;
  }

  const app = createServiceApp({
    name: "platform",
    logger,
    router,
    bodyLimit: limits.bodyLimit,
    rateLimit: { ratePerSecond: limits.ipRatePerSecond, burst: limits.ipBurst },
    ready: async () => !draining && (await store.ping()),
  });
  if (options.trustProxy !== undefined) app.set("trust proxy", options.trustProxy);

  return {
    app,
    router,
    store,
    limits,
    close() {
      closing ??= (async () => {
        draining = true;
        // Connections of the requests in flight close after their answer, so the listener can close.
        for (const res of inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
        if (inFlight.size > 0) {
          const drained = new Promise<boolean>((resolve) => {
            idle = () => resolve(true);
          });
          const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), limits.shutdownTimeoutMs).unref());
          if (!(await Promise.race([drained, timedOut]))) {
            logger.warn({ inFlight: inFlight.size }, "shutdown timeout: closing the store with requests in flight");
          }
        }
        await store.close();
        logger.info("platform closed");
      })();
      return closing;
    },
  };
}

function summary(r: StoredReading) {
  return {
    device: getAddress(r.device),
    seq: r.seq,
    ts: r.ts,
    dataHash: bytesToHex(r.dataHash),
    receivedAt: new Date(r.receivedAt).toISOString(),
  };
}

/**
 * A stored reading as served: the payload as the exact stored text (valid UTF-8: it passed the
 * canonical check), never re-serialized.
 *
 * @example readingResponse(stored).payload === new TextDecoder().decode(stored.payload); // true
 */
export function readingResponse(r: StoredReading): ReadingResponse {
  return {
    device: getAddress(r.device),
    seq: r.seq,
    ts: r.ts,
    dataHash: bytesToHex(r.dataHash),
    payload: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength).toString("utf8"),
    signature: bytesToHex(r.signature),
    receivedAt: new Date(r.receivedAt).toISOString(),
  };
}

function rejection(index: number, error: unknown): Extract<BulkItemResult, { status: "rejected" }> {
  if (!(error instanceof ServiceError) || error.status >= 500) throw error;
  return { index, httpStatus: error.status, status: "rejected", error: error.toJSON().error };
}

function hexBytes(hex: `0x${string}`): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), "hex"));
}

function deviceParam(req: Request): Address {
  const device = String(req.params.device);
  if (!isAddress(device, { strict: false })) {
    throw new ServiceError(400, "INVALID_QUERY", "device must be an address", { field: "device" });
  }
  return getAddress(device);
}

const uint = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, "must be a non-negative integer")
  .transform(Number)
  .refine(Number.isSafeInteger, "too large");

function listQuerySchema(limits: PlatformLimits) {
  return z.object({
    from: uint.optional(),
    to: uint.optional(),
    afterSeq: uint.optional(),
    limit: uint.pipe(z.number().int().min(1).max(limits.maxPageSize)).default(limits.defaultPageSize),
  });
}

function equivocationQuerySchema(limits: PlatformLimits) {
  return z.object({
    afterId: uint.optional(),
    limit: uint.pipe(z.number().int().min(1).max(limits.maxPageSize)).default(limits.defaultPageSize),
  });
}

function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  const parsed = schema.safeParse(req.query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ServiceError(400, "INVALID_QUERY", `query parameter ${issue.path.join(".") || "?"}: ${issue.message}`, {
      field: issue.path.join("."),
    });
  }
  return parsed.data;
}

