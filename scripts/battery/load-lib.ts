/**
 * Load generation against a relayer (scripts/relayer.ts as a child process): paced senders, each
 * owning its devices (so seqs arrive in order), sending bulks of pre-signed readings, obeying 429 +
 * Retry-After by resending the same bulk; RSS of the relayer process and its queue depth sampled.
 * Used by scripts/battery/load.ts (the table) and test/battery/load.test.ts (a bounded CI check).
 * Importing this file does nothing.
 */
import { readFile } from "node:fs/promises";

import type { Address, Hex } from "viem";

import { bytesToHex } from "../../oracle/core/bytes.js";
import { signDigest } from "../../oracle/core/keys.js";
import { ReadingDigester } from "../../oracle/core/reading.js";

export interface LoadDevice {
  address: Address;
  privateKey: Uint8Array;
  /** Next seq to sign. */
  seq: number;
}

export interface SignedBody {
  device: Address;
  seq: string;
  timestamp: string;
  dataHash: Hex;
  signature: Hex;
}

/** `count` bulks of `bulkSize` readings for one device, seqs in order (secp256k1 keys). */
export function signBulks(
  device: LoadDevice,
  domain: { chainId: number; anchor: Address },
  timestamp: number,
  count: number,
  bulkSize: number,
): SignedBody[][] {
  const digester = new ReadingDigester(domain.chainId, domain.anchor);
  const bulks: SignedBody[][] = [];
  for (let b = 0; b < count; b++) {
    const bulk: SignedBody[] = [];
    for (let i = 0; i < bulkSize; i++) {
      const seq = device.seq++;
      const dataHash = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
      const digest = digester.digest({ device: device.address, seq: BigInt(seq), timestamp: BigInt(timestamp), dataHash });
      bulk.push({
        device: device.address,
        seq: String(seq),
        timestamp: String(timestamp),
        dataHash,
        signature: bytesToHex(signDigest("secp256k1", device.privateKey, digest)),
      });
    }
    bulks.push(bulk);
  }
  return bulks;
}

export interface PhaseResult {
  /** Readings offered per second during the phase (what the senders' schedule asked for). */
  offeredPerSecond: number;
  /** Readings accepted (202) during the paced phase, per second. */
  acceptedPerSecond: number;
  accepted: number;
  requests: number;
  answers429: number;
  answers5xx: number;
  otherErrors: Map<number, number>;
  retryAfterMissing: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Seconds from the end of the paced phase until every offered reading was accepted. */
  drainSeconds: number;
  maxRssMiB: number;
  maxQueueDepth: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** VmRSS of a process, MiB (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : 0;
}

/**
 * Runs one phase: each sender sends its bulks paced at `ratePerSecond / senders` readings per
 * second for `seconds`, then (drain) sends whatever is left as fast as 429s allow, until
 * `drainTimeoutMs`. Every bulk is resent until answered 202.
 */
export async function runPhase(options: {
  url: string;
  pid: number;
  bulksBySender: SignedBody[][][];
  ratePerSecond: number;
  seconds: number;
  drainTimeoutMs: number;
}): Promise<PhaseResult> {
  const { url, pid, bulksBySender, ratePerSecond, seconds } = options;
  const senders = bulksBySender.length;
  const bulkSize = bulksBySender[0]?.[0]?.length ?? 1;
  const intervalMs = (1000 * bulkSize * senders) / ratePerSecond;
  const latencies: number[] = [];
  const otherErrors = new Map<number, number>();
  let accepted = 0;
  let acceptedInPhase = 0;
  let requests = 0;
  let answers429 = 0;
  let answers5xx = 0;
  let retryAfterMissing = 0;
  let maxRss = 0;
  let maxQueue = 0;

  const t0 = performance.now();
  const phaseEnd = t0 + seconds * 1000;
  const drainEnd = phaseEnd + options.drainTimeoutMs;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxRss = Math.max(maxRss, await rssMiB(pid));
      const metrics = await fetch(`${url}/metrics`)
        .then((r) => r.text())
        .catch(() => "");
      const m = /^sensorseal_relayer_queue_depth (\d+)/m.exec(metrics);
      if (m) maxQueue = Math.max(maxQueue, Number(m[1]));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  async function sender(bulks: SignedBody[][], index: number): Promise<void> {
    // Staggered start so senders do not fire in lockstep.
    let next = t0 + (intervalMs * index) / senders;
    for (const bulk of bulks) {
      const body = JSON.stringify(bulk);
      for (;;) {
        const now = performance.now();
        if (now > drainEnd) throw new Error("drain timed out");
        if (now < phaseEnd && now < next) await new Promise((r) => setTimeout(r, next - now));
        const started = performance.now();
        requests++;
        const res = await fetch(`${url}/v1/readings`, { method: "POST", headers: { "content-type": "application/json" }, body });
        await res.arrayBuffer();
        latencies.push(performance.now() - started);
        if (res.status === 202) {
          accepted += bulk.length;
          if (performance.now() <= phaseEnd) acceptedInPhase += bulk.length;
          next += intervalMs;
          break;
        }
        if (res.status >= 500) answers5xx++;
        if (res.status === 429) {
          answers429++;
          const retryAfter = Number(res.headers.get("retry-after"));
          if (!Number.isFinite(retryAfter) || retryAfter <= 0) retryAfterMissing++;
          // Obey Retry-After (seconds), jittered so senders do not come back in lockstep.
          const wait = (Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 1000) * (0.5 + Math.random() * 0.5);
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        otherErrors.set(res.status, (otherErrors.get(res.status) ?? 0) + 1);
        if (res.status !== 503) throw new Error(`unexpected answer ${res.status}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  await Promise.all(bulksBySender.map(sender));
  const finished = performance.now();
  sampling = false;
  await sampler;
  const sorted = latencies.sort((a, b) => a - b);
  const offered = bulksBySender.reduce((s, b) => s + b.length * bulkSize, 0);
  return {
    offeredPerSecond: offered / seconds,
    acceptedPerSecond: acceptedInPhase / seconds,
    accepted,
    requests,
    answers429,
    answers5xx,
    otherErrors,
    retryAfterMissing,
    latencyMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? 0 },
    drainSeconds: Math.max(0, (finished - phaseEnd) / 1000),
    maxRssMiB: maxRss,
    maxQueueDepth: maxQueue,
  };
}

/** Bulks for a phase: `ratePerSecond × seconds` readings spread over the devices (one sender each). */
export function phaseBulks(
  devices: LoadDevice[],
  domain: { chainId: number; anchor: Address },
  timestamp: number,
  ratePerSecond: number,
  seconds: number,
  bulkSize: number,
): SignedBody[][][] {
  const total = Math.ceil(ratePerSecond * seconds);
  const perDevice = Math.max(1, Math.ceil(total / devices.length / bulkSize));
  return devices.map((d) => signBulks(d, domain, timestamp, perDevice, bulkSize));
}

/** Waits until the relayer has nothing queued and every batch is confirmed (via /metrics). */
export async function waitDrained(url: string, timeoutMs: number, mine?: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    await mine?.();
    const text = await fetch(`${url}/metrics`).then((r) => r.text());
    const queue = Number(/^sensorseal_relayer_queue_depth (\d+)/m.exec(text)?.[1] ?? "NaN");
    const open = [...text.matchAll(/^sensorseal_relayer_batches\{status="(queued|sent|mined)"\} (\d+)/gm)].reduce(
      (s, m) => s + Number(m[2]),
      0,
    );
    if (queue === 0 && open === 0) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > timeoutMs) throw new Error(`not drained: queue ${queue}, open batches ${open}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
