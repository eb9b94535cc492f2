/**
 * Platform access from on-chain purchases only: a buyer signs in with the paying wallet (EIP-4361,
 * siwe.ts), the platform reads that wallet's purchases with K confirmations on the reward chain
 * (oracle/market/purchases.ts) and their scopes (checked against the on-chain hash), and hands out a
 * bearer token (`ssa_…`) that opens the read routes for exactly the purchased devices, fields and time
 * window, until the purchase's access ends. Outside the scope or after expiry: 403. No API key is
 * handed out for paid data.
 *
 * Tokens live in the platform's memory (a restart asks buyers to sign in again); only their sha256 is kept.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";

import type { Request, RequestHandler, Router } from "express";
import { getAddress, type Address, type Hex } from "viem";

import { scopeWindow } from "../core/scope.js";
import { readConfirmedPurchases, type PurchaseSourceOptions } from "../market/purchases.js";
import type { ScopeSource } from "../market/scopes.js";
import { handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import { InvalidSiweError, type SiweVerifier } from "./siwe.js";

/** What one confirmed purchase lets its buyer read. */
export interface PurchaseGrant {
  purchaseId: string;
  productId: string;
  /** Lowercase, ascending. */
  devices: Address[];
  fields: string[];
  /** Readings with `from ≤ ts < to` (unix s). */
  from: number;
  to: number;
  /** When access ends (unix s). */
  expiresAt: number;
}

/** Finds the confirmed (K) purchases of a buyer as grants. */
export interface PurchaseLookup {
  grantsOf(buyer: Address): Promise<PurchaseGrant[]>;
}

/**
 * Grants from the reward chain: the buyer's `Purchased` events with K confirmations, each scope
 * fetched and checked against its on-chain hash.
 *
 * @example const lookup = chainPurchaseLookup({ client, market, fromBlock: 0n, confirmations: 2n }, httpScopeSource(url));
 */
export function chainPurchaseLookup(source: PurchaseSourceOptions, scopes: ScopeSource): PurchaseLookup {
  return {
    async grantsOf(buyer) {
      const { purchases } = await readConfirmedPurchases(source, { buyer });
      const grants: PurchaseGrant[] = [];
      for (const p of purchases) {
        // A scope never posted here grants nothing here (listing posts it first: docs/MARKET-SALES.md §1).
        const scope = await scopes.scopeOf(p.scopeHash).catch(() => undefined);
        if (scope === undefined) continue;
        const window = scopeWindow(scope, p.paidAt);
        grants.push({
          purchaseId: p.purchaseId.toString(),
          productId: p.productId.toString(),
          devices: scope.devices,
          fields: scope.fields,
          from: Number(window.from),
          to: Number(window.to),
          expiresAt: Number(p.expiresAt),
        });
      }
      return grants;
    },
  };
}

interface Session {
  address: Address;
  grants: PurchaseGrant[];
  /** The last access end among the grants (unix s). */
  expiresAt: number;
}

/** What a read asks for. */
export interface ReadRequest {
  device: Address;
  /** Inclusive bounds (unix s), as the platform's list route takes them. */
  from?: number;
  to?: number;
  fields?: string[];
}

const TOKEN_RE = /^Bearer (ssa_[A-Za-z0-9_-]{20,100})$/;
/** Most live sessions kept; the oldest are dropped first. */
const MAX_SESSIONS = 50_000;

/** Sessions of signed-in buyers and the checks of their reads. */
export class PurchaseAccess {
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;

  constructor(private readonly o: { siwe: SiweVerifier; lookup: PurchaseLookup; now?: () => number }) {
    this.#now = o.now ?? Date.now;
  }

  /** Checks a sign-in and answers a token for the wallet's live confirmed purchases (403 NO_PURCHASE without). */
  async signIn(message: string, signature: Hex): Promise<{ token: string; address: Address; expiresAt: number; grants: PurchaseGrant[] }> {
    let address: Address;
    try {
      address = await this.o.siwe.verify(message, signature);
    } catch (error) {
      if (error instanceof InvalidSiweError) throw new ServiceError("INVALID_SIWE", error.shortMessage, error.details);
      throw error;
    }
    const now = this.#seconds();
    const grants = (await this.o.lookup.grantsOf(address)).filter((g) => g.expiresAt > now);
    if (grants.length === 0)
      throw new ServiceError("NO_PURCHASE", "this wallet has no confirmed purchase with access running", { address });
    const token = `ssa_${randomBytes(32).toString("base64url")}`;
    const expiresAt = Math.max(...grants.map((g) => g.expiresAt));
    this.#prune(now);
    this.#sessions.set(sha256(token), { address, grants, expiresAt });
    return { token, address, expiresAt, grants };
  }

  /** The session of an `Authorization` header (401 when unknown), with only the grants still running (403 when none). */
  session(authorization: string | undefined): Session {
    const match = TOKEN_RE.exec(authorization ?? "");
    const session = match ? this.#sessions.get(sha256(match[1]!)) : undefined;
    if (session === undefined) throw new ServiceError("UNAUTHORIZED", "unknown or forgotten access token: sign in again");
    const now = this.#seconds();
    const grants = session.grants.filter((g) => g.expiresAt > now);
    if (grants.length === 0)
      throw new ServiceError("NO_PURCHASE", "the purchase's access period has ended", {
        address: session.address,
        expiredAt: session.expiresAt,
      });
    return { ...session, grants };
  }

