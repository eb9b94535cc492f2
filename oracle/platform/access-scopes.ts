/**
 * The platform's market scopes: the operator posts a scope before listing its product (it is refused
 * here if malformed or if it names a device the registry does not know), the platform keeps its
 * canonical bytes by hash, and anyone reads them back by hash (`GET /v1/market/scopes/:hash`) to check
 * them against the product's on-chain `scopeHash`.
 *
 * @module
 */
import type { Router } from "express";
import { isHex, type Address, type Hex } from "viem";

import { keccak256Hex } from "../core/keccak.js";
import { assertScopeDevicesKnown, normalizeScope, scopeBytes, type Scope } from "../core/scope.js";
import { SensorSealError } from "../core/errors.js";
import { handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import type { SqlDatabase } from "../store/sql.js";
import { requireRole, type ApiKeyring } from "./auth.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS market_scopes (
  hash TEXT PRIMARY KEY,
  bytes BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/** Listed scopes by hash. */
export class ScopeStore {
  private constructor(private readonly db: SqlDatabase) {}

  /** Creates the table if needed. */
  static async open(db: SqlDatabase): Promise<ScopeStore> {
    await db.migrate(SCHEMA);
    return new ScopeStore(db);
  }

  /** Stores a normalized scope; answers its hash and canonical bytes (idempotent). */
  async put(scope: Scope, now = Date.now()): Promise<{ hash: Hex; bytes: Uint8Array }> {
    const bytes = scopeBytes(scope);
    const hash = keccak256Hex(bytes).toLowerCase() as Hex;
    await this.db.run("INSERT INTO market_scopes (hash, bytes, created_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING", [
      hash,
      Buffer.from(bytes),
      now,
    ]);
    return { hash, bytes };
  }

  /** The canonical bytes of the scope with this hash, if listed here. */
  async bytes(hash: Hex): Promise<Uint8Array | undefined> {
    const rows = await this.db.query<{ bytes: Uint8Array }>("SELECT bytes FROM market_scopes WHERE hash = ?", [hash.toLowerCase()]);
    return rows[0] === undefined ? undefined : new Uint8Array(rows[0].bytes);
  }
}

/**
 * Adds `POST /v1/market/scopes` (admin key: validate and keep a scope; 400 INVALID_SCOPE or
 * UNKNOWN_SCOPE_DEVICE) and `GET /v1/market/scopes/:hash` (public: the canonical bytes) to `router`.
 */
export function scopeRoutes(
  router: Router,
  o: {
    scopes: ScopeStore;
    keyring: ApiKeyring;
    isKnownDevice: (device: Address) => boolean | Promise<boolean>;
    sync?: () => Promise<unknown>;
  },
): void {
  router.post(
    "/v1/market/scopes",
    requireRole(o.keyring, ["admin"]),
    handle(async (req, res) => {
      let scope: Scope;
      try {
        scope = normalizeScope(req.body);
      } catch (error) {
        throw asServiceError(error);
      }
      await o.sync?.();
      const known = new Map<Address, boolean>();
      for (const d of scope.devices) known.set(d, await o.isKnownDevice(d));
      try {
        assertScopeDevicesKnown(scope, (d) => known.get(d.toLowerCase() as Address) === true);
      } catch (error) {
        throw asServiceError(error);
      }
      const { hash } = await o.scopes.put(scope);
      res.status(201).json({ scopeHash: hash, scope });
    }),
  );

  router.get(
    "/v1/market/scopes/:hash",
    handle(async (req, res) => {
      const hash = String(req.params.hash);
      if (!isHex(hash) || hash.length !== 66) throw new ServiceError("INVALID_QUERY", "hash must be 32 bytes of hex", { field: "hash" });
      const bytes = await o.scopes.bytes(hash);
      if (bytes === undefined) throw new ServiceError("NOT_FOUND", "no scope with this hash", { hash });
      res.status(200).type("application/json").end(Buffer.from(bytes));
    }),
  );
}

function asServiceError(error: unknown): unknown {
  if (error instanceof SensorSealError && (error.code === "INVALID_SCOPE" || error.code === "UNKNOWN_SCOPE_DEVICE"))
    return new ServiceError(error.code, error.shortMessage, error.details);
  return error;
}
