/**
 * The relayer as a child process (scripts/relayer.ts) for the ingestion and latency sections, and the HTTP drivers.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";

import { type Address, type Hex } from "viem";

import { DEV_KEYS } from "../dev-keys.js";
import { type BenchChain } from "./chains.js";
import { CFG, ROOT } from "./run.js";
import { type HttpClient } from "./util.js";

// ---- the relayer as a child process ------------------------------------------------------------------
export interface RelayerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}
export async function startRelayerProcess(
  audit: BenchChain & { registry: Address; anchor: Address },
  databaseFile: string,
  logFile: string,
): Promise<RelayerProcess> {
  const relayerEnv: Record<string, string> = {
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_URL: databaseFile,
    AUDIT_RPC_URL: audit.rpcUrl,
    AUDIT_CHAIN_ID: String(audit.chainId),
    ANCHOR_ADDRESS: audit.anchor,
    REGISTRY_ADDRESS: audit.registry,
    REGISTRY_DEPLOY_BLOCK: "0",
    REGISTRY_POLL_MS: "1000",
    RELAYER_PRIVATE_KEY: DEV_KEYS.relayer,
    RECEIPT_PRIVATE_KEY: DEV_KEYS.receipt,
    ...CFG.relayer,
    // Abuse limits out of the way: the benchmark is one client sending for many devices.
    RELAYER_IP_REQUESTS_PER_SECOND: "1000000000",
    RELAYER_IP_REQUEST_BURST: "1000000000",
    RELAYER_IP_READINGS_PER_SECOND: "1000000000",
    RELAYER_IP_READING_BURST: "1000000000",
    RELAYER_DEVICE_READINGS_PER_MINUTE: "1000000000",
    RELAYER_DEVICE_BURST: "1000000000",
    RELAYER_MAX_QUEUE_DEPTH: "10000000",
    LOG_LEVEL: "info",
  };
  const out = createWriteStream(logFile, { flags: "w" });
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/relayer.ts")], {
    cwd: ROOT,
    env: { ...process.env, ...relayerEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr?.pipe(out);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the relayer did not start within 60 s (see ${logFile})`)), 60_000);
    child.once("exit", (code) => reject(new Error(`the relayer exited (${code}) at start (see ${logFile})`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      out.write(`${line}\n`);
      if (!line.includes("relayer listening")) return;
      try {
        const { url } = JSON.parse(line) as { url?: string };
        if (url !== undefined) {
          clearTimeout(timer);
          resolve(url);
        }
      } catch {
        // not JSON
      }
    });
  });
  return {
    url,
    child,
    async stop() {
      if (exited) return;
      const force = setTimeout(() => child.kill("SIGKILL"), 40_000);
      child.kill("SIGTERM");
      await exit;
      clearTimeout(force);
      out.end();
    },
  };
}

/** Sends each worker's bodies in order, workers concurrently; every answer must be 202. */
export async function drive(client: HttpClient, queues: string[][]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    queues.map(async (queue) => {
      for (const body of queue) {
        const answer = await client.post("/v1/readings", body);
        if (answer.status !== 202) throw new Error(`relayer answered ${answer.status}: ${answer.text.slice(0, 400)}`);
      }
    }),
  );
  return performance.now() - t0;
}

export interface ReadingStatusAnswer {
  status: string;
  root?: Hex;
  leaf?: Hex;
  proof?: Hex[];
}
export async function readingStatus(client: HttpClient, device: Address, seq: number): Promise<ReadingStatusAnswer> {
  const answer = await client.get(`/v1/readings/${device}/${seq}`);
  if (answer.status !== 200) throw new Error(`GET reading ${device}/${seq}: ${answer.status} ${answer.text.slice(0, 300)}`);
  return JSON.parse(answer.text) as ReadingStatusAnswer;
}
export const isAnchored = (s: string) => s === "anchored" || s === "confirmed";

// ================================================================================================
// Sections 1–3: the audit chain, the relayer, the direct path
