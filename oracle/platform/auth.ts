import { createHash, randomBytes } from "node:crypto";

import type { RequestHandler } from "express";
import { z } from "zod";

import { ServiceError } from "../service/errors.js";
import { DuplicateApiKeyError } from "./platform-errors.js";

/**
 * Roles an API key can carry. Only `consumer` and `admin` may read raw data; `device` and `public`
 * keys exist so that gateways and public dashboards can be identified, and are answered 403.
 */
export const API_KEY_ROLES = ["admin", "consumer", "device", "public"] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** One API key as the platform keeps it: never the key itself, only its sha256. */
export interface ApiKeyEntry {
  /** Who holds the key (shown in logs, never secret), e.g. `"agency-eu-west"`. */
  id: string;
  role: ApiKeyRole;
  /** Lowercase hex sha256 of the key's UTF-8 bytes, without `0x`. */
  sha256: string;
}

/** The caller an API key identified (set on `res.locals.apiKey` by {@link requireRole}). */
export type ApiKeyIdentity = Pick<ApiKeyEntry, "id" | "role">;

export const apiKeyEntrySchema = z.object({
  id: z.string().min(1).max(200),
  role: z.enum(API_KEY_ROLES),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters (sha256 of the key)")
    .transform((hash) => hash.toLowerCase()),
});

/** The API keys file: a JSON array of `{ id, role, sha256 }`. */
export const apiKeysFileSchema = z.array(apiKeyEntrySchema);

/**
 * sha256 of an API key, as stored in the keys file.
 *
 * @example
 * hashApiKey("ssk_example"); // "5f0c…" (64 hex characters)
 */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/**
 * A new random API key (32 bytes, base64url, `ssk_` prefix) with the entry to store for it.
 *
 * @example
 * const { key, entry } = generateApiKey("agency", "consumer");
 * // give `key` to the consumer once; put `entry` in the API keys file
 */
export function generateApiKey(id: string, role: ApiKeyRole): { key: string; entry: ApiKeyEntry } {
  const key = `ssk_${randomBytes(32).toString("base64url")}`;
  return { key, entry: { id, role, sha256: hashApiKey(key) } };
}

/**
 * The keys a platform accepts, looked up by the sha256 of the presented key.
 *
 * @example
 * const keyring = new ApiKeyring([{ id: "a", role: "consumer", sha256: hashApiKey("secret") }]);
 * keyring.identify("secret"); // { id: "a", role: "consumer" }
 * keyring.identify("other");  // undefined
 */
export class ApiKeyring {
  readonly #byHash = new Map<string, ApiKeyIdentity>();

  constructor(entries: readonly ApiKeyEntry[]) {
    for (const entry of apiKeysFileSchema.parse(entries)) {
      if (this.#byHash.has(entry.sha256)) throw new DuplicateApiKeyError(entry.id);
      this.#byHash.set(entry.sha256, { id: entry.id, role: entry.role });
    }
  }

  get size(): number {
    return this.#byHash.size;
  }

  /** The holder of `key`, or undefined for a key that is not listed. */
  identify(key: string): ApiKeyIdentity | undefined {
    return this.#byHash.get(hashApiKey(key));
  }
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * Express middleware: lets a request through only with `Authorization: Bearer <key>` for a listed
 * key whose role is in `roles`. No or unknown key → 401 UNAUTHORIZED (with `WWW-Authenticate`);
 * a listed key of another role → 403 FORBIDDEN. Either way nothing of the resource is returned.
 *
 * @example
 * router.get("/v1/devices/:device/readings", requireRole(keyring, ["consumer", "admin"]), handler);
 */
export function requireRole(keyring: ApiKeyring, roles: readonly ApiKeyRole[]): RequestHandler {
  return (req, res, next) => {
    const match = BEARER.exec(req.get("authorization") ?? "");
    const identity = match ? keyring.identify(match[1]!) : undefined;
    if (identity === undefined) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="sensorseal-platform"');
      return next(new ServiceError("UNAUTHORIZED", match ? "unknown API key" : "an API key is required (Authorization: Bearer <key>)"));
    }
    res.locals.apiKey = identity;
    if (!roles.includes(identity.role)) {
      return next(new ServiceError("FORBIDDEN", `role "${identity.role}" may not use this endpoint`, { role: identity.role }));
    }
    next();
  };
}
