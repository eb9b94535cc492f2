/**
 * Fake RPC fronts: JSON-RPC proxies in front of a real node (anvil) for faults no node we can
 * install shows: a node without `eth_feeHistory` / `eth_maxPriorityFeePerGas`, and a legacy-only
 * node (GoQuorum, pre-London geth: anvil refuses EIP-1559 transactions only on hardforks where our
 * Prague contracts cannot run). Each answers exactly what the real node answers; tests that use one
 * say "(fake RPC)" in their name. Importing this file does nothing.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

interface RpcCall {
  jsonrpc?: string;
  id: unknown;
  method: string;
  params?: unknown[];
}
type RpcAnswer = { jsonrpc: "2.0"; id: unknown; result?: unknown; error?: { code: number; message: string } };

/** A running fake front. */
export interface FakeRpc {
  url: string;
  /** Every method called through it, in order (to assert that nothing was sent). */
  readonly calls: readonly string[];
  close(): Promise<void>;
}

/** What a front does with one call: answer it itself, or let it through and maybe rewrite the result. */
interface FrontRules {
  answer?(call: RpcCall): RpcAnswer | undefined;
  rewrite?(call: RpcCall, result: unknown): unknown;
}

async function startFront(target: string, rules: FrontRules): Promise<FakeRpc> {
  const calls: string[] = [];
  const one = async (call: RpcCall): Promise<RpcAnswer> => {
    calls.push(call.method);
    const own = rules.answer?.(call);
    if (own !== undefined) return own;
    const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(call) });
    const answer = (await upstream.json()) as RpcAnswer;
    if (answer.error === undefined && rules.rewrite !== undefined) answer.result = rules.rewrite(call, answer.result);
    return answer;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as RpcCall | RpcCall[];
      const answered = Array.isArray(body) ? Promise.all(body.map(one)) : one(body);
      answered.then(
        (answer) => res.setHeader("content-type", "application/json").end(JSON.stringify(answer)),
        () => res.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const methodNotFound = (call: RpcCall): RpcAnswer => ({
  jsonrpc: "2.0",
  id: call.id,
  error: { code: -32601, message: "Method not found" },
});

/**
 * (fake RPC) A node that does not implement `methods`: it answers them as Hyperledger Besu answers
 * any method it lacks, JSON-RPC error -32601 "Method not found".
 */
export function startNodeWithout(target: string, methods: readonly string[]): Promise<FakeRpc> {
  return startFront(target, {
    answer: (call) => (methods.includes(call.method) ? methodNotFound(call) : undefined),
  });
}

const TYPE_2 = /^0x02/i;

/**
 * (fake RPC) A legacy-only node (GoQuorum, pre-London geth): its blocks carry no `baseFeePerGas`, and
 * it refuses EIP-1559 (type 2) transactions as geth's pool does: -32000 "transaction type not supported".
 * Like Besu it has no `eth_fillTransaction` (anvil's fills a type-2 transaction, which this node refuses).
 */
export function startLegacyOnlyNode(target: string): Promise<FakeRpc> {
  return startFront(target, {
    answer(call) {
      if (call.method === "eth_fillTransaction") return methodNotFound(call);
      const raw = call.method === "eth_sendRawTransaction" ? String(call.params?.[0] ?? "") : "";
      const request = call.method === "eth_sendTransaction" ? (call.params?.[0] as Record<string, unknown> | undefined) : undefined;
      const typed = TYPE_2.test(raw) || request?.type === "0x2" || request?.maxFeePerGas !== undefined;
      return typed ? { jsonrpc: "2.0", id: call.id, error: { code: -32000, message: "transaction type not supported" } } : undefined;
    },
    rewrite(call, result) {
      if (
        (call.method === "eth_getBlockByNumber" || call.method === "eth_getBlockByHash") &&
        result !== null &&
        typeof result === "object"
      ) {
        const { baseFeePerGas: _hidden, ...block } = result as Record<string, unknown>;
        return block;
      }
      return result;
    },
  });
}
