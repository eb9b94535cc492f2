// Test helper (no side effects on import): a stand-in platform or relayer on 127.0.0.1 that
// records what it is sent, can be taken down and brought back on the same port, and answers
// exactly what the real service answers (statuses, codes from oracle/core/error-codes.ts, success
// bodies, Retry-After). test/device/service-contract.test.ts proves it: the same cases run against
// this fake and against the real platform and relayer.
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import express from "express";
import { getAddress, keccak256, toBytes, type Address, type Hex } from "viem";

import { ERROR_STATUS, type ErrorCode } from "../../oracle/core/error-codes.js";
import { verifyDeviceSignature, type KeyScheme } from "../../oracle/core/keys.js";
import { ReadingDigester } from "../../oracle/core/reading.js";

/** Which real service the fake stands in for. */
export type ServiceKind = "platform" | "relayer";

/** How the fake answers one request: a status and a JSON body, optional headers. */
export type FakeAnswer = { status: number; body?: unknown; headers?: Record<string, string> };

/**
 * What the service is doing besides its normal work:
 * - `shutting-down`: 503 SHUTTING_DOWN (the relayer adds Retry-After: 5, the platform none);
 * - `rate-limited`: 429 RATE_LIMITED, Retry-After: 1 (the per-client rate limit of both);
 * - `overloaded`: 429 OVERLOADED, Retry-After: 1 (the relayer's load shedding; the platform has none).
 */
export type FakeMode = "ok" | "shutting-down" | "rate-limited" | "overloaded";

/** A device the fake's registry knows. */
export type FakeDevice = { scheme: KeyScheme; publicKey: Uint8Array; status: "active" | "suspended" | "revoked" };

export type FakeServiceOptions = {
  kind: ServiceKind;
  /** Decides the answer before the default behaviour; return undefined for the default. */
  answer?: (body: Record<string, unknown>, key: string) => FakeAnswer | undefined;
  /**
   * With a domain, the fake checks readings like the real service: devices must be in
   * {@link FakeService.devices} (else UNKNOWN_DEVICE), signatures must verify on this domain.
   * Without one it takes any device and signature (the delivery tests send made-up ones).
   */
  domain?: { chainId: number; anchor: Address };
  /** Largest accepted `ts − now`, seconds (both services default to 300). */
  maxClockSkewSeconds?: number;
  /** Readings a device may send before 429 DEVICE_QUOTA_EXCEEDED (default unlimited). */
  deviceQuota?: number;
};

/** Signer of the fake relayer's receipts (a made-up address: receipts are not verified against it). */
export const FAKE_RECEIPT_SIGNER: Address = "0x00000000000000000000000000000000000FacE5";

/**
 * The error answer a real service gives for `code`: the status from the one code table, the one
 * JSON error shape, and Retry-After where the service sets it (429 with `retryAfterSeconds`, the
 * relayer's 503 SHUTTING_DOWN: 5, its OVERLOADED: 1).
 */
