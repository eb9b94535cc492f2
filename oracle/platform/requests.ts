/**
 * Requests in flight on the platform: each one logged when answered, refused with 503 SHUTTING_DOWN
 * once draining, and waited for (up to a timeout) before the store closes.
 *
 * @module
 */
import type { RequestHandler, Response } from "express";

import { ServiceError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";

/** Logs every request and tracks those in flight; `drain()` refuses new ones and waits for the rest. */
export class RequestTracker {
  readonly #logger: Logger;
  #draining = false;
  readonly #inFlight = new Set<Response>();
  #idle: (() => void) | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** True once {@link drain} was called. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The first middleware of the platform's router. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const started = performance.now();
      res.on("finish", () => {
        this.#logger.info(
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
      if (this.#draining) {
        res.setHeader("Connection", "close");
        return next(new ServiceError("SHUTTING_DOWN", "the platform is shutting down"));
      }
      this.#inFlight.add(res);
      res.on("close", () => {
        this.#inFlight.delete(res);
        if (this.#inFlight.size === 0) this.#idle?.();
      });
      next();
    };
  }

  /** Refuses new requests, then waits until those in flight are answered or `timeoutMs` passed. */
  async drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    // Connections of the requests in flight close after their answer, so the listener can close.
    for (const res of this.#inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
    if (this.#inFlight.size === 0) return;
    const drained = new Promise<boolean>((resolve) => {
      this.#idle = () => resolve(true);
    });
    const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    if (!(await Promise.race([drained, timedOut]))) {
      this.#logger.warn({ inFlight: this.#inFlight.size }, "shutdown timeout: closing the store with requests in flight");
    }
  }
}
