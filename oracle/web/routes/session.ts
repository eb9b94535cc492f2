/**
 * `POST /api/session` (sign in with a platform consumer API key), `DELETE /api/session` (sign out)
 * and `GET /api/session` (signed in or not). See ../session.ts for the session rules.
 *
 * @module
 */
import type express from "express";

import { handle } from "../../service/app.js";
import { ServiceError } from "../../service/errors.js";
import { sameOriginOnly, sessionCookie, sessionToken, type SessionStore } from "../session.js";
import { checkConsumerKey, type Upstreams } from "../upstream.js";

/** What a Bearer token may be (the platform's own syntax). */
const API_KEY = /^[\x21-\x7e]{1,512}$/;

/** Whether the session cookie must carry `Secure` (served over https, or behind an https origin). */
const secure = (req: express.Request, origin: string | undefined) => req.secure || origin?.startsWith("https:") === true;

/** Adds the sign-in, sign-out and session-state routes. */
export function sessionRoutes(router: express.Router, up: Upstreams, sessions: SessionStore): void {
  const origin = up.options.publicOrigin;
  const noStore = (res: express.Response) => res.setHeader("Cache-Control", "no-store");

  router.get("/api/session", (req, res) => {
    noStore(res);
    const signedIn = sessions.apiKey(sessionToken(req)) !== undefined;
    res.json({ signedIn, idleSeconds: Math.floor(sessions.idleMs / 1000) });
  });

  router.post(
    "/api/session",
    sameOriginOnly(origin),
    handle(async (req, res) => {
      noStore(res);
      const apiKey = (req.body as { apiKey?: unknown } | undefined)?.apiKey;
      if (typeof apiKey !== "string" || !API_KEY.test(apiKey))
        throw new ServiceError("INVALID_BODY", "expected { apiKey }: your platform consumer API key", { field: "apiKey" });
      await checkConsumerKey(up, apiKey);
      sessions.end(sessionToken(req));
      res.setHeader("Set-Cookie", sessionCookie(sessions.create(apiKey), secure(req, origin)));
      res.status(201).json({ signedIn: true, idleSeconds: Math.floor(sessions.idleMs / 1000) });
    }),
  );

  router.delete("/api/session", sameOriginOnly(origin), (req, res) => {
    noStore(res);
    sessions.end(sessionToken(req));
    res.setHeader("Set-Cookie", sessionCookie(undefined, secure(req, origin)));
    res.json({ signedIn: false });
  });
}
