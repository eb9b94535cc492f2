/**
 * Soak run of the whole loop at a fleet's rate for N minutes, every part a real process as `npm start`
 * runs it: the platform (scripts/platform.ts) and the relayer (scripts/relayer.ts) taking every
 * reading, the relayer anchoring on the audit chain, the agency's auditor (scripts/auditor.ts)
 * following the audit chain and checking each anchored reading against the platform's raw payload,
 * and the oracle committee (scripts/oracle.ts, 2 of 3) judging the same batches and posting reward
 * roots on the reward chain. Both chains are EDR over JSON-RPC in this process, a block mined every
 * 2 s as in the stack. Not a test (it runs for minutes); run it by hand:
 *
 *   npm run soak                                         # 100,000 devices × 1/min ≈ 1,667 readings/s, 10 min
 *   SOAK_DEVICES=3000 SOAK_MINUTES=1 SOAK_KEYS=50 npm run soak
 *
 * Environment (defaults): SOAK_DEVICES (100000: simulated devices, one reading each per
 * SOAK_INTERVAL_SECONDS), SOAK_INTERVAL_SECONDS (60), SOAK_MINUTES (10), SOAK_KEYS (500: devices
 * registered on-chain; each simulated device is one (key, seq stream) — registering 100,000 keys
 * would take the chain hours, so one key carries SOAK_DEVICES / SOAK_KEYS streams and the per-device
 * quotas are raised to match), SOAK_BULK (100 readings per request: a gateway's batch), SOAK_SENDERS
 * (8 concurrent requests per service), SOAK_ORACLES (3 committee members; the threshold is 2),
 * SOAK_EPOCH_BLOCKS (30: a reward epoch a minute at a block every 2 s), SOAK_DRAIN_SECONDS (300:
 * after the load, how long to wait for anchoring, auditing and the committee to catch up),
 * SOAK_KEEP_STORES=1 (keep the services' SQLite stores in <data>/soak; removed at the end otherwise),
 * SOAK_ADDRESS_BUDGET=off (the platform's and relayer's per-address check budget off; as deployed otherwise),
 * SOAK_RECEIPTS (root: the relayer bulks ask for one receipt root each, `Prefer: receipt=root`, as a
 * gateway would; reading: a receipt per reading).
 *
 * Every reading is signed once by its device (EIP-712) and sent twice, in bulks: raw payload and
 * signature to the platform, signed hash to the relayer; 429s are waited out for their Retry-After.
 * Printed every 10 s: offered, accepted by each service and its backlog, anchored leaves, readings
 * the auditor verified, the committee's epoch, then each process's RSS and CPU share. At the end: a
 * summary (readings lost, duplicates anchored, requests each intake refused by code, reading →
 * anchored p50/p95, auditor lag and failures, epochs and roots, the committee's accounting against
 * the anchored leaves, per-process peak RSS, growth and CPU share, audit-chain transactions per
 * minute, whether the offered rate held), also written to <data>/soak/latest.json.
 *
 * @module
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { parseEventLogs } from "viem";

import { readingAnchorAbi, rewardDistributorAbi } from "../oracle/chain/abis.js";
import { dataDir } from "../oracle/chain/deployments.js";
import { ReadingDigester } from "../oracle/core/reading.js";
import { generateApiKey } from "../oracle/platform/auth.js";
import { openDatabase } from "../oracle/store/sql.js";
import { startBenchAuditChain, startBenchRewardChain } from "./lib/bench/chains.js";
import { newDevice, platformWire, registerDevices, signReading, wire, type Device } from "./lib/bench/devices.js";
import { Feed } from "./lib/bench/feed.js";
import {
  metricByLabel,
  metricSum,
  metricsProbe,
  procProbe,
  selfProbe,
  usageTable,
  UsageTracker,
  type UsageSummary,
} from "./lib/bench/process-usage.js";
import { startPlatformProcess, startRelayerProcess, type ServiceProcess } from "./lib/bench/relayer-process.js";
import { cleanup, cleanups, log, num } from "./lib/bench/run.js";
import { fmtNum, HttpClient, percentile, sleep } from "./lib/bench/util.js";
import { startAuditorProcess, startOracleCommittee } from "./lib/bench/verifier-processes.js";

const DEVICES = num("SOAK_DEVICES", 100_000);
const INTERVAL_S = num("SOAK_INTERVAL_SECONDS", 60);
const MINUTES = num("SOAK_MINUTES", 10);
const KEYS = Math.min(num("SOAK_KEYS", 500), DEVICES);
const BULK = num("SOAK_BULK", 100);
const SENDERS = num("SOAK_SENDERS", 8);
const ORACLES = Math.min(3, Math.max(2, num("SOAK_ORACLES", 3)));
const EPOCH_BLOCKS = num("SOAK_EPOCH_BLOCKS", 30);
const DRAIN_SECONDS = num("SOAK_DRAIN_SECONDS", 300);
/**
 * The per-address signature-check budget (oracle/service/signature-budget.ts) stays as deployed unless
 * SOAK_ADDRESS_BUDGET=off: the whole simulated fleet sends from this one address, and a request is
 * refused (429 RATE_LIMITED) while the address's readings still in their check hold the burst (400).
 */
