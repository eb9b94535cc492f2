import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from "express";

import { SensorSealError } from "../core/errors.js";
import { ServiceError } from "./errors.js";
import type { Logger } from "./logger.js";
import { FastRoute, invalidJson, serverOf, setFastRoute } from "./fast-route.js";
import { Limiters, quotaOf, retryAfterSeconds, type BucketSizes, type Limiter } from "./limiter.js";

export interface ServiceAppOptions {
  name: string;
  logger: Logger;
  /** The service's routes, mounted at `/`. */
  router: Router;
  /** Largest accepted request body (express `limit` syntax). */
  bodyLimit?: string;
  /** Requests per second per client address (burst per window of burst/rate seconds); `undefined` turns the limit off. */
  rateLimit?: BucketSizes;
  /** Where the per-address limit is kept (default: this process's memory; shared on PostgreSQL, oracle/service/limiter.ts). */
  limiters?: Limiters;
  /**
   * Requests limited elsewhere (per device): the per-address limit charges only those refused for
   * what the client sent (a 4xx other than 429), so honest traffic behind one carrier NAT is never
   * throttled per address while junk from it still is.
   */
  rateLimitExempt?: (req: express.Request) => boolean;
  /** Answers `/readyz`: false while the service cannot take work (store or chain down, draining). */
  ready?: () => boolean | Promise<boolean>;
  /**
   * The service's busiest route (POST `path`, registered on `router` with these `handlers` too), also
   * served without express (oracle/service/fast-route.ts) by {@link listen}.
   */
  fastRoute?: { path: string; handlers: readonly RequestHandler[] };
}

/**
 * Builds a service's express app: JSON bodies with an explicit limit, per-client rate limiting,
 * `/healthz` and `/readyz`, JSON 404s and one JSON error shape with a machine-readable code.
 *
 * @example
 * const app = createServiceApp({ name: "platform", logger, router: platformRouter(store) });
 * const server = await listen(app, 0); // ephemeral port for tests
 */
export function createServiceApp(options: ServiceAppOptions): Express {
  const { logger } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");

  let limited: RequestHandler | undefined;
  if (options.rateLimit) {
    const limiters = options.limiters ?? Limiters.memory(options.name);
    const limiter = limiters.limiter("requests", quotaOf(options.rateLimit));
    const client = (req: express.Request) => req.ip ?? "unknown";
    const limit = rateLimitMiddleware(limiter, client);
    const exempt = options.rateLimitExempt;
    const refusedOnly = refusedRequestsMiddleware(limiter, client);
    limited = exempt === undefined ? limit : (req, res, next) => (exempt(req) ? refusedOnly(req, res, next) : limit(req, res, next));
    app.use(limited);
  }
  const bodyLimit = options.bodyLimit ?? "64kb";
  app.use(express.json({ limit: bodyLimit, strict: true }));

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", service: options.name });
  });
  app.get("/readyz", async (_req, res) => {
    const ready = options.ready ? await options.ready() : true;
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not_ready", service: options.name });
  });
  app.use(options.router);

  app.use((req, _res, next) => {
    next(new ServiceError("NOT_FOUND", `no route for ${req.method} ${req.path}`));
  });
  const onError = errorHandler(logger);
  app.use(onError);
  const fast = options.fastRoute;
  if (fast !== undefined) {
    const beforeBody = limited === undefined ? [] : [limited];
    setFastRoute(app, new FastRoute({ method: "POST", path: fast.path, beforeBody, afterBody: fast.handlers, onError, bodyLimit }));
  }
  return app;
}

/**
 * The per-address limit for requests limited elsewhere: a request is refused (429 RATE_LIMITED +
 * Retry-After) only when its address's window is spent, and costs a point only when it is answered
 * with a 4xx other than 429 (something the client sent was refused).
 */
export function refusedRequestsMiddleware(limiter: Limiter, key: (req: express.Request) => string): RequestHandler {
  return (req, res, next) => {
    const client = key(req);
    limiter.peek(client).then(({ allowed, retryAfterMs }) => {
      if (!allowed) {
        const wait = retryAfterSeconds(retryAfterMs);
        res.setHeader("Retry-After", String(wait));
        return next(
          new ServiceError("RATE_LIMITED", "too many refused requests from this address; retry later", { retryAfterSeconds: wait }),
        );
      }
      res.once("finish", () => {
        if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429) limiter.consume(client).catch(() => undefined);
      });
      next();
    }, next);
  };
}

/** Answers 429 RATE_LIMITED + Retry-After when `key(req)` has fewer than `cost(req)` points left. */
export function rateLimitMiddleware(
  limiter: Limiter,
  key: (req: express.Request) => string,
  cost: (req: express.Request) => number = () => 1,
): RequestHandler {
  return (req, res, next) => {
    limiter.consume(key(req), cost(req)).then(({ allowed, retryAfterMs }) => {
      if (allowed) return next();
      const wait = retryAfterSeconds(retryAfterMs);
      res.setHeader("Retry-After", String(wait));
      next(new ServiceError("RATE_LIMITED", "too many requests", { retryAfterSeconds: wait }));
    }, next);
  };
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const answer = toServiceError(error);
    if (answer.status >= 500) logger.error({ err: error, path: req.path }, "request failed");
    else logger.debug({ code: answer.code, path: req.path }, "request rejected");
    if (answer.status === 429 && answer.details?.retryAfterSeconds !== undefined) {
      res.setHeader("Retry-After", String(answer.details.retryAfterSeconds));
    }
    res.status(answer.status).json(answer.body());
  };
}

/** Maps anything thrown in a handler to the error the client sees. */
export function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  // body-parser errors carry `type` and `status`.
  const parserType = (error as { type?: string })?.type;
  if (parserType === "entity.too.large") return new ServiceError("PAYLOAD_TOO_LARGE", "request body too large");
  if (parserType === "entity.parse.failed") return invalidJson();
  if (parserType === "encoding.unsupported" || parserType === "charset.unsupported") {
    return new ServiceError("UNSUPPORTED_ENCODING", "request body encoding not supported");
  }
  if (error instanceof SensorSealError) {
    // The core's typed errors: bad input from the client.
    return ServiceError.fromInput(error);
  }
  return new ServiceError("INTERNAL", "internal error");
}

/** Wraps an async handler so a rejection reaches the error handler (express 5 does this too; kept explicit). */
export function handle(fn: (req: express.Request, res: express.Response) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  /** Stops taking connections and waits for in-flight requests to finish. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (port 0 = ephemeral) and returns the URL and a graceful `close`. The app's
 * fast route, if it has one, is served without express (oracle/service/fast-route.ts).
 * @example const { url, close } = await listen(app, 0);
 */
export async function listen(app: Express, port: number, host = "127.0.0.1"): Promise<RunningServer> {
  const server = serverOf(app).listen(port, host);
  await once(server, "listening");
  const address = server.address() as AddressInfo;
  return {
    server,
    port: address.port,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
