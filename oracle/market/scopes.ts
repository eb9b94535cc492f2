/**
 * Where scope bytes come from: the platform keeps every listed scope by hash
 * (`GET /v1/market/scopes/:hash`, oracle/platform/access-scopes.ts); anyone fetching one checks it
 * against the hash on-chain, so the platform cannot swap a scope.
 *
 * @module
 */
import type { Hex } from "viem";

import { parseScopeBytes, type Scope } from "../core/scope.js";

/** Gives the scope whose canonical bytes hash to `hash`, or throws. */
export interface ScopeSource {
  scopeOf(hash: Hex): Promise<Scope>;
}

/**
 * A scope source over HTTP (a platform's public scope route), caching checked scopes.
 *
 * @example const scopes = httpScopeSource("http://127.0.0.1:8080"); await scopes.scopeOf(product.scopeHash);
 */
export function httpScopeSource(platformUrl: string, fetchFn: typeof fetch = fetch): ScopeSource {
  const cache = new Map<string, Scope>();
  return {
    async scopeOf(hash) {
      const key = hash.toLowerCase();
      const cached = cache.get(key);
      if (cached !== undefined) return cached;
      const res = await fetchFn(`${platformUrl.replace(/\/$/, "")}/v1/market/scopes/${key}`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`scope ${key}: the platform answered ${res.status}`);
      const scope = parseScopeBytes(new Uint8Array(await res.arrayBuffer()), hash);
      cache.set(key, scope);
      return scope;
    },
  };
}

/** A scope source over a lookup of stored bytes (the platform's own store). */
export function bytesScopeSource(bytesOf: (hash: Hex) => Promise<Uint8Array | undefined>): ScopeSource {
  return {
    async scopeOf(hash) {
      const bytes = await bytesOf(hash);
      if (bytes === undefined) throw new Error(`no scope with hash ${hash}`);
      return parseScopeBytes(bytes, hash);
    },
  };
}
