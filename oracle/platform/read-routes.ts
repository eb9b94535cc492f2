/**
 * The platform's read routes for API-key holders: a device's readings (paged by time or seq), one
 * reading, its payload as the exact stored bytes, a device's equivocations (`consumer` or `admin`),
 * a bulk lookup of listed (device, seq) with their equivocations (`consumer` or `admin` API key: an
 * auditor's batch of many devices in one request), and store counts (`admin`). Payloads are served
 * verbatim, never re-serialized.
 *
 * @module
 */
import type { Request, RequestHandler, Router } from "express";
import { getAddress, isAddress, type Address } from "viem";
import { z } from "zod";

import { bytesToHex } from "../core/bytes.js";
import { handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import { type ApiKeyring, requireRole } from "./auth.js";
import type { PlatformLimits } from "./platform-options.js";
import type { PlatformStore, StoredEquivocation, StoredReading } from "./store.js";

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

const READ_ROLES = ["consumer", "admin"] as const;
const SEQ_RE = /^[1-9][0-9]{0,15}$/;

/** Adds the consumer read routes (`consumer` or `admin` key) and the admin routes to `router`. */
export function readRoutes(
  router: Router,
  {
    store,
    keyring,
    limits,
    wrapReaders = (apiKeys) => apiKeys,
  }: { store: PlatformStore; keyring: ApiKeyring; limits: PlatformLimits; wrapReaders?: (apiKeys: RequestHandler) => RequestHandler },
): void {
  // Purchase tokens (market SIWE, access-market.ts) are checked in front of the API keys.
  const readers = wrapReaders(requireRole(keyring, READ_ROLES));
  // Built once: a zod schema compiles itself on first use, which costs more than the request.
  const listQuery = listQuerySchema(limits);
  const equivocationQuery = equivocationQuerySchema(limits);

  router.get(
    "/v1/devices/:device/readings",
    readers,
    handle(async (req, res) => {
      const { device, query } = deviceQuery(req, listQuery);
      if (query.from !== undefined && query.to !== undefined && query.from > query.to) {
        throw new ServiceError("INVALID_QUERY", "from must not be after to", { from: query.from, to: query.to });
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
      res.json(readingResponse(await findReading(store, req)));
    }),
  );

  router.get(
    "/v1/devices/:device/readings/:seq/payload",
    readers,
    handle(async (req, res) => {
      const reading = await findReading(store, req);
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
      const { device, query } = deviceQuery(req, equivocationQuery);
      const rows = await store.listEquivocations(device, query);
      res.json({
        device,
        equivocations: rows.map(equivocationResponse),
        nextAfterId: rows.length === query.limit ? rows.at(-1)!.id : null,
      });
    }),
  );

  lookupRoute(router, { store, keyring, limits });

  router.get(
    "/v1/stats",
    requireRole(keyring, ["admin"]),
    handle(async (_req, res) => {
      res.json(await store.counts());
    }),
  );
}

/**
 * `POST /v1/readings/lookup` `{ items: [{ device, seq }, …] }` → the stored readings of those pairs
 * and their equivocations. API keys only: a purchase token's scope is checked per device and time
 * range on the per-device routes.
 */
function lookupRoute(
  router: Router,
  { store, keyring, limits }: { store: PlatformStore; keyring: ApiKeyring; limits: PlatformLimits },
): void {
  const lookupBody = lookupBodySchema(limits);
  router.post(
    "/v1/readings/lookup",
    requireRole(keyring, READ_ROLES),
    handle(async (req, res) => {
      const parsed = lookupBody.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new ServiceError("INVALID_BODY", `${issue.path.join(".") || "body"}: ${issue.message}`, { field: issue.path.join(".") });
      }
      const found = await store.lookup(parsed.data.items);
      res.json({ readings: found.readings.map(readingResponse), equivocations: found.equivocations.map(equivocationResponse) });
    }),
  );
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

/** The JSON of one equivocation: the stored reading and the conflicting one, both verbatim. */
function equivocationResponse(row: StoredEquivocation) {
  return { id: row.id, seq: row.conflicting.seq, stored: readingResponse(row.stored), conflicting: readingResponse(row.conflicting) };
}

async function findReading(store: PlatformStore, req: Request): Promise<StoredReading> {
  const device = deviceParam(req);
  const seqText = String(req.params.seq);
  if (!SEQ_RE.test(seqText) || !Number.isSafeInteger(Number(seqText))) {
    throw new ServiceError("INVALID_QUERY", "seq must be a positive integer", { field: "seq" });
  }
  const reading = await store.getReading(device, Number(seqText));
  if (reading === undefined) throw new ServiceError("NOT_FOUND", "no such reading", { device, seq: Number(seqText) });
  return reading;
}

function deviceParam(req: Request): Address {
  const device = String(req.params.device);
  if (!isAddress(device, { strict: false })) {
    throw new ServiceError("INVALID_QUERY", "device must be an address", { field: "device" });
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

/** `{ items: [{ device, seq }, …] }`, at most a page of pairs. */
function lookupBodySchema(limits: PlatformLimits) {
  return z.object({
    items: z
      .array(
        z.object({
          device: z.string().refine((d) => isAddress(d, { strict: false }), "must be an address"),
          seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
        }),
      )
      .min(1)
      .max(limits.maxPageSize),
  });
}

/** The `:device` path parameter and the parsed query of a paged device route. */
function deviceQuery<S extends z.ZodType>(req: Request, schema: S): { device: Address; query: z.output<S> } {
  return { device: deviceParam(req), query: parseQuery(schema, req) };
}

function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  const parsed = schema.safeParse(req.query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ServiceError("INVALID_QUERY", `query parameter ${issue.path.join(".") || "?"}: ${issue.message}`, {
      field: issue.path.join("."),
    });
  }
  return parsed.data;
}
