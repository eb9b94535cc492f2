/**
 * The live status line of `npm start`: every few seconds, one line with readings accepted by the
 * relayer, readings the auditor checked (anchored), verified %, alerts, the committee's latest
 * epoch and the claims made on the reward chain. A part that does not answer shows "?".
 *
 * @module
 */
import { createPublicClient, http, parseEventLogs, type Address } from "viem";

import { rewardDistributorAbi } from "../../oracle/chain/abis.js";

/** Where the status line reads from. */
export interface StackStatusSources {
  relayerUrl: string;
  auditorUrl: string;
  oracleUrl: string;
  rewardRpcUrl: string;
  distributor: Address;
  distributorDeployBlock: number;
}

async function json(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function metric(url: string, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
    const values = text
      .split("\n")
      .filter((l) => l.startsWith(name) && !l.startsWith("#"))
      .map((l) => Number(l.split(" ").at(-1)));
    return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
  } catch {
    return undefined;
  }
}

/**
 * One status line.
 *
 * @example await statusLine(sources); // "[status] readings 1204 · anchored 1180 · verified 100% · alerts 0 · epoch 3 · claims 1"
 */
export async function statusLine(s: StackStatusSources): Promise<string> {
  const reward = createPublicClient({ transport: http(s.rewardRpcUrl, { timeout: 2000, retryCount: 0 }) });
  const [accepted, auditor, epoch, claims] = await Promise.all([
    metric(`${s.relayerUrl}/metrics`, "sensorseal_relayer_readings_accepted_total"),
    json(`${s.auditorUrl}/v1/status`),
    json(`${s.oracleUrl}/v1/epochs/latest`),
    reward
      .getLogs({ address: s.distributor, fromBlock: BigInt(s.distributorDeployBlock) })
      .then((logs) => parseEventLogs({ abi: rewardDistributorAbi, logs, eventName: "Claimed" }).length)
      .catch(() => undefined),
  ]);
  const verdicts = (auditor?.verdicts ?? {}) as Record<string, number>;
  const checked = Object.values(verdicts).reduce((a, b) => a + b, 0);
  const alerts = (auditor?.alerts as { total?: number } | undefined)?.total;
  const show = (x: unknown) => (x === undefined || x === null ? "?" : String(x));
  const stale = auditor?.stale === true ? " (auditor stale)" : "";
  return (
    `[status] readings ${show(accepted)} · anchored+checked ${auditor === undefined ? "?" : checked} · verified ${show(auditor?.verifiedPercent)}%${stale}` +
    ` · alerts ${show(alerts)} · last epoch ${show(epoch?.epoch)} · claims ${show(claims)}`
  );
}

/**
 * Prints {@link statusLine} every `everyMs` until the returned stop is called.
 *
 * @example const stop = startStatusLine(sources, 5000, console.log); … stop();
 */
export function startStatusLine(s: StackStatusSources, everyMs: number, print: (line: string) => void): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    statusLine(s)
      .then(print, () => undefined)
      .finally(() => (busy = false));
  }, everyMs);
  return () => clearInterval(timer);
}
