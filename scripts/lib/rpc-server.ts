/**
 * The local chains' JSON-RPC over HTTP, safe to leave running while a browser is open.
 *
 * The local chains have unlocked dev accounts (the deployer is the admin of every contract), so a
 * web page must not be able to use them: any page can POST a `text/plain` body to 127.0.0.1 without
 * a CORS preflight, and a DNS-rebinding page can even read the answers. Hence:
 * - a request whose `Host` is not this loopback listener is refused (DNS rebinding);
 * - a request carrying an `Origin` (every request a page makes) is refused unless the origin is
 *   allowed (the dashboard, a wallet extension), and even then it may only read the chain and send
 *   already-signed transactions (`eth_sendRawTransaction`): methods that use the node's accounts or
 *   change the node (`eth_sendTransaction`, `eth_sign*`, `personal_*`, `hardhat_*`, `evm_*`, …) are
 *   refused with JSON-RPC error -32601 `BROWSER_METHOD_NOT_ALLOWED`;
 * - requests without an `Origin` (the services, the CLIs, Ignition over HTTP) are not restricted.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** JSON-RPC methods a browser page may call: reads and sending a transaction it signed itself. */
const BROWSER_METHODS = new Set([
  "eth_chainId",
  "net_version",
  "web3_clientVersion",
  "eth_blockNumber",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_getBalance",
  "eth_getCode",
  "eth_getStorageAt",
  "eth_getTransactionCount",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
  "eth_getLogs",
  "eth_call",
  "eth_estimateGas",
  "eth_gasPrice",
  "eth_maxPriorityFeePerGas",
  "eth_feeHistory",
  "eth_sendRawTransaction",
]);

/** Options of {@link startRpcServer}. */
export interface RpcServerOptions {
  host: string;
  port: number;
  /** Origins whose pages may call the read-only methods, e.g. `http://127.0.0.1:8090`. */
  allowedOrigins: readonly string[];
  /** Also allow browser-extension origins (`chrome-extension://…`, `moz-extension://…`): wallets. */
  allowExtensions?: boolean;
  /** Answers one JSON-RPC call (method and params); throws `{ code, message, data }` on error. */
  call(method: string, params: unknown[]): Promise<unknown>;
}

type RpcAnswer = { jsonrpc: "2.0"; id: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };

/** The origins of a dashboard on `port`, as a browser names them. */
export function dashboardOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

/**
 * Serves JSON-RPC on `host:port` with the browser rules of this module.
 *
 * @example
 * const server = await startRpcServer({ host: "127.0.0.1", port: 8545, allowedOrigins: dashboardOrigins(8090), call });
 */
export async function startRpcServer(options: RpcServerOptions): Promise<Server> {
  const server = createServer((req, res) => serve(options, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  return server;
}

function originAllowed(options: RpcServerOptions, origin: string): boolean {
  if (options.allowedOrigins.includes(origin)) return true;
  return options.allowExtensions === true && /^(chrome|moz)-extension:\/\/[a-z0-9-]+$/i.test(origin);
}

function hostAllowed(options: RpcServerOptions, host: string | undefined, port: number): boolean {
  const names = new Set([options.host, "127.0.0.1", "localhost", "[::1]"]);
  return host !== undefined && [...names].some((name) => host === `${name}:${port}`);
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message } }));
}

function serve(options: RpcServerOptions, req: IncomingMessage, res: ServerResponse): void {
  const port = (req.socket.localPort ?? options.port) as number;
  if (!hostAllowed(options, req.headers.host, port)) return refuse(res, 403, `Host ${req.headers.host ?? "(none)"} is not served here`);
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (!originAllowed(options, origin)) return refuse(res, 403, `Origin ${origin} may not call this node`);
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Vary", "Origin");
    res.setHeader("Access-Control-Allow-Headers", "content-type");
    res.setHeader("Access-Control-Allow-Methods", "POST, OPTIONS");
  }
  if (req.method === "OPTIONS") return void res.writeHead(204).end();
  if (req.method !== "POST") return void res.writeHead(405).end();
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => void answer(options, Buffer.concat(chunks), origin !== undefined, res));
}

async function answer(options: RpcServerOptions, raw: Buffer, fromBrowser: boolean, res: ServerResponse): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }));
    return;
  }
  const handle = (request: unknown) => handleOne(options, request, fromBrowser);
  const result = Array.isArray(body) ? await Promise.all(body.map(handle)) : await handle(body);
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(result));
}

async function handleOne(options: RpcServerOptions, request: unknown, fromBrowser: boolean): Promise<RpcAnswer> {
  const { id = null, method, params = [] } = (request ?? {}) as { id?: unknown; method?: unknown; params?: unknown[] };
  if (typeof method !== "string") return { jsonrpc: "2.0", id, error: { code: -32600, message: "Invalid request" } };
  if (fromBrowser && !BROWSER_METHODS.has(method)) {
    return {
      jsonrpc: "2.0",
      id,
      error: { code: -32601, message: `${method} may not be called from a web page`, data: { code: "BROWSER_METHOD_NOT_ALLOWED" } },
    };
  }
  try {
    return { jsonrpc: "2.0", id, result: await options.call(method, Array.isArray(params) ? params : []) };
  } catch (error) {
    const { code = -32603, message = String(error), data } = error as { code?: number; message?: string; data?: unknown };
    return { jsonrpc: "2.0", id, error: { code: typeof code === "number" ? code : -32603, message, data } };
  }
}