export function errorAnswer(kind: ServiceKind, code: ErrorCode, message: string, details?: Record<string, unknown>): FakeAnswer {
  const status = ERROR_STATUS[code];
  const headers: Record<string, string> = {};
  const retryAfter = details?.retryAfterSeconds;
  if (status === 429 && retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
  if (code === "SHUTTING_DOWN") {
    if (kind === "relayer") headers["retry-after"] = "5";
    else headers.connection = "close";
  }
  return { status, headers, body: { error: { code, message, ...(details === undefined ? {} : { details }) } } };
}

/** A reading as the fake reads it from either service's body. */
type FakeReading = { device: Address; seq: number; ts: number; dataHash: Hex; signature: Hex };
type Stored = FakeReading & { receivedAt: string };

function readingOf(kind: ServiceKind, body: Record<string, unknown>): FakeReading {
  if (kind === "platform") {
    const text = String(body.payload);
    const payload = JSON.parse(text) as { device: string; seq: number; ts: number };
    return {
      device: getAddress(payload.device),
      seq: payload.seq,
      ts: payload.ts,
      dataHash: keccak256(toBytes(text)),
      signature: body.signature as Hex,
    };
  }
  return {
    device: getAddress(String(body.device)),
    seq: Number(body.seq),
    ts: Number(body.timestamp),
    dataHash: String(body.dataHash).toLowerCase() as Hex,
    signature: String(body.signature).toLowerCase() as Hex,
  };
}

/** The real services' success bodies: the platform's reading summary, the relayer's queued receipt. */
function acceptedAnswer(kind: ServiceKind, stored: Stored, duplicate: boolean): FakeAnswer {
  if (kind === "platform") {
    const { device, seq, ts, dataHash, receivedAt } = stored;
    return { status: duplicate ? 200 : 201, body: { status: duplicate ? "duplicate" : "stored", device, seq, ts, dataHash, receivedAt } };
  }
  const receipt = {
    device: stored.device,
    seq: String(stored.seq),
    dataHash: stored.dataHash,
    deadline: String(stored.ts + 86_400),
    signature: `0x${"00".repeat(65)}`,
    signer: FAKE_RECEIPT_SIGNER,
  };
  return { status: 202, body: { status: "queued", duplicate, receipt } };
}

/**
 * A fake `POST /v1/readings` service. By default it stores the first reading of a (device, seq)
 * and answers like the real service: a resend of the same reading is a 2xx duplicate, another
 * reading under a stored seq 409 SEQUENCE_CONFLICT, an unseen seq accepted in any order (each
 * (device, seq) once); with a `domain`, the registry and signature checks too.
 */
export class FakeService {
  readonly kind: ServiceKind;
  readonly accepted: Record<string, unknown>[] = [];
  readonly acceptedKeys: string[] = [];
  /** Every request received, in order, with the status answered. */
  readonly log: { key: string; status: number; at: number }[] = [];
  /** The registry (used with a `domain`), by checksummed address. */
  readonly devices = new Map<Address, FakeDevice>();
  mode: FakeMode = "ok";
  answer: FakeServiceOptions["answer"];
  readonly #options: FakeServiceOptions;
  readonly #digester: ReadingDigester | undefined;
  readonly #stored = new Map<string, Stored>();
  readonly #charged = new Map<Address, number>();
  #server: Server | undefined;
  port = 0;

  constructor(options: FakeServiceOptions) {
    this.kind = options.kind;
    this.answer = options.answer;
    this.#options = options;
    this.#digester = options.domain === undefined ? undefined : new ReadingDigester(options.domain.chainId, options.domain.anchor);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get listening(): boolean {
    return this.#server !== undefined;
  }

  /** The answer to one reading, in the order the real service checks. */
  #decide(body: Record<string, unknown>, key: string): FakeAnswer {
    const kind = this.kind;
    const modeAnswer = this.#modeAnswer();
    if (modeAnswer !== undefined) return modeAnswer;
    const custom = this.answer?.(body, key);
    if (custom !== undefined) return custom;
    const r = readingOf(kind, body);
    const now = Math.floor(Date.now() / 1000);
    const skew = this.#options.maxClockSkewSeconds ?? 300;
    if (r.ts > now + skew)
      return errorAnswer(kind, "FUTURE_TIMESTAMP", "reading timestamp is in the future", { timestamp: String(r.ts), now: String(now) });
    const identity = this.#identityRefusal(r);
    if (identity !== undefined) return identity;
    const stored = this.#stored.get(key);
    const sameReading = stored !== undefined && stored.dataHash === r.dataHash && stored.ts === r.ts;
    const blocked = this.#statusRefusal(r) ?? this.#chargeQuota(r.device);
    if (blocked !== undefined) {
      // The relayer answers an authentic resend of an accepted reading with its receipt even when
      // the registry or the quota refuses new ones; the platform refuses it like a new one.
      if (kind === "relayer" && sameReading) return acceptedAnswer(kind, stored, true);
      return blocked;
    }
    if (sameReading) return acceptedAnswer(kind, stored, true);
    if (stored !== undefined) {
      return errorAnswer(kind, "SEQUENCE_CONFLICT", "another reading is stored for this device and seq", { device: r.device, seq: r.seq });
    }
    // Each (device, seq) once, in any order (docs/TRUST-MODEL.md §7): a lower unseen seq is accepted.
    const entry: Stored = { ...r, receivedAt: new Date().toISOString() };
    this.#stored.set(key, entry);
    return acceptedAnswer(kind, entry, false);
  }

  /** Holds `body` as if it had been accepted earlier (not counted in `accepted`): its resend is a duplicate. */
  preload(body: Record<string, unknown>): void {
    const r = readingOf(this.kind, body);
    this.#stored.set(keyOf(this.kind, body), { ...r, receivedAt: new Date().toISOString() });
  }

  #chargeQuota(device: Address): FakeAnswer | undefined {
    const quota = this.#options.deviceQuota;
    const charged = this.#charged.get(device) ?? 0;
    if (quota !== undefined && charged >= quota) {
      return errorAnswer(this.kind, "DEVICE_QUOTA_EXCEEDED", "device reading quota exceeded", { device, retryAfterSeconds: 1 });
    }
    this.#charged.set(device, charged + 1);
    return undefined;
  }

  #modeAnswer(): FakeAnswer | undefined {
    switch (this.mode) {
      case "ok":
        return undefined;
      case "shutting-down":
        return errorAnswer(this.kind, "SHUTTING_DOWN", `the ${this.kind} is shutting down`);
      case "rate-limited":
        return errorAnswer(this.kind, "RATE_LIMITED", "too many requests", { retryAfterSeconds: 1 });
      case "overloaded":
        if (this.kind === "platform") return errorAnswer(this.kind, "INTERNAL", "fake: the platform has no OVERLOADED answer");
        return errorAnswer(this.kind, "OVERLOADED", "the relayer is overloaded; retry later", {
          reason: "in_flight",
          retryAfterSeconds: 1,
        });
    }
  }

  /** With a domain: UNKNOWN_DEVICE or INVALID_SIGNATURE (the reading is not the device's), or nothing. */
  #identityRefusal(r: FakeReading): FakeAnswer | undefined {
    if (this.#digester === undefined) return undefined;
    const device = this.devices.get(r.device);
    if (device === undefined) return errorAnswer(this.kind, "UNKNOWN_DEVICE", "device is not in the registry", { device: r.device });
    let valid = false;
    try {
      const digest = this.#digester.digest({ device: r.device, seq: BigInt(r.seq), timestamp: BigInt(r.ts), dataHash: r.dataHash });
      valid = verifyDeviceSignature({ scheme: device.scheme, publicKey: device.publicKey, digest, signature: toBytes(r.signature) });
    } catch {
      valid = false; // malformed for the device's scheme
    }
    if (valid) return undefined;
    return errorAnswer(this.kind, "INVALID_SIGNATURE", "signature does not verify for the device's registered key", { device: r.device });
  }

  /** With a domain: DEVICE_REVOKED or DEVICE_NOT_ACTIVE for an authentic reading, or nothing. */
  #statusRefusal(r: FakeReading): FakeAnswer | undefined {
    const device = this.#digester === undefined ? undefined : this.devices.get(r.device);
    if (device?.status === "revoked") return errorAnswer(this.kind, "DEVICE_REVOKED", "device is revoked", { device: r.device });
    if (device?.status === "suspended") {
      return errorAnswer(this.kind, "DEVICE_NOT_ACTIVE", "device was Suspended at the reading's timestamp", { device: r.device });
    }
    return undefined;
  }

  #app(): express.Express {
    const app = express();
    app.use(express.json({ limit: "64kb" }));
    app.post("/v1/readings", (req, res) => {
      const body = req.body as Record<string, unknown>;
      const key = keyOf(this.kind, body);
      const answer = this.#decide(body, key);
      if (answer.status >= 200 && answer.status < 300 && !this.acceptedKeys.includes(key)) {
        this.accepted.push(body);
        this.acceptedKeys.push(key);
      }
      this.log.push({ key, status: answer.status, at: Date.now() });
      for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
      res.status(answer.status).json(answer.body ?? {});
    });
    return app;
  }

  /** Starts listening (on the previous port if it had one, else an ephemeral one). */
  async start(): Promise<void> {
    if (this.#server) return;
    const server = this.#app().listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops open connections: the port refuses connections until `start`. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

/** Reserves a free port on 127.0.0.1 and releases it (nothing listens there afterwards). */
export async function freePort(): Promise<number> {
  const server = express().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The reading key (`device|seq`) of a request body to `kind`. */
export function keyOf(kind: ServiceKind, body: Record<string, unknown>): string {
  return kind === "platform" ? platformKey(body) : relayerKey(body);
}

export function platformKey(body: Record<string, unknown>): string {
  const payload = JSON.parse(String(body.payload)) as { device: string; seq: number };
  return `${getAddress(payload.device)}|${payload.seq}`;
}

export function relayerKey(body: Record<string, unknown>): string {
  return `${getAddress(String(body.device))}|${String(body.seq)}`;
}

/** A fake platform and relayer, both down until started. */
export async function fakeServices(
  options: Omit<FakeServiceOptions, "kind"> = {},
): Promise<{ platform: FakeService; relayer: FakeService }> {
  const platform = new FakeService({ ...options, kind: "platform" });
  const relayer = new FakeService({ ...options, kind: "relayer" });
  platform.port = await freePort();
  relayer.port = await freePort();
  return { platform, relayer };
}
