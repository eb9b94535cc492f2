/**
 * Small helpers of scripts/bench.ts: statistics, number formatting, a keep-alive HTTP client, a
 * seeded PRNG.
 *
 * @module
 */
import http from "node:http";

import { SocketTally, type WireBytes } from "./wire-bytes.js";

/** The nearest-rank percentile `p` (0..1] of `values` (unsorted). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

/** 12,345 (no decimals) or with `digits` decimals. */
export function fmtNum(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return "—";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A duration from milliseconds: "850 ms", "1.23 s", "12.3 s". */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A ratio: "4.2×", "0.86×", "5,731×". */
export function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return "—";
  if (x >= 100) return `${fmtNum(x)}×`;
  if (x >= 10) return `${x.toFixed(1)}×`;
  return `${x.toFixed(2)}×`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** mulberry32: a small seeded PRNG in [0, 1), for reproducible arrival times. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HttpAnswer {
  status: number;
  text: string;
  /** The Retry-After header in seconds, when the answer has one. */
  retryAfterSeconds?: number;
}

/**
 * A minimal HTTP/1.1 JSON client on node:http with keep-alive connections (lighter on the CPU than
 * fetch, which matters when the load generator shares 2 cores with the service it measures).
 */
export class HttpClient {
  readonly #agent: http.Agent;
  readonly #host: string;
  readonly #port: number;
  readonly #tally = new SocketTally();

  readonly #headers: http.OutgoingHttpHeaders;

  /** `headers` go with every request (e.g. `{ prefer: "receipt=root" }`). */
  constructor(baseUrl: string, maxSockets: number, headers: http.OutgoingHttpHeaders = {}) {
    this.#headers = headers;
    const url = new URL(baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  request(method: "GET" | "POST", path: string, body?: string): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders =
        body === undefined
          ? this.#headers
          : { ...this.#headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) };
      const req = http.request({ host: this.#host, port: this.#port, path, method, agent: this.#agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const retryAfter = Number(res.headers["retry-after"]);
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
            ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
          });
        });
        res.on("error", reject);
      });
      req.on("socket", (socket) => this.#tally.add(socket));
      req.on("error", reject);
      req.end(body);
    });
  }

  post(path: string, body: string): Promise<HttpAnswer> {
    return this.request("POST", path, body);
  }

  get(path: string): Promise<HttpAnswer> {
    return this.request("GET", path);
  }

  /** Bytes this client's sockets sent and received so far (request and response, headers included). */
  bytesOnWire(): WireBytes {
    return this.#tally.bytes();
  }

  close(): void {
    this.#agent.destroy();
  }
}
