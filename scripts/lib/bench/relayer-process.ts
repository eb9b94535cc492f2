/**
 * The relayer as a child process (scripts/relayer.ts) for the ingestion and latency sections, and the HTTP drivers.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";

import { type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../../oracle/chain/abis.js";

import { DEV_KEYS } from "../dev-keys.js";
import { type BenchChain } from "./chains.js";
import { CFG, OUT_DIR, ROOT } from "./run.js";
import { ownCpuMs, processCpuMs } from "./process-usage.js";
import { fmtNum, HttpClient, sleep, type HttpAnswer } from "./util.js";

// ---- services as child processes ----------------------------------------------------------------
/** A service (scripts/<name>.ts) running in its own process. */
export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `scripts/<script>` (`node --import tsx`) with `env`, resolving with its URL once it logs
 * `<name> listening`. BENCH_CPU_PROF=1 starts it with `--cpu-prof` (profiles in <data>/bench/prof).
 */
export async function startServiceProcess(
  name: string,
  script: string,
  env: Record<string, string>,
  logFile: string,
): Promise<ServiceProcess> {
  const out = createWriteStream(logFile, { flags: "w" });
  const profile = process.env.BENCH_CPU_PROF === "1" ? ["--cpu-prof", "--cpu-prof-dir", path.join(OUT_DIR, "prof")] : [];
  const child = spawn(process.execPath, [...profile, "--import", "tsx", path.join(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr?.pipe(out);
  let exited = false;
  // Should this process end without stopping it (a crash), the service ends too instead of living on orphaned.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      process.off("exit", killOnExit);
      resolve();
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${name} did not start within 60 s (see ${logFile})`)), 60_000);
    child.once("exit", (code) => reject(new Error(`the ${name} exited (${code}) at start (see ${logFile})`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      out.write(`${line}\n`);
      if (!line.includes(`${name} listening`)) return;
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

/** The audit-chain part of a service's environment. */
export function chainEnv(audit: BenchChain & { registry: Address; anchor: Address }): Record<string, string> {
  return {
    HOST: "127.0.0.1",
    PORT: "0",
    AUDIT_RPC_URL: audit.rpcUrl,
    AUDIT_CHAIN_ID: String(audit.chainId),
    ANCHOR_ADDRESS: audit.anchor,
    REGISTRY_ADDRESS: audit.registry,
    REGISTRY_DEPLOY_BLOCK: "0",
    REGISTRY_POLL_MS: "1000",
    LOG_LEVEL: "info",
  };
}

/** A free TCP port on 127.0.0.1 (the relayer must know its public URL before it starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The relayer on a free port, its URL and receipt signer first recorded on-chain (`registerRelayer` by
 * the admin, as scripts/stack.ts does): the relayer refuses to start when its registration differs.
 * `databaseUrl` is its DATABASE_URL (a SQLite file or `postgres://…`). Instances of one relayer on
 * one PostgreSQL store share its public URL: pass the first one's `url` as `publicUrl` to the others.
 */
export async function startRelayerProcess(
  audit: BenchChain & { registry: Address; anchor: Address },
  databaseUrl: string,
  logFile: string,
  extraEnv: Record<string, string> = {},
  options: { publicUrl?: string } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const publicUrl = options.publicUrl ?? `http://127.0.0.1:${port}`;
  const admin = audit.wallet(DEV_KEYS.admin);
  const hash = await admin.writeContract({
    address: audit.anchor,
    abi: readingAnchorAbi,
    functionName: "registerRelayer",
    args: [privateKeyToAccount(DEV_KEYS.relayer).address, publicUrl, privateKeyToAccount(DEV_KEYS.receipt).address],
    chain: audit.chain,
  });
  await audit.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  return startServiceProcess(
    "relayer",
    "scripts/relayer.ts",
    {
      ...chainEnv(audit),
      PORT: String(port),
      RELAYER_PUBLIC_URL: publicUrl,
      DATABASE_URL: databaseUrl,
      RELAYER_PRIVATE_KEY: DEV_KEYS.relayer,
      RECEIPT_PRIVATE_KEY: DEV_KEYS.receipt,
      ...CFG.relayer,
      // Per-address limits out of the way: the benchmark is one client sending for many devices. The
      // load shedder stays on as deployed: the client honours its 429 + Retry-After.
      RELAYER_IP_REQUESTS_PER_SECOND: "1000000000",
      RELAYER_IP_REQUEST_BURST: "1000000000",
      RELAYER_IP_READINGS_PER_SECOND: "1000000000",
      RELAYER_IP_READING_BURST: "1000000000",
      RELAYER_DEVICE_READINGS_PER_MINUTE: "1000000000",
      RELAYER_DEVICE_BURST: "1000000000",
      RELAYER_MAX_QUEUE_DEPTH: "10000000",
      ...extraEnv,
    },
    logFile,
  );
}

/**
 * The platform (scripts/platform.ts) on its own SQLite file, per-address and per-device limits out of
 * the way unless `extraEnv` sets them.
 */
export async function startPlatformProcess(
  audit: BenchChain & { registry: Address; anchor: Address },
  databaseFile: string,
  apiKeysFile: string,
  logFile: string,
  extraEnv: Record<string, string> = {},
): Promise<ServiceProcess> {
  return startServiceProcess(
    "platform",
    "scripts/platform.ts",
    {
      ...chainEnv(audit),
      DATABASE_URL: databaseFile,
      PLATFORM_API_KEYS_FILE: apiKeysFile,
      PLATFORM_IP_RATE_PER_SECOND: "1000000000",
      PLATFORM_IP_BURST: "1000000000",
      PLATFORM_DEVICE_READINGS_PER_MINUTE: "1000000000",
      PLATFORM_DEVICE_BURST: "1000000000",
      PLATFORM_MAX_BULK_ITEMS: String(Math.max(200, CFG.bulkSize)),
      ...extraEnv,
    },
    logFile,
  );
}

/** What {@link drive} measured: wall time and the 429s it waited out. */
export interface DriveResult {
  ms: number;
  /** Requests answered 429 and sent again after their Retry-After. */
  retries: number;
  /** Seconds spent waiting on Retry-After, summed over workers. */
  retryWaitSeconds: number;
  /**
   * CPU ms used during the run (user + system, all threads) by each process of `cpuOf`, and by the
   * bench's own process as `bench` (the load generator, and the audit chain when it runs in-process).
   */
  cpuMs: Record<string, number>;
}

/**
 * Sends each worker's bodies in order, workers concurrently, the way a real client does: a 429 is
 * waited out for its Retry-After (1 s when absent) and the same body sent again; every other answer
 * must be `okStatus` (default 202), and pass `validate` when given. Given several clients (instances
 * of one service), each request goes to the next one, round robin, as a load balancer would.
 */
export async function drive(
  client: HttpClient | readonly HttpClient[],
  queues: string[][],
  okStatus: readonly number[] = [202],
  validate?: (text: string) => void,
  cpuOf: Record<string, ServiceProcess> = {},
): Promise<DriveResult> {
  const clients: readonly HttpClient[] = client instanceof HttpClient ? [client] : client;
  let sent = 0;
  const cpu0 = cpuSnapshot(cpuOf);
  const t0 = performance.now();
  const waits = { retries: 0, retryWaitSeconds: 0 };
  await Promise.all(
    queues.map(async (queue) => {
      for (const body of queue) {
        const answer = await postWaitingOut429(() => clients[sent++ % clients.length]!, body, okStatus, waits);
        validate?.(answer.text);
      }
    }),
  );
  const ms = performance.now() - t0;
  return { ms, ...waits, cpuMs: cpuSince(cpu0, cpuOf) };
}

/**
 * POSTs one body to /v1/readings as a real client does: a 429 is waited out for its Retry-After (1 s
 * when absent) and the body sent again (to `clientFor()`'s pick each time), counted in `waits`; the
 * final answer must be one of `okStatus`.
 */
async function postWaitingOut429(
  clientFor: () => HttpClient,
  body: string,
  okStatus: readonly number[],
  waits: { retries: number; retryWaitSeconds: number },
): Promise<HttpAnswer> {
  for (;;) {
    const answer = await clientFor().post("/v1/readings", body);
    if (answer.status !== 429) {
      if (!okStatus.includes(answer.status)) throw new Error(`service answered ${answer.status}: ${answer.text.slice(0, 400)}`);
      return answer;
    }
    const wait = answer.retryAfterSeconds ?? 1;
    waits.retries++;
    waits.retryWaitSeconds += wait;
    await sleep(wait * 1000);
  }
}

/** CPU ms used so far by the bench's own process (`bench`) and each process of `cpuOf`. */
function cpuSnapshot(cpuOf: Record<string, ServiceProcess>): Record<string, number> {
  return {
    bench: ownCpuMs(),
    ...Object.fromEntries(Object.entries(cpuOf).map(([name, p]) => [name, p.child.pid === undefined ? NaN : processCpuMs(p.child.pid)])),
  };
}

/** CPU ms each process used since `before` ({@link cpuSnapshot}). */
function cpuSince(before: Record<string, number>, cpuOf: Record<string, ServiceProcess>): Record<string, number> {
  return Object.fromEntries(Object.entries(cpuSnapshot(cpuOf)).map(([name, used]) => [name, used - before[name]]));
}

/** What {@link driveAtRate} measured, beside {@link DriveResult}'s figures (`ms`: first send to last answer). */
export interface RateDriveResult extends DriveResult {
  /** Each request's time from its send to its final answer (ms; a 429's wait and resend included). */
  latencies: number[];
  /** Most requests in flight at once. */
  peakInFlight: number;
  /** How late a request went out against its clock at worst (ms): more than a few ms means the in-flight cap held sending back. */
  sendLagMs: number;
}

/**
 * Sends `bodies` one per request on a clock, an open loop: request i is due `i / ratePerSecond` seconds
 * after the start whatever the answers, as devices post on their own clocks without waiting for each
 * other. At most `maxInFlight` are out at once; at that cap sending waits and falls behind its clock,
 * so a service that does not keep up shows as a send lag. A 429 is waited out for its Retry-After and
 * sent again, as in {@link drive}; any other answer must be 202.
 */
export async function driveAtRate(
  client: HttpClient,
  bodies: readonly string[],
  ratePerSecond: number,
  maxInFlight: number,
  cpuOf: Record<string, ServiceProcess> = {},
): Promise<RateDriveResult> {
  const cpu0 = cpuSnapshot(cpuOf);
  const latencies = new Array<number>(bodies.length);
  let inFlight = 0;
  let peakInFlight = 0;
  let sendLagMs = 0;
  const waits = { retries: 0, retryWaitSeconds: 0 };
  let failure: unknown;
  let roomMade: (() => void) | undefined;
  const send = async (i: number): Promise<void> => {
    const sentAt = performance.now();
    await postWaitingOut429(() => client, bodies[i], [202], waits);
    latencies[i] = performance.now() - sentAt;
  };
  const running: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < bodies.length && failure === undefined; i++) {
    const due = t0 + (i * 1000) / ratePerSecond;
    // Timers fire at millisecond steps: every request due by then goes out in the same step.
    if (performance.now() < due) await sleep(due - performance.now());
    while (inFlight >= maxInFlight) await new Promise<void>((resolve) => (roomMade = resolve));
    sendLagMs = Math.max(sendLagMs, performance.now() - due);
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    running.push(
      send(i)
        .catch((error: unknown) => void (failure ??= error))
        .finally(() => {
          inFlight--;
          roomMade?.();
          roomMade = undefined;
        }),
    );
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
  const ms = performance.now() - t0;
  return { ms, ...waits, cpuMs: cpuSince(cpu0, cpuOf), latencies, peakInFlight, sendLagMs };
}

/** CPU µs per reading of each process of a run (see {@link DriveResult.cpuMs}). */
export const cpuPerReading = (run: DriveResult, readings: number): Record<string, number> =>
  Object.fromEntries(Object.entries(run.cpuMs).map(([name, ms]) => [name, (ms * 1000) / readings]));

/**
 * "relayer 84 µs/reading (11,900/s per core), bench 40 µs/reading": what each process spent per
 * reading, a figure the other jobs on a shared machine disturb far less than readings/s.
 */
export function fmtCpu(run: DriveResult, readings: number): string {
  return Object.entries(cpuPerReading(run, readings))
    .map(([name, us]) => `${name} ${us.toFixed(0)} µs/reading${name === "bench" ? "" : ` (${fmtNum(1e6 / us)}/s per core)`}`)
    .join(", ");
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