  /** The grant that covers a read, or 403 OUT_OF_SCOPE naming what is outside. */
  authorize(session: Session, read: ReadRequest): PurchaseGrant {
    const device = read.device.toLowerCase() as Address;
    const forDevice = session.grants.filter((g) => g.devices.includes(device));
    if (forDevice.length === 0)
      throw new ServiceError("OUT_OF_SCOPE", "the device is not in any purchase of this wallet", { device: read.device });
    const fitting = forDevice.find(
      (g) =>
        (read.from === undefined || read.from >= g.from) &&
        (read.to === undefined || read.to < g.to) &&
        (read.fields === undefined || read.fields.every((f) => g.fields.includes(f))),
    );
    if (fitting === undefined)
      throw new ServiceError("OUT_OF_SCOPE", "the time range or fields are outside what was bought", {
        device: read.device,
        bought: forDevice.map((g) => ({ purchaseId: g.purchaseId, from: g.from, toExclusive: g.to, fields: g.fields })),
      });
    return fitting;
  }

  /**
   * Express middleware in front of the read routes: a purchase token (`Bearer ssa_…`) is checked here
   * against the route's device, time range and fields; any other credential goes to `fallback` (API keys).
   * A list read must name `from` and `to` inside the window; a single reading is checked by its time.
   */
  middleware(fallback: RequestHandler, readingTime: (device: Address, seq: number) => Promise<number | undefined>): RequestHandler {
    return (req, res, next) => {
      if (!(req.get("authorization") ?? "").startsWith("Bearer ssa_")) return fallback(req, res, next);
      this.#check(req, readingTime).then(
        (session) => {
          res.locals.apiKey = { id: `siwe:${session.address}`, role: "consumer" };
          next();
        },
        (error: unknown) => next(error),
      );
    };
  }

  async #check(req: Request, readingTime: (device: Address, seq: number) => Promise<number | undefined>): Promise<Session> {
    const session = this.session(req.get("authorization"));
    const raw = String(req.params.device ?? "");
    if (!/^0x[0-9a-fA-F]{40}$/.test(raw)) throw new ServiceError("INVALID_QUERY", "device must be an address", { field: "device" });
    const device = getAddress(raw);
    const fields = typeof req.query.fields === "string" ? req.query.fields.split(",") : undefined;
    if (req.params.seq !== undefined) {
      const seq = Number(req.params.seq);
      const ts = Number.isSafeInteger(seq) && seq > 0 ? await readingTime(device, seq) : undefined;
      // An unknown reading is the route's 404 only within scope: else it would leak what exists.
      this.authorize(session, { device, ...(ts === undefined ? {} : { from: ts, to: ts }), ...(fields ? { fields } : {}) });
      return session;
    }
    if (req.path.endsWith("/readings")) {
      const from = Number(req.query.from);
      const to = Number(req.query.to);
      if (
        typeof req.query.from !== "string" ||
        typeof req.query.to !== "string" ||
        !Number.isSafeInteger(from) ||
        !Number.isSafeInteger(to)
      )
        throw new ServiceError("OUT_OF_SCOPE", "a purchase token reads with from and to inside the purchased window", { device });
      this.authorize(session, { device, from, to, ...(fields ? { fields } : {}) });
      return session;
    }
    this.authorize(session, { device });
    return session;
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #prune(now: number): void {
    for (const [key, s] of this.#sessions) {
      if (s.expiresAt > now && this.#sessions.size < MAX_SESSIONS) break;
      this.#sessions.delete(key);
    }
  }
}

/**
 * Adds the sign-in routes to `router`: `GET /v1/market/siwe/nonce` → `{ nonce, domain, chainId }`,
 * `POST /v1/market/siwe` `{ message, signature }` → `{ token, address, expiresAt, grants }`,
 * `GET /v1/market/access` (token) → `{ address, grants }`.
 */
export function siweRoutes(router: Router, o: { access: PurchaseAccess; siwe: SiweVerifier; domain: string; chainId: number }): void {
  router.get("/v1/market/siwe/nonce", (_req, res) => {
    res.setHeader("Cache-Control", "no-store").json({ nonce: o.siwe.nonce(), domain: o.domain, chainId: o.chainId });
  });
  router.post(
    "/v1/market/siwe",
    handle(async (req, res) => {
      const body = req.body as { message?: unknown; signature?: unknown } | undefined;
      if (typeof body?.message !== "string" || typeof body.signature !== "string")
        throw new ServiceError("INVALID_BODY", "expected { message, signature } strings");
      res.json(await o.access.signIn(body.message, body.signature as Hex));
    }),
  );
  router.get(
    "/v1/market/access",
    handle(async (req, res) => {
      const session = o.access.session(req.get("authorization"));
      res.json({ address: session.address, expiresAt: session.expiresAt, grants: session.grants });
    }),
  );
}

function sha256(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
