/**
 * A local chain for the stack that survives restarts: Hardhat's EDR (in-process) served over
 * JSON-RPC, with every state-changing call appended to a journal file and replayed, with the same
 * block timestamps, on the next start. EDR keeps state in memory only; replaying the same calls in
 * the same order at the same times rebuilds the same blocks, hashes and contract addresses, so the
 * services' stores (which name blocks and transactions) stay true across restarts. After the replay
 * one block dated now moves the clock past the time the stack was stopped.
 */
import { createReadStream } from "node:fs";
import { appendFile, mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";

import type { EIP1193Provider } from "hardhat/types/providers";

import { startRpcServer } from "./rpc-server.js";

/** Calls that change the chain: journaled and replayed. */
const STATE_CHANGING = new Set([
  "eth_sendRawTransaction",
  "eth_sendTransaction",
  "evm_mine",
  "hardhat_mine",
  "evm_increaseTime",
  "evm_setNextBlockTimestamp",
  "hardhat_setBalance",
  "evm_setAutomine",
  "evm_setIntervalMining",
]);

/** The journal's first line: the genesis block's time, which the next start must reuse. */
interface JournalHeader {
  genesisTimestamp: number;
}

interface JournalEntry {
  method: string;
  params: unknown[];
  /** Timestamp of the block the call produced, when it produced one. */
  ts?: number;
}

/**
 * The genesis time a journaled chain started with (undefined for a new journal): create the EDR
 * network with `initialDate` set to it, so replayed blocks get the same timestamps and hashes.
 *
 * @example const genesis = await journalGenesis("data/chains/audit.jsonl");
 */
export async function journalGenesis(journalFile: string): Promise<Date | undefined> {
  try {
    const lines = createInterface({ input: createReadStream(journalFile), crlfDelay: Infinity });
    for await (const line of lines) {
      const header = JSON.parse(line) as Partial<JournalHeader>;
      return typeof header.genesisTimestamp === "number" ? new Date(header.genesisTimestamp * 1000) : undefined;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return undefined;
}

export interface LocalChain {
  url: string;
  /** Calls replayed from the journal at start. */
  replayed: number;
  /** Mines an empty block now (journaled), so confirmations advance without traffic. */
  mine(): Promise<void>;
  close(): Promise<void>;
}

async function latestBlock(request: EIP1193Provider["request"]): Promise<{ number: number; timestamp: number }> {
  const block = (await request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as {
    number: string;
    timestamp: string;
  };
  return { number: Number(block.number), timestamp: Number(block.timestamp) };
}

/**
 * Replays the journal into `provider` (the header line first records, or gives back, the genesis
 * time); returns how many calls were replayed.
 */
async function replayJournal(provider: EIP1193Provider, journalFile: string, onReplay?: (done: number) => void): Promise<number> {
  await mkdir(path.dirname(journalFile), { recursive: true });
  let replayed = 0;
  let header = false;
  try {
    const lines = createInterface({ input: createReadStream(journalFile), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === "") continue;
      if (!header) {
        header = true;
        continue;
      }
      const entry = JSON.parse(line) as JournalEntry;
      if (entry.ts !== undefined) {
        await provider.request({ method: "evm_setNextBlockTimestamp", params: [entry.ts] });
      }
      await provider.request({ method: entry.method, params: entry.params });
      replayed += 1;
      if (replayed % 1000 === 0) onReplay?.(replayed);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (!header) {
    const genesis = (await provider.request({ method: "eth_getBlockByNumber", params: ["0x0", false] })) as { timestamp: string };
    const first: JournalHeader = { genesisTimestamp: Number(genesis.timestamp) };
    await appendFile(journalFile, `${JSON.stringify(first)}\n`);
  }
  return replayed;
}

/**
 * Routes every call of `provider` (in-process ones too) through one queue that journals the
 * state-changing ones; returns the call function the HTTP server uses.
 */
function journalCalls(provider: EIP1193Provider, journalFile: string): (method: string, params: unknown[]) => Promise<unknown> {
  // One call at a time: the journal's order is the chain's order.
  const request = provider.request.bind(provider);
  let queue: Promise<unknown> = Promise.resolve();
  const call = (method: string, params: unknown[]): Promise<unknown> => {
    if (!STATE_CHANGING.has(method)) return request({ method, params });
    const result = queue.then(async () => {
      const before = await latestBlock(request);
      const answer = await request({ method, params });
      const after = await latestBlock(request);
      const entry: JournalEntry = { method, params };
      if (after.number > before.number) entry.ts = after.timestamp;
      await appendFile(journalFile, `${JSON.stringify(entry)}\n`);
      return answer;
    });
    queue = result.catch(() => undefined);
    return result;
  };
  provider.request = ((args: { method: string; params?: unknown[] }) => call(args.method, args.params ?? [])) as EIP1193Provider["request"];
  return call;
}

/**
 * After a replay the chain's clock runs on from its last block, i.e. as far behind the wall clock
 * as the stack was stopped; readings signed now would look dated after their anchoring. One block
 * dated now (journaled, so the next replay makes it too) moves the clock forward; it is never moved
 * back.
 */
async function catchUpClock(journaled: EIP1193Provider): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  if ((await latestBlock(journaled.request)).timestamp >= now) return;
  await journaled.request({ method: "evm_setNextBlockTimestamp", params: [now] });
  await journaled.request({ method: "evm_mine", params: [] });
}

/**
 * Replays `journalFile` into `provider`, then serves it on `host:port`, journaling from then on:
 * calls over HTTP and calls made in-process on `provider` itself (Ignition deploys that way).
 * Web pages may only read (see ./rpc-server.ts): those of `browserOrigins` (the dashboard) and
 * wallet extensions.
 *
 * @example
 * const { provider } = await network.create("audit");
 * const chain = await startLocalChain(provider, "data/chains/audit.jsonl", 8545, "127.0.0.1", undefined, dashboardOrigins(8090));
 */
export async function startLocalChain(
  provider: EIP1193Provider,
  journalFile: string,
  port: number,
  host = "127.0.0.1",
  onReplay?: (done: number) => void,
  browserOrigins: readonly string[] = [],
): Promise<LocalChain> {
  const replayed = await replayJournal(provider, journalFile, onReplay);
  const call = journalCalls(provider, journalFile);
  if (replayed > 0) await catchUpClock(provider); // journalCalls routed provider.request through the journal
  const server = await startRpcServer({ host, port, allowedOrigins: browserOrigins, allowExtensions: true, call });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    replayed,
    async mine() {
      await call("evm_mine", []);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
