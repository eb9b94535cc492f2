/**
 * Dashboard sessions: a consumer signs in with their own platform consumer API key, and raw data
 * (values, payloads, bundles) is then fetched upstream with THAT key, so the platform's own checks,
 * per-consumer quotas and revocation apply. The web service holds no key of its own.
 *
 * - Sign-in (`POST /api/session`, `{ apiKey }`): the key is checked with one authenticated platform
 *   call; a refused key answers 401 UNAUTHORIZED (403 FORBIDDEN for a key whose role may not read raw
 *   data) and creates nothing. An accepted key gets a random 32-byte token in an HttpOnly,
 *   SameSite=Strict cookie (Secure over https). The token maps to the key in this process's memory
 *   only (looked up by the token's sha256); the key is never sent back to the browser.
 * - A session ends after `idleMs` without use, after `maxAgeMs`, on sign-out (`DELETE /api/session`),
 *   or when the platform stops accepting its key (revoked).
 * - State-changing routes refuse cross-site requests: the request's `Origin` must be the dashboard's
 *   own origin (CSRF), else 403 FORBIDDEN.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";

import type express from "express";

import { ServiceError } from "../service/errors.js";

/** The session cookie's name. */
export const SESSION_COOKIE = "sensorseal_session";

/** Options of {@link SessionStore}. */
export interface SessionOptions {
  /** A session unused for this long ends (default 30 minutes). */
  idleMs?: number;
  /** A session ends this long after sign-in, used or not (default 12 hours). */
  maxAgeMs?: number;
  /** Most live sessions; the least recently used one ends when another signs in (default 10,000). */
  maxSessions?: number;
}

interface Session {
  apiKey: string;
  createdAt: number;
  lastUsed: number;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * The server-side session table (memory only: a restart signs everyone out).
 *
 * @example
 * const sessions = new SessionStore({ idleMs: 60_000 });
 * const token = sessions.create("ssk_…"); // goes into the cookie
 * sessions.apiKey(token); // "ssk_…" (and the idle clock restarts)
 */
export class SessionStore {
  readonly idleMs: number;
  readonly maxAgeMs: number;
  readonly #maxSessions: number;
  readonly #now: () => number;
  /** By sha256 of the token: a dump of this map does not hand out cookies. Insertion order = LRU. */
  readonly #sessions = new Map<string, Session>();

  constructor(options: SessionOptions = {}, now: () => number = Date.now) {
    this.idleMs = options.idleMs ?? 30 * 60_000;
    this.maxAgeMs = options.maxAgeMs ?? 12 * 3600_000;
    this.#maxSessions = options.maxSessions ?? 10_000;
    this.#now = now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session for `apiKey`; answers its token (base64url of 32 random bytes). */
  create(apiKey: string): string {
    this.sweep();
    while (this.#sessions.size >= this.#maxSessions) this.#sessions.delete(this.#sessions.keys().next().value!);
    const token = randomBytes(32).toString("base64url");
    const now = this.#now();
    this.#sessions.set(sha256(token), { apiKey, createdAt: now, lastUsed: now });
    return token;
  }

  /** The consumer key of a live session (restarting its idle clock), or undefined. */
  apiKey(token: string | undefined): string | undefined {
    if (token === undefined) return undefined;
    const id = sha256(token);
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.#now();
    if (now - session.lastUsed > this.idleMs || now - session.createdAt > this.maxAgeMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastUsed = now;
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
    return session.apiKey;
  }

  /** Ends one session (sign-out). */
  end(token: string | undefined): void {
    if (token !== undefined) this.#sessions.delete(sha256(token));
  }

  /** Ends every session of `apiKey` (the platform stopped accepting it). */
  endKey(apiKey: string): void {
    for (const [id, session] of this.#sessions) if (session.apiKey === apiKey) this.#sessions.delete(id);
  }

  /** Drops expired sessions (least recently used first, so it stops at the first live one). */
  sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) {
      if (now - session.lastUsed <= this.idleMs && now - session.createdAt <= this.maxAgeMs) break;
      this.#sessions.delete(id);
    }
  }
}

/** The session token of a request's cookie header, or undefined. */
export function sessionToken(req: express.Request): string | undefined {
  for (const part of (req.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** The Set-Cookie value of a session (`token`) or of its removal (`undefined`). */
export function sessionCookie(token: string | undefined, secure: boolean): string {
  const attributes = ["Path=/", "HttpOnly", "SameSite=Strict", ...(secure ? ["Secure"] : [])];
  return token === undefined
    ? [`${SESSION_COOKIE}=`, "Max-Age=0", ...attributes].join("; ")
    : [`${SESSION_COOKIE}=${token}`, ...attributes].join("; ");
}

/** 401 UNAUTHORIZED for raw data without a session. */
export const signInRequired = () => new ServiceError("UNAUTHORIZED", "sign in with your platform consumer API key to see raw data");

/**
 * Middleware: only requests of a live session pass; their consumer key is `res.locals.consumerKey`.
 * Anything else answers 401 UNAUTHORIZED.
 */
export function requireSession(sessions: SessionStore): express.RequestHandler {
  return (req, res, next) => {
    const apiKey = sessions.apiKey(sessionToken(req));
    if (apiKey === undefined) return next(signInRequired());
    res.locals.consumerKey = apiKey;
    next();
  };
}

/** The consumer key {@link requireSession} put on the response. */
export function consumerKey(res: express.Response): string {
  const key = res.locals.consumerKey as string | undefined;
  if (key === undefined) throw signInRequired();
  return key;
}

/** The dashboard's own origin as this request reached it (`origin` when configured). */
export function ownOrigin(req: express.Request, origin: string | undefined): string {
  return origin ?? `${req.protocol}://${req.get("host") ?? ""}`;
}

/**
 * Middleware: refuses a state-changing request whose `Origin` is not the dashboard's own (403
 * FORBIDDEN). A request without `Origin` is refused too: browsers send it on every POST and DELETE,
 * so only non-browser clients omit it, and they can send it.
 */
export function sameOriginOnly(origin: string | undefined): express.RequestHandler {
  return (req, _res, next) => {
    const from = req.get("origin");
    const own = ownOrigin(req, origin);
    if (from === own) return next();
    next(
      new ServiceError(
        "FORBIDDEN",
        from === undefined ? "the Origin header is required" : `cross-origin request refused (Origin ${from} is not ${own})`,
        { origin: from ?? null },
      ),
    );
  };
}