const ADDRESS_BUDGET_OFF = process.env.SOAK_ADDRESS_BUDGET === "off";
const RECEIPTS = process.env.SOAK_RECEIPTS ?? "root";
if (RECEIPTS !== "root" && RECEIPTS !== "reading") throw new Error("SOAK_RECEIPTS must be root or reading");
const RATE = DEVICES / INTERVAL_S;
const BLOCK_INTERVAL_MS = 2000;
/**
 * A part holds when, at the end of the load, what it has not taken yet is at most this many seconds
 * of the offered rate; an intake (platform, relayer) must also have taken HOLD_INTAKE_SHARE of the
 * offered rate over the load (a backlog that grows all along fails this even in a short run).
 */
const HOLD_SLACK_SECONDS = 30;
const HOLD_INTAKE_SHARE = 0.95;
const MIB = 2 ** 20;

const dir = path.join(dataDir(), "soak");
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const file = (name: string) => path.join(dir, `${name}-${stamp}`);

/** Where the loop stands: read from the chains, the auditor and the committee. */
interface Progress {
  anchoredLeaves: number;
  batches: number;
  lastAnchorBlock: number;
  auditorChecked: number;
  auditorVerified: number;
  auditorAlerts: number;
  auditorUnchecked: number;
  oracleProcessedBlocks: number[];
  oracleEpoch: number;
}

