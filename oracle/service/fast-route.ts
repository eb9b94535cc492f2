/**
 * A service's busiest route served on node:http without express: POST /v1/readings, which devices
 * call once per reading. express 5 costs about 130–160 µs of event-loop CPU per request on this
 * machine (router, per-request prototypes, body-parser), node:http alone about 65 µs
 * (`README.md`, Throughput). The fast route runs the very handlers the express app runs for that
 * route, in the same order, on node's own request and response objects given the few express
 * members those handlers use (`req.path`, `req.originalUrl`, `req.ip`, `req.body`, `req.is`,
 * `res.status`, `res.json`, `res.locals`). Whatever it cannot answer exactly as express would goes to express untouched: another
 * method or path (a query string, a trailing slash, other letter case), a body that is not plain
 * UTF-8 JSON with a Content-Length within the limit (chunked, compressed, another charset, too
 * large), or a service behind a trusted proxy (express works out the client address).
 *
 * One difference is deliberate: an answer from the fast route has no ETag (express adds a weak
 * one to every body; nothing caches a POST's answer).
 *
 * @module
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";

import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from "express";

import { ServiceError } from "./errors.js";

/** A route the fast path takes: its method and exact path, and the handlers express runs for it (body parser excluded). */
export interface FastRouteSpec {
  method: "POST";
  path: string;
  /** The handlers before the body is read (load shedding, per-address limits), in express's order. */
  beforeBody: readonly RequestHandler[];
  /** The handlers after it, in express's order (per-client limits, the route's handler). */
  afterBody: readonly RequestHandler[];
  /** The express app's error handler (one JSON error shape). */
  onError: ErrorRequestHandler;
  /** express's body `limit` (`512kb`, `1mb`, `100b`). */
  bodyLimit: string;
}

/** The bytes of an express `limit` like `64kb` or `1mb` (1024-based, as express reads it); undefined for other forms. */
export function bodyLimitBytes(limit: string): number | undefined {
  const match = /^([0-9]+)(b|kb|mb)$/i.exec(limit);
  if (match === null) return undefined;
  const unit = match[2].toLowerCase();
  return Number(match[1]) * (unit === "b" ? 1 : unit === "kb" ? 1024 : 1024 * 1024);
}

/** The one JSON error answer of a body that does not parse (as express's JSON parser's is mapped, oracle/service/app.ts). */
export const invalidJson = () => new ServiceError("INVALID_JSON", "request body is not valid JSON");

/** JSON's whitespace, as express's strict JSON parser skips it before the first character. */
const JSON_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * A JSON body as express's strict JSON parser reads it: a UTF-8 byte-order mark dropped, an empty
 * body read as `{}`, and only an object or an array at the top.
 *
 * @throws {ServiceError} INVALID_JSON
 */
export function parseJsonBody(bytes: Buffer): unknown {
  let text = bytes.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  let i = 0;
  while (i < text.length && JSON_SPACE.has(text.charCodeAt(i))) i++;
  const first = text[i];
  if (first !== "{" && first !== "[") throw invalidJson();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidJson();
  }
}

/** `application/json`, with no parameter or `charset=utf-8` only: what the fast route reads as express would. */
const PLAIN_JSON = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** express's `res.status`, as the handlers use it. */
function status(this: ServerResponse, code: number): ServerResponse {
  this.statusCode = code;
  return this;
}

/** express's `res.json` for the bodies the handlers send (no ETag, see the module's comment). */
function json(this: ServerResponse, body: unknown): ServerResponse {
  const text = JSON.stringify(body);
  if (!this.hasHeader("Content-Type")) this.setHeader("Content-Type", "application/json; charset=utf-8");
  this.setHeader("Content-Length", Buffer.byteLength(text));
  this.end(text);
  return this;
}

/** A route the fast path serves, with the count of requests it took (tests, operators). */
export class FastRoute {
  readonly #spec: FastRouteSpec;
  readonly #limit: number | undefined;
  /** Every handler in express's order, the body reader in its place. */
  readonly #handlers: readonly RequestHandler[];
  /** Requests this route answered without express. */
  served = 0;

  constructor(spec: FastRouteSpec) {
    this.#spec = spec;
    this.#limit = bodyLimitBytes(spec.bodyLimit);
    this.#handlers = [...spec.beforeBody, readBody, ...spec.afterBody];
  }

  /** The same route with `handlers` run first (an outer app's middlewares, mounted before this service). */
  prefixed(handlers: readonly RequestHandler[]): FastRoute {
    return new FastRoute({ ...this.#spec, beforeBody: [...handlers, ...this.#spec.beforeBody] });
  }

  /** Whether the fast route answers exactly as express would (see the module's comment). */
  #takes(req: IncomingMessage): boolean {
    const s = this.#spec;
    if (req.method !== s.method || req.url !== s.path || this.#limit === undefined) return false;
    const h = req.headers;
    if (h["transfer-encoding"] !== undefined || (h["content-encoding"] !== undefined && h["content-encoding"] !== "identity")) return false;
    const length = h["content-length"];
    if (length === undefined || !/^[0-9]+$/.test(length) || Number(length) > this.#limit) return false;
    const type = h["content-type"];
    return type !== undefined && PLAIN_JSON.test(type);
  }

  /** Answers `req` if it is this route's and answerable without express; false (nothing done) otherwise. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.#takes(req)) return false;
    this.served++;
    const request = req as unknown as Request;
    const response = res as unknown as Response;
    // The express members the handlers use, and nothing else.
    Object.assign(request, {
      path: this.#spec.path,
      originalUrl: this.#spec.path,
      ip: req.socket.remoteAddress,
      body: undefined,
      is: express.request.is, // reads only the request's headers
    });
    Object.assign(response, { locals: {}, status, json });
    this.#run(request, response);
    return true;
  }

  #run(req: Request, res: Response): void {
    const handlers = this.#handlers;
    const { onError } = this.#spec;
    let at = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined && error !== null) {
        onError(error, req, res, () => undefined);
        return;
      }
      const handler = handlers[at++];
      if (handler === undefined) return;
      try {
        void handler(req, res, next);
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  }
}

/** Reads and parses the body (Content-Length, within the limit, as `FastRoute` checked before taking it). */
const readBody: RequestHandler = (req, _res, next) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.once("error", next);
  req.once("end", () => {
    try {
      req.body = parseJsonBody(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    } catch (error) {
      return next(error);
    }
    next();
  });
};

const fastRoutes = new WeakMap<Express, FastRoute>();

/** Registers `route` as `app`'s fast route: {@link serverOf} serves it without express. */
export function setFastRoute(app: Express, route: FastRoute): void {
  fastRoutes.set(app, route);
}

/** `app`'s fast route, if it has one. */
export function fastRouteOf(app: Express): FastRoute | undefined {
  return fastRoutes.get(app);
}

/**
 * Gives `outer`, which runs `before` and then mounts `service`, the service's fast route with
 * `before` run first (the relayer's and the platform's outer apps).
 */
export function inheritFastRoute(outer: Express, service: Express, before: readonly RequestHandler[]): void {
  const fast = fastRoutes.get(service);
  if (fast !== undefined) fastRoutes.set(outer, fast.prefixed(before));
}

/**
 * An HTTP server for `app`: its fast route first, if it has one, then express. Behind a trusted
 * proxy (`trust proxy` set) every request goes to express, which works out the client address.
 */
export function serverOf(app: Express): Server {
  const fast = app.get("trust proxy") === false ? fastRoutes.get(app) : undefined;
  const listener: RequestListener = fast === undefined ? app : (req, res) => void (fast.take(req, res) || app(req, res));
  return createServer(listener);
}