try {
  await mkdir(dir, { recursive: true });
  // The stores (and the auditor's API key file) go at the end (the last cleanup, after every process stopped) unless SOAK_KEEP_STORES=1.
  const stores = ["platform", "relayer", "auditor", "oracle-0", "oracle-1", "oracle-2"].map((name) => `${file(name)}.sqlite`);
  if (process.env.SOAK_KEEP_STORES !== "1")
    cleanups.push(async () => {
      for (const store of stores) for (const suffix of ["", "-wal", "-shm", "-journal"]) await rm(`${store}${suffix}`, { force: true });
      await rm(`${file("platform-keys")}.json`, { force: true });
    });
  log(
    `soak: ${fmtNum(DEVICES)} devices × 1 reading / ${INTERVAL_S} s = ${fmtNum(RATE)} readings/s for ${MINUTES} min ` +
      `(${KEYS} keys, ${ORACLES} oracles, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)})`,
  );
  const audit = await startBenchAuditChain();
  cleanups.push(() => audit.close());
  const reward = await startBenchRewardChain();
  cleanups.push(() => reward.close());
  const keys: Device[] = Array.from({ length: KEYS }, () => newDevice("secp256k1"));
  log(`registering ${KEYS} device keys on the audit chain…`);
  await registerDevices(audit, keys);

  // Every service as a process; the per-device quotas fit the streams one key carries.
  const streamsPerKey = Math.ceil(DEVICES / KEYS);
  const perMinute = String(Math.ceil((streamsPerKey * 60) / INTERVAL_S) * 2);
  const burst = String(streamsPerKey * 4);
  const consumer = generateApiKey("soak-auditor", "consumer");
  const keysFile = `${file("platform-keys")}.json`;
  await writeFile(keysFile, `${JSON.stringify([consumer.entry])}\n`, { mode: 0o600 });
  const platform = await startPlatformProcess(audit, `${file("platform")}.sqlite`, keysFile, path.join(dir, "platform.log"), {
    PLATFORM_DEVICE_READINGS_PER_MINUTE: perMinute,
    PLATFORM_DEVICE_BURST: burst,
    PLATFORM_MAX_BULK_ITEMS: String(Math.max(200, BULK)),
    ...(ADDRESS_BUDGET_OFF ? { PLATFORM_READING_CHECKS_PER_SECOND: "0" } : {}),
  });
  cleanups.push(() => platform.stop());
  const relayerDb = `${file("relayer")}.sqlite`;
  const relayer = await startRelayerProcess(audit, relayerDb, path.join(dir, "relayer.log"), {
    RELAYER_DEVICE_READINGS_PER_MINUTE: perMinute,
    RELAYER_DEVICE_BURST: burst,
    BATCH_MAX_SIZE: "5000",
    BATCH_MAX_AGE_MS: "5000",
    CONFIRMATIONS: "1",
    ...(ADDRESS_BUDGET_OFF ? { RELAYER_IP_REFUSED_READINGS_PER_SECOND: "0" } : {}),
  });
  cleanups.push(() => relayer.stop());
  const auditor = await startAuditorProcess(audit, {
    platformUrl: platform.url,
    consumerKey: consumer.key,
    keysFile,
    databaseFile: `${file("auditor")}.sqlite`,
    logFile: path.join(dir, "auditor.log"),
  });
  cleanups.push(() => auditor.stop());
  const oracles = await startOracleCommittee(audit, reward, {
    members: ORACLES,
    epochBlocks: EPOCH_BLOCKS,
    dir,
    databaseFile: (i) => `${file(`oracle-${i}`)}.sqlite`,
  });
  for (const oracle of oracles) cleanups.push(() => oracle.stop());
  log(`platform ${platform.url}, relayer ${relayer.url}, auditor ${auditor.url}, oracles ${oracles.map((o) => o.url).join(" ")}`);

  // A block every 2 s on both chains, as in the stack: confirmations and epochs move when nothing is sent.
  const blockTimer = setInterval(() => {
    void Promise.all([audit.rpc("evm_mine"), reward.rpc("evm_mine")]).catch((error: unknown) => log(`mining failed: ${String(error)}`));
  }, BLOCK_INTERVAL_MS);
  cleanups.push(async () => clearInterval(blockTimer));

  const clients = {
    platform: new HttpClient(platform.url, SENDERS + 2),
    relayer: new HttpClient(relayer.url, SENDERS + 2, RECEIPTS === "root" ? { prefer: "receipt=root" } : {}),
    auditor: new HttpClient(auditor.url, 2),
    oracles: oracles.map((o) => new HttpClient(o.url, 2)),
  };
  cleanups.push(async () => {
    for (const c of Object.values(clients).flat()) c.close();
  });
  const feeds = { platform: new Feed("platform", clients.platform), relayer: new Feed("relayer", clients.relayer) };
  const pid = (s: ServiceProcess) => s.child.pid ?? NaN;
  const trackers = [
    new UsageTracker("platform", metricsProbe(clients.platform, "platform")),
    new UsageTracker("relayer", metricsProbe(clients.relayer, "relayer")),
    new UsageTracker("auditor", procProbe(pid(auditor))),
    ...oracles.map((o, i) => new UsageTracker(`oracle-${i}`, procProbe(pid(o)))),
    new UsageTracker("soak (load + chains)", selfProbe),
  ];

  // A status read, sent once more when its idle keep-alive connection was closed under it.
  const getText = async (client: HttpClient, route: string): Promise<string> => {
    const answer = await client.get(route).catch(() => client.get(route));
    if (answer.status !== 200) throw new Error(`GET ${route}: ${answer.status} ${answer.text.slice(0, 300)}`);
    return answer.text;
  };
  const getJson = async (client: HttpClient, route: string): Promise<unknown> => JSON.parse(await getText(client, route));
  const failed = () => feeds.platform.failure ?? feeds.relayer.failure;

  // Anchored leaves, read from the chain as they come.
  const anchors: { block: number; leaves: number }[] = [];
  let scannedBlock = -1n;
  const progress = async (): Promise<Progress> => {
    const head = await audit.publicClient.getBlockNumber();
    if (head > scannedBlock) {
      const logs = await audit.publicClient.getLogs({ address: audit.anchor, fromBlock: scannedBlock + 1n, toBlock: head });
      for (const e of parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" }))
        anchors.push({ block: Number(e.blockNumber), leaves: Number(e.args.leafCount) });
      scannedBlock = head;
    }
    const status = (await getJson(clients.auditor, "/v1/status")) as {
      verdicts: Record<string, number>;
      alerts: { total: number };
      unchecked: unknown[];
    };
    const members = await Promise.all(
      clients.oracles.map(async (c) => (await getJson(c, "/v1/status")) as { processedBlock: number; processedEpoch: number | null }),
    );
    return {
      anchoredLeaves: anchors.reduce((n, a) => n + a.leaves, 0),
      batches: anchors.length,
      lastAnchorBlock: anchors.at(-1)?.block ?? 0,
      auditorChecked: Object.values(status.verdicts).reduce((a, b) => a + b, 0),
      auditorVerified: status.verdicts.VERIFIED ?? 0,
      auditorAlerts: status.alerts.total,
      auditorUnchecked: status.unchecked.length,
      oracleProcessedBlocks: members.map((m) => m.processedBlock),
      oracleEpoch: Math.min(...members.map((m) => m.processedEpoch ?? -1)),
    };
  };

  const usageLine = async () => {
    const parts = await Promise.all(
      trackers.map(async (t) => {
        const s = await t.sample();
        if (s === undefined) return `${t.name} ?`;
        const cpu = Number.isNaN(s.cpuShare) ? "" : ` ${(s.cpuShare * 100).toFixed(0)} %`;
        return `${t.name} ${(s.usage.rssBytes / MIB).toFixed(0)} MiB${cpu}`;
      }),
    );
    return `RSS, CPU (% of a core): ${parts.join(" · ")}`;
  };
  const flowLine = (p: Progress, seconds: number, offered: number, before: { platform: number; relayer: number }) => {
    const rate = (f: Feed, b: number) =>
      `${fmtNum(f.accepted)} (${fmtNum((f.accepted - b) / seconds)}/s, backlog ${fmtNum(f.backlog)}, 429s ${f.retries}, resent ${f.resends})`;
    return (
      `offered ${fmtNum(offered)} · platform ${rate(feeds.platform, before.platform)} · relayer ${rate(feeds.relayer, before.relayer)} · ` +
      `anchored ${fmtNum(p.anchoredLeaves)} in ${p.batches} batches · auditor verified ${fmtNum(p.auditorVerified)} of ${fmtNum(p.auditorChecked)} checked, ` +
      `alerts ${p.auditorAlerts} · committee epoch ${p.oracleEpoch}, block ${Math.min(...p.oracleProcessedBlocks)}`
    );
  };

  // The load: readings due by now (a steady schedule at RATE per second), signed as devices do, grouped in bulks.
  await usageLine(); // first sample: CPU shares are measured from here
  feeds.platform.start(SENDERS);
  feeds.relayer.start(SENDERS);
  const digester = new ReadingDigester(audit.chainId, audit.anchor);
  const seqs = new Array<number>(KEYS).fill(0);
  let offered = 0;
  let nextKey = 0;
  const t0 = performance.now();
  const endAt = t0 + MINUTES * 60_000;
  let lastReport = t0;
  let before = { platform: 0, relayer: 0 };
  const since = () => `+${((performance.now() - t0) / 1000).toFixed(0)} s`;
  while (performance.now() < endAt) {
    const failure = failed();
    if (failure !== undefined) throw failure;
    const due = Math.floor(((performance.now() - t0) / 1000) * RATE) - offered;
    const ts = Math.floor(Date.now() / 1000);
    for (let i = 0; i < due; i += BULK) {
      const signed = Array.from({ length: Math.min(BULK, due - i) }, () => {
        const k = nextKey++ % KEYS;
        return signReading(digester, keys[k], ++seqs[k], ts);
      });
      feeds.platform.push(signed.map(platformWire));
      feeds.relayer.push(signed.map(wire));
    }
    offered += Math.max(0, due);
    if (performance.now() - lastReport >= 10_000) {
      const seconds = (performance.now() - lastReport) / 1000;
      lastReport = performance.now();
      log(`${since()}: ${flowLine(await progress(), seconds, offered, before)}`);
      log(`${since()}: ${await usageLine()}`);
      before = { platform: feeds.platform.accepted, relayer: feeds.relayer.accepted };
    }
    await sleep(100);
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  const atStop = {
    platform: { accepted: feeds.platform.accepted, backlog: feeds.platform.backlog },
    relayer: { accepted: feeds.relayer.accepted, backlog: feeds.relayer.backlog },
    progress: await progress(),
  };
  const usageDuringLoad: UsageSummary[] = (await usageLine(), trackers.map((t) => t.summary()));
  log(`load stopped after ${loadSeconds.toFixed(0)} s: ${flowLine(atStop.progress, loadSeconds, offered, { platform: 0, relayer: 0 })}`);

  // Drain: the backlogs sent, every accepted reading anchored, audited and judged by the committee.
  log("sending the backlogs, then waiting for anchoring, the auditor and the committee to catch up…");
  await Promise.all([feeds.platform.drain(), feeds.relayer.drain()]);
  const drainUntil = performance.now() + DRAIN_SECONDS * 1000;
  let end = await progress();
  let lastDrainLog = performance.now();
  while (performance.now() < drainUntil) {
    end = await progress();
    const caughtUp =
      end.anchoredLeaves >= feeds.relayer.accepted &&
      end.auditorChecked >= end.anchoredLeaves &&
      end.oracleProcessedBlocks.every((b) => b >= end.lastAnchorBlock);
    if (caughtUp) break;
    if (performance.now() - lastDrainLog >= 10_000) {
      lastDrainLog = performance.now();
      log(`draining: ${flowLine(end, 1, offered, { platform: feeds.platform.accepted, relayer: feeds.relayer.accepted })}`);
    }
    await sleep(1000);
  }
  const drainedIn = (performance.now() + DRAIN_SECONDS * 1000 - drainUntil) / 1000;

  // Accounting: the relayer's store, the platform's store, the chains, the committee's counters.
  const relayerStore = await openDatabase(relayerDb);
  cleanups.push(() => relayerStore.close());
  const count = async (db: typeof relayerStore, sql: string) => Number((await db.query<{ n: number }>(sql))[0].n);
  const relayerStored = await count(relayerStore, "SELECT COUNT(*) AS n FROM relayer_readings");
  // Received by the relayer → mined, and made by the device (its timestamp, 1 s resolution) → mined: the second counts the client's backlog too.
  const latencyRows = await relayerStore.query<{ timestamp: number; received_at: number; mined_at: number }>(
    "SELECT r.timestamp, r.received_at, b.mined_at FROM relayer_readings r JOIN relayer_batches b ON b.id = r.batch_id WHERE b.mined_at IS NOT NULL",
  );
  const latencies = latencyRows.map((r) => Number(r.mined_at) - Number(r.received_at));
  const madeToAnchored = latencyRows.map((r) => Number(r.mined_at) - Number(r.timestamp) * 1000);
  const anchorTxs = await count(relayerStore, "SELECT COUNT(*) AS n FROM relayer_txs");
  const platformStore = await openDatabase(`${file("platform")}.sqlite`);
  cleanups.push(() => platformStore.close());
  const platformStored = await count(platformStore, "SELECT COUNT(*) AS n FROM readings");
  const rootLogs = await reward.publicClient.getLogs({ address: reward.distributor, fromBlock: 0n, toBlock: "latest" });
  const rootsPosted = parseEventLogs({ abi: rewardDistributorAbi, logs: rootLogs, eventName: "RootPosted" }).length;
  const oracleMetrics = await getText(clients.oracles[0], "/metrics");
  // Every request the intakes refused (429s included), by code, as each counts them on its /metrics.
  const refusalsOf = async (client: HttpClient, service: string) =>
    metricByLabel(await getText(client, "/metrics"), `sensorseal_${service}_refusals_total`, "code");
  const refusals = { platform: await refusalsOf(clients.platform, "platform"), relayer: await refusalsOf(clients.relayer, "relayer") };
  const byCode = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([code, n]) => `${code} ${fmtNum(n)}`)
      .join(", ") || "none";
  const judged = metricByLabel(oracleMetrics, "sensorseal_oracle_readings_total", "reason");
  const judgedTotal = Object.values(judged).reduce((a, b) => a + b, 0);
  const rewarded = metricSum(oracleMetrics, "sensorseal_oracle_readings_total", { result: "rewarded" });
  const oracleBlock = end.oracleProcessedBlocks[0];
  const leavesUpToOracleBlock = anchors.filter((a) => a.block <= oracleBlock).reduce((n, a) => n + a.leaves, 0);
  const otherVerdicts = end.auditorChecked - end.auditorVerified;

  const slack = RATE * HOLD_SLACK_SECONDS;
  const held = (what: string, behind: number, took: number, intake: boolean) =>
    behind <= slack && (!intake || took / loadSeconds >= HOLD_INTAKE_SHARE * RATE)
      ? undefined
      : `${what}: took ${fmtNum(took / loadSeconds)}/s of ${fmtNum(RATE)}/s offered (${fmtNum(behind)} readings behind at the end of the load)`;
  const breaks = [
    held("platform", atStop.platform.backlog, atStop.platform.accepted, true),
    held("relayer", atStop.relayer.backlog, atStop.relayer.accepted, true),
    held("anchoring", atStop.relayer.accepted - atStop.progress.anchoredLeaves, atStop.progress.anchoredLeaves, false),
    held("auditor", atStop.progress.anchoredLeaves - atStop.progress.auditorChecked, atStop.progress.auditorChecked, false),
  ].filter((b) => b !== undefined);
  const summary = {
    run: {
      devices: DEVICES,
      intervalSeconds: INTERVAL_S,
      offeredPerSecond: RATE,
      minutes: MINUTES,
      loadSeconds,
      keys: KEYS,
      bulk: BULK,
      senders: SENDERS,
      oracles: ORACLES,
      epochBlocks: EPOCH_BLOCKS,
      addressBudget: ADDRESS_BUDGET_OFF ? "off" : "deployed",
      receipts: RECEIPTS,
      cores: os.cpus().length,
      loadAverage: os.loadavg(),
      drainedInSeconds: drainedIn,
      caughtUp: drainedIn < DRAIN_SECONDS,
    },
    held: breaks.length === 0,
    breaks,
    offered,
    platform: {
      accepted: feeds.platform.accepted,
      acceptedPerSecondDuringLoad: atStop.platform.accepted / loadSeconds,
      refused: feeds.platform.refused,
      retries: feeds.platform.retries,
      resends: feeds.platform.resends,
      requestsRefusedByCode: refusals.platform,
      duplicates: feeds.platform.duplicates,
      stored: platformStored,
      lost: offered - platformStored,
    },
    relayer: {
      accepted: feeds.relayer.accepted,
      acceptedPerSecondDuringLoad: atStop.relayer.accepted / loadSeconds,
      refused: feeds.relayer.refused,
      retries: feeds.relayer.retries,
      resends: feeds.relayer.resends,
      requestsRefusedByCode: refusals.relayer,
      duplicates: feeds.relayer.duplicates,
      stored: relayerStored,
      anchoredLeaves: end.anchoredLeaves,
      batches: end.batches,
      lost: offered - end.anchoredLeaves,
      anchoredTwice: Math.max(0, end.anchoredLeaves - relayerStored),
      readingToAnchoredSeconds: { p50: percentile(latencies, 0.5) / 1000, p95: percentile(latencies, 0.95) / 1000 },
      madeToAnchoredSeconds: { p50: percentile(madeToAnchored, 0.5) / 1000, p95: percentile(madeToAnchored, 0.95) / 1000 },
      auditChainTxs: anchorTxs,
      auditChainTxsPerMinute: anchorTxs / (loadSeconds / 60),
    },
    auditor: {
      atLoadStop: {
        anchored: atStop.progress.anchoredLeaves,
        checked: atStop.progress.auditorChecked,
        verified: atStop.progress.auditorVerified,
      },
      atEnd: { anchored: end.anchoredLeaves, checked: end.auditorChecked, verified: end.auditorVerified },
      lag: end.anchoredLeaves - end.auditorVerified,
      failures: { notVerified: otherVerdicts, alerts: end.auditorAlerts, uncheckedItems: end.auditorUnchecked },
    },
    committee: {
      processedEpoch: end.oracleEpoch,
      processedBlocks: end.oracleProcessedBlocks,
      lastAnchorBlock: end.lastAnchorBlock,
      rootsPosted,
      oracle0: { judged: judgedTotal, rewarded, byReason: judged, anchoredUpToItsBlock: leavesUpToOracleBlock },
      coversAnchored: judgedTotal === leavesUpToOracleBlock,
    },
    processes: usageDuringLoad,
  };
  await writeFile(path.join(dir, "latest.json"), `${JSON.stringify(summary, null, 2)}\n`);

  const r = summary.relayer;
  console.log(
    [
      `soak: ${fmtNum(DEVICES)} devices at ${fmtNum(RATE)} readings/s offered for ${loadSeconds.toFixed(0)} s (${KEYS} keys, ${ORACLES} oracles; load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")})`,
      summary.held
        ? `held: platform and relayer took ≥ ${HOLD_INTAKE_SHARE * 100} % of the offered rate, every part ended the load < ${HOLD_SLACK_SECONDS} s of it behind`
        : `did not hold: ${breaks.join("; ")}`,
      `platform: accepted ${fmtNum(summary.platform.accepted)} of ${fmtNum(offered)} (${fmtNum(summary.platform.acceptedPerSecondDuringLoad)}/s during the load, ${feeds.platform.retries} answers 429 waited out, ${feeds.platform.resends} requests resent after a broken connection; requests it refused, by code: ${byCode(refusals.platform)}), readings refused for good ${fmtNum(feeds.platform.refusedTotal)}, duplicates ${fmtNum(feeds.platform.duplicates)}, stored ${fmtNum(platformStored)}; lost ${fmtNum(summary.platform.lost)}`,
      `relayer: accepted ${fmtNum(r.accepted)} of ${fmtNum(offered)} (${fmtNum(r.acceptedPerSecondDuringLoad)}/s during the load, ${feeds.relayer.retries} answers 429 waited out, ${feeds.relayer.resends} requests resent after a broken connection; requests it refused, by code: ${byCode(refusals.relayer)}), readings refused for good ${fmtNum(feeds.relayer.refusedTotal)}, duplicates ${fmtNum(feeds.relayer.duplicates)}, stored ${fmtNum(relayerStored)}`,
      `lost (offered, not anchored${summary.run.caughtUp ? "" : " by the end of the drain, which did not catch up"}): ${fmtNum(r.lost)}; anchored twice: ${fmtNum(r.anchoredTwice)} (leaves on chain ${fmtNum(r.anchoredLeaves)} in ${r.batches} batches)`,
      `reading → anchored: p50 ${r.readingToAnchoredSeconds.p50.toFixed(1)} s, p95 ${r.readingToAnchoredSeconds.p95.toFixed(1)} s from the relayer's receipt; p50 ${r.madeToAnchoredSeconds.p50.toFixed(1)} s, p95 ${r.madeToAnchoredSeconds.p95.toFixed(1)} s from the reading's time (client backlog included)`,
      `auditor: verified ${fmtNum(end.auditorVerified)} of ${fmtNum(end.anchoredLeaves)} anchored (lag ${fmtNum(summary.auditor.lag)}; at the end of the load ${fmtNum(atStop.progress.auditorVerified)} of ${fmtNum(atStop.progress.anchoredLeaves)}); failures: ${otherVerdicts} not verified, ${end.auditorAlerts} alerts, ${end.auditorUnchecked} items unchecked`,
      `committee: epoch ${end.oracleEpoch} processed (blocks ${end.oracleProcessedBlocks.join("/")}, last anchor in ${end.lastAnchorBlock}), ${rootsPosted} root${rootsPosted === 1 ? "" : "s"} posted; oracle-0 judged ${fmtNum(judgedTotal)} readings of the ${fmtNum(leavesUpToOracleBlock)} anchored up to its block (${summary.committee.coversAnchored ? "covers them" : "DOES NOT cover them"}): ${Object.entries(
        judged,
      )
        .map(([reason, n]) => `${reason === "" ? "rewarded" : reason} ${fmtNum(n)}`)
        .join(", ")}`,
      `drain: ${summary.run.caughtUp ? `caught up ${drainedIn.toFixed(0)} s after the load` : `not caught up within ${DRAIN_SECONDS} s`}`,
      `audit-chain transactions: ${anchorTxs} (${r.auditChainTxsPerMinute.toFixed(1)} per minute of load)`,
      ...usageTable(usageDuringLoad),
      `summary: ${path.join(dir, "latest.json")}`,
    ].join("\n"),
  );
  await cleanup();
} catch (error) {
  log(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await cleanup();
  process.exit(1);
}
