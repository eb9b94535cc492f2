/**
 * Crash safety of the oracle committee: three scripts/oracle.ts child processes (dev keys #5, #6, #7,
 * threshold 2, each its own SQLite file) follow a real audit chain on which a real relayer anchors a
 * steady stream of readings, and post to a real reward chain. The test kills oracles with SIGKILL,
 * K times, at points drawn from a fixed seed, and restarts each on the same store file:
 *
 * - at a random time (any oracle);
 * - at an epoch boundary: as soon as the audit head makes the victim's next epoch processable
 *   (`toBlock + CONFIRMATIONS`), plus 0–120 ms — so during or just around epoch processing;
 * - around posting: as soon as a `postRoot` transaction waits in the reward chain's mempool (its
 *   sender is killed between broadcast and receipt), or as soon as a new root is on-chain (its sender
 *   is killed before it records the outcome: viem polls receipts every 4 s);
 * - two at once (below the threshold: nothing can be posted until one is back).
 *
 * Both chains mine on a timer (audit every 300 ms, reward every 400 ms, no automine), so transactions
 * wait in mempools and epochs are short (EPOCH_BLOCKS = 10 → about 3 s). No fault-injection hook is used.
 *
 * After the storm: every posted root equals the root of a fresh reference oracle (a fourth one, in
 * process, on a new store, never killed) for that epoch, and every epoch each crashed oracle computed
 * equals the reference's; the ledger equals the rules applied by this test to the anchored manifests;
 * RootPosted holds each epoch at most once, strictly increasing; `totalPosted` is the rules' total;
 * every beneficiary claims, a second claim pays 0; token balances add up to `totalClaimed` = the total.
 * Prints "K kills, 0 rewards lost, 0 paid twice, worst recovery X s" (recovery: spawn → /readyz 200).
 *
 *   ORACLE_BATTERY_KILLS=20 npx hardhat test nodejs test/battery/oracle-crash.test.ts
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { createTestClient, createWalletClient, getAddress, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi, rewardDistributorAbi, rewardTokenAbi } from "../../oracle/chain/abis.js";
import { revertName, rpcChain } from "../../oracle/chain/rpc.js";
import { parseManifest } from "../../oracle/core/manifest.js";
import { RULES_V2 } from "../../oracle/committee/rules.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { ORACLE_KEYS, startRewardChain, type RewardChain } from "../helpers/reward-chain.js";
import { deviceFor, newAccount, startTestOracle, type TestOracle } from "../committee/fixtures.js";
import {
  chainTime,
  request,
  type HttpAnswer,
  signedReading,
  startTestRelayer,
  tempDir,
  waitFor,
  type ReadingBody,
  type TestDevice,
  type TestRelayer,
} from "../relayer/fixtures.js";
import { envInt, freePort, prng, ROOT, sleep } from "./harness.js";

const KILLS = envInt("ORACLE_BATTERY_KILLS", 6);
const SEED = envInt("BATTERY_SEED", 20_240_601);
const CONFIRMATIONS = 2;
const EPOCH_BLOCKS = 10;

/** scripts/oracle.ts as a child process on the pinned Node (the one running the tests). */
interface OracleChild {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function spawnOracle(env: Record<string, string>): OracleChild {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/oracle.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const keep = (chunk: Buffer) => {
    text += chunk.toString();
    if (text.length > 200_000) text = text.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

type KillMode = "random" | "epoch" | "mempool" | "mined" | "two";

describe("battery: oracle committee crash safety (SIGKILL of oracle processes)", { timeout: 600_000 }, () => {
  let audit: AuditChain;
  let reward: RewardChain;
  let relayer: TestRelayer;
  let tmp: { dir: string; remove(): Promise<void> };
  let reference: TestOracle | undefined;
  const current: (OracleChild | undefined)[] = [undefined, undefined, undefined];
  /** Every oracle process started (for the log summary). */
  const spawned: OracleChild[] = [];
  const beneficiaries = [newAccount(), newAccount(), newAccount()];
  const devices: { device: TestDevice; beneficiary: Address }[] = [];

  before(async () => {
    tmp = await tempDir();
    [audit, reward] = await Promise.all([startAuditChain(), startRewardChain()]);
    // d0, d1 → A; d2 → B; d3 → C.
    const owners = [0, 0, 1, 2];
    for (const [i, owner] of owners.entries()) {
      const beneficiary = beneficiaries[owner].address;
      devices.push({ device: await deviceFor(audit, i % 2 ? "p256" : "secp256k1", beneficiary), beneficiary });
    }
    relayer = await startTestRelayer(audit, {
      databaseUrl: path.join(tmp.dir, "relayer.sqlite"),
      batch: { maxSize: 16, maxAgeMs: 150 },
      confirmations: 1,
      // Readings are 20 s apart in reading time (three per minute: the rules reward one of them), so
      // the stream runs ahead of the wall clock: no clock-skew or per-device limit in the way.
      limits: {
        maxClockSkewSeconds: 10_000_000,
        deviceQuota: { ratePerSecond: 1_000_000, burst: 1_000_000 },
        requestRate: { ratePerSecond: 1_000_000, burst: 1_000_000 },
      },
    });
    // The committee fetches manifests only from the anchoring relayer's registered URL.
    await audit.registerRelayer({ manifestUrl: relayer.url });
  });

  after(async () => {
    for (const c of current) {
      if (c && c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill("SIGKILL");
        await c.exited;
      }
    }
    await reference?.close();
    await relayer?.close();
    await reward?.close();
    await audit?.close();
    await tmp?.remove();
  });

  it(`${KILLS} kill points (SIGKILL of oracle processes (random, at epoch boundaries, around postRoot)): 0 rewards lost, 0 paid twice`, async () => {
    const random = prng(SEED);
    const ports = [await freePort(), await freePort(), await freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const addresses = ORACLE_KEYS.map((k) => privateKeyToAccount(k).address);
    const envOf = (i: number): Record<string, string> => ({
      PORT: String(ports[i]),
      DATABASE_URL: path.join(tmp.dir, `oracle-${i}.sqlite`),
      AUDIT_RPC_URL: audit.rpcUrl,
      AUDIT_CHAIN_ID: String(audit.chainId),
      ANCHOR_ADDRESS: audit.anchor,
      REGISTRY_ADDRESS: audit.registry,
      REGISTRY_DEPLOY_BLOCK: "0",
      REGISTRY_POLL_MS: "500",
      ORACLE_PRIVATE_KEY: ORACLE_KEYS[i],
      REWARD_RPC_URL: reward.rpcUrl,
      REWARD_CHAIN_ID: String(reward.chainId),
      DISTRIBUTOR_ADDRESS: reward.distributor,
      REWARD_DEPLOY_BLOCK: "0",
      ORACLE_PEERS: urls.filter((_, j) => j !== i).join(","),
      CONFIRMATIONS: String(CONFIRMATIONS),
      EPOCH_BLOCKS: String(EPOCH_BLOCKS),
      EPOCH_START_BLOCK: "0",
      ORACLE_POLL_MS: "100",
      ORACLE_POST_DELAY_MS: "500",
      ORACLE_SHUTDOWN_TIMEOUT_MS: "1000",
      LOG_LEVEL: process.env.ORACLE_BATTERY_LOG_LEVEL ?? "warn",
    });

    const recoveries: number[] = [];
    async function startAndWaitReady(i: number): Promise<number> {
      const t0 = performance.now();
      const c = spawnOracle(envOf(i));
      current[i] = c;
      spawned.push(c);
      await waitFor(
        async () => {
          if (c.child.exitCode !== null) throw new Error(`oracle ${i} exited ${c.child.exitCode}: ${c.output().slice(-3000)}`);
          const res = await fetch(`${urls[i]}/readyz`).catch(() => undefined);
          return res?.status === 200;
        },
        `oracle ${i} ready`,
        60_000,
        20,
      );
      return performance.now() - t0;
    }
    async function kill(i: number): Promise<void> {
      const c = current[i]!;
      c.child.kill("SIGKILL");
      await c.exited;
      // A crash is a crash: nothing but SIGKILL ended it.
      assert.equal(c.child.signalCode, "SIGKILL", `oracle ${i} died on its own: ${c.output().slice(-3000)}`);
    }

    // Both chains mine on a timer: transactions wait in the mempool, epochs last ~3 s.
    const auditTest = createTestClient({ mode: "hardhat", transport: http(audit.rpcUrl) });
    const rewardTest = createTestClient({ mode: "hardhat", transport: http(reward.rpcUrl) });
    await auditTest.setAutomine(false);
    await auditTest.setIntervalMining({ interval: 0.3 });
    await rewardTest.setAutomine(false);
    await rewardTest.setIntervalMining({ interval: 0.4 });

    await Promise.all([0, 1, 2].map((i) => startAndWaitReady(i)));

    // ---- the stream: one client per device, in seq order, readings 20 s apart in reading time ----
    const domain = { chainId: audit.chainId, anchor: audit.anchor };
    const t0 = await chainTime(audit);
    const sent: ReadingBody[] = [];
    let stop = false;
    async function client(d: TestDevice): Promise<void> {
      for (let seq = 1; !stop; seq++) {
        const body = signedReading(d, domain, { seq, timestamp: t0 + 20 * seq });
        for (;;) {
          const answer = await request(`${relayer.url}/v1/readings`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          }).catch(() => undefined);
          if (answer?.status === 202) break;
          assert.ok(
            answer === undefined || answer.status === 429 || answer.status === 503,
            `relayer answered ${answer?.status}: ${answer?.text}`,
          );
          await sleep(50);
        }
        sent.push(body);
        await sleep(150);
      }
    }
    const clients = Promise.all(devices.map((d) => client(d.device)));

    // ---- the killer ----
    const epochOf = async (i: number): Promise<number> => {
      const status = await request(`${urls[i]}/v1/status`);
      return status.body.processedEpoch as number;
    };
    const modes: Record<KillMode, number> = { random: 0, epoch: 0, mempool: 0, mined: 0, two: 0 };
    const leftBehind = { epochUncommitted: 0, postedNotRecorded: 0, signedUnposted: 0, postRootInMempool: 0 };
    let kills = 0;
    const killOrder: string[] = [];

    /** Waits for a postRoot transaction in the reward chain's mempool; answers its sender's index. */
    async function postRootInMempool(timeoutMs: number): Promise<number | undefined> {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const pending = await reward.publicClient.getBlock({ blockTag: "pending", includeTransactions: true }).catch(() => undefined);
        const tx = pending?.transactions.find((t) => typeof t !== "string" && t.to?.toLowerCase() === reward.distributor.toLowerCase());
        if (tx !== undefined && typeof tx !== "string") {
          const i = addresses.findIndex((a) => a.toLowerCase() === tx.from.toLowerCase());
          if (i >= 0) return i;
        }
        await sleep(15);
      }
      return undefined;
    }
    /** Waits for a new root on-chain; answers its sender's index. */
    async function newRootPosted(timeoutMs: number): Promise<number | undefined> {
      const before = await reward.publicClient.readContract({
        address: reward.distributor,
        abi: rewardDistributorAbi,
        functionName: "lastEpoch",
      });
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const logs = await reward.publicClient.getContractEvents({
          address: reward.distributor,
          abi: rewardDistributorAbi,
          eventName: "RootPosted",
          fromBlock: 0n,
          strict: true,
        });
        const fresh = logs.find((l) => l.args.epoch > before);
        if (fresh !== undefined) {
          const tx = await reward.publicClient.getTransaction({ hash: fresh.transactionHash });
          const i = addresses.findIndex((a) => a.toLowerCase() === tx.from.toLowerCase());
          if (i >= 0) return i;
        }
        await sleep(15);
      }
      return undefined;
    }

    /** What a kill left in the victim's store (read while it is down). */
    async function classify(i: number, epochDue?: number): Promise<void> {
      const db = await openDatabase(path.join(tmp.dir, `oracle-${i}.sqlite`));
      try {
        const [meta] = await db.query<{ value: string }>("SELECT value FROM oracle_meta WHERE key = 'last_epoch'");
        const last = Number(meta?.value ?? "0");
        if (epochDue !== undefined && last < epochDue) leftBehind.epochUncommitted++;
        const signed = await db.query<{ epoch: number }>("SELECT epoch FROM oracle_epochs WHERE status = 'signed'");
        const lastEpoch = await reward.publicClient.readContract({
          address: reward.distributor,
          abi: rewardDistributorAbi,
          functionName: "lastEpoch",
        });
        if (signed.some((s) => BigInt(s.epoch) <= lastEpoch)) leftBehind.postedNotRecorded++;
        if (signed.some((s) => BigInt(s.epoch) > lastEpoch)) leftBehind.signedUnposted++;
      } finally {
        await db.close();
      }
    }

    const allModes: KillMode[] = ["random", "epoch", "mempool", "mined", "two"];
    for (let k = 0; k < KILLS; k++) {
      // The first five kills go through every mode once; then modes at random.
      let mode: KillMode = k < allModes.length ? allModes[k] : allModes[Math.floor(random() * allModes.length)];
      let victims: number[] = [Math.floor(random() * 3)];
      const pause = 300 + Math.floor(random() * 1700);
      await sleep(pause);
      let epochDue: number | undefined;
      if (mode === "epoch") {
        const next = (await epochOf(victims[0])) + 1;
        const due = BigInt(next * EPOCH_BLOCKS - 1 + CONFIRMATIONS);
        await waitFor(async () => (await audit.publicClient.getBlockNumber({ cacheTime: 0 })) >= due, "epoch boundary", 30_000, 10);
        await sleep(Math.floor(random() * 120));
        epochDue = next;
      } else if (mode === "mempool") {
        const sender = await postRootInMempool(15_000);
        if (sender === undefined) mode = "random";
        else victims = [sender];
      } else if (mode === "mined") {
        const sender = await newRootPosted(15_000);
        if (sender === undefined) mode = "random";
        else victims = [sender];
      } else if (mode === "two") {
        victims.push((victims[0] + 1 + Math.floor(random() * 2)) % 3);
      }
      await Promise.all(victims.map((i) => kill(i)));
      if (mode === "mempool") {
        const pending = await reward.publicClient.getBlock({ blockTag: "pending", includeTransactions: true });
        if (pending.transactions.some((t) => typeof t !== "string" && t.from.toLowerCase() === addresses[victims[0]].toLowerCase()))
          leftBehind.postRootInMempool++;
      }
      kills += victims.length;
      modes[mode]++;
      killOrder.push(`${mode}:${victims.join("+")}`);
      for (const i of victims) await classify(i, epochDue);
      recoveries.push(...(await Promise.all(victims.map((i) => startAndWaitReady(i)))));
    }
    stop = true;
    await clients;

    // ---- settle: every reading anchored and confirmed, then the last epoch posted ----
    await waitFor(
      async () => {
        const [{ n }] = await relayer.db.query<{ n: number }>(
          "SELECT COUNT(*) AS n FROM relayer_readings r LEFT JOIN relayer_batches b ON b.id = r.batch_id WHERE b.status IS NULL OR b.status <> 'confirmed'",
        );
        return Number(n) === 0;
      },
      "every reading confirmed by the relayer",
      60_000,
      100,
    );

    // The rules (v1), applied here to what the audit chain anchored: BatchAnchored in chain order, each
    // manifest's items by device then seq; a reading counts above the device's last seq and earns one
    // reward per device per UTC minute. (Every device is Active and every signature valid here.)
    const anchoredLogs = await audit.publicClient.getContractEvents({
      address: audit.anchor,
      abi: readingAnchorAbi,
      eventName: "BatchAnchored",
      fromBlock: 0n,
      strict: true,
    });
    const beneficiaryOf = new Map(devices.map((d) => [d.device.address.toLowerCase(), d.beneficiary]));
    const state = new Map<string, { seqs: Set<bigint>; minutes: Set<bigint> }>();
    const expected = new Map<string, bigint>();
    const anchoredOnce = new Set<string>();
    let lastAnchorBlock = 0n;
    for (const log of anchoredLogs) {
      lastAnchorBlock = log.blockNumber > lastAnchorBlock ? log.blockNumber : lastAnchorBlock;
      const manifest = parseManifest(
        new Uint8Array(await (await fetch(`${relayer.url}/v1/batches/${log.args.root}/manifest`)).arrayBuffer()),
      );
      // Rules v2: leaf order; no reading dated beyond its anchoring + 300 s; each (device, seq) and
      // each (device, minute) earns once.
      const anchoredAt = (await audit.publicClient.getBlock({ blockNumber: log.blockNumber })).timestamp;
      for (const { reading } of manifest.items) {
        const key = reading.device.toLowerCase();
        assert.ok(!anchoredOnce.has(`${key}:${reading.seq}`), "a reading anchored twice");
        anchoredOnce.add(`${key}:${reading.seq}`);
        if (reading.timestamp > anchoredAt + 300n) continue;
        const s = state.get(key) ?? { seqs: new Set<bigint>(), minutes: new Set<bigint>() };
        state.set(key, s);
        const minute = reading.timestamp / 60n;
        if (s.seqs.has(reading.seq) || s.minutes.has(minute)) continue;
        s.seqs.add(reading.seq);
        s.minutes.add(minute);
        const b = beneficiaryOf.get(key)!.toLowerCase();
        expected.set(b, (expected.get(b) ?? 0n) + RULES_V2.rewardPerReading);
      }
    }
    assert.equal(anchoredOnce.size, sent.length, "every sent reading anchored, once");
    const total = [...expected.values()].reduce((s, x) => s + x, 0n);
    assert.ok(total > 0n);

    const lastEpochNeeded = Number(lastAnchorBlock / BigInt(EPOCH_BLOCKS)) + 1;
    const posted = await waitFor(
      async () => {
        const onChain = await reward.publicClient.readContract({
          address: reward.distributor,
          abi: rewardDistributorAbi,
          functionName: "totalPosted",
        });
        if (onChain !== total) return undefined;
        const latest = await Promise.all(urls.map((u) => request(`${u}/v1/epochs/latest`)));
        const ledgers = await Promise.all(urls.map((u) => request(`${u}/v1/ledger`)));
        // An epoch that adds no reward is recorded as empty and never posted, so the last posted
        // epoch may be older than the one holding the last anchoring: what must hold is that every
        // oracle has processed that epoch and the posted total is the rules' total.
        const processedAll = ledgers.every((l) => l.status === 200 && l.body.processedEpoch >= lastEpochNeeded);
        return processedAll &&
          latest.every((l) => l.status === 200 && l.body.posted === true && l.body.cumulativeTotal === total.toString())
          ? latest.map((l, i) => ({ ...l.body, processedEpoch: ledgers[i]!.body.processedEpoch as number }))
          : undefined;
      },
      `the rules' total (${total}) posted and seen by all three oracles, each past epoch ${lastEpochNeeded}`,
      90_000,
      200,
    ).catch((error) => {
      for (const [i, c] of current.entries()) console.log(`# oracle ${i}:\n${c!.output().slice(-4000)}`);
      throw error;
    });
    for (const p of posted) {
      assert.ok(p.processedEpoch >= lastEpochNeeded, `epoch ${lastEpochNeeded} (last anchoring block ${lastAnchorBlock}) processed`);
      assert.ok(p.epoch <= p.processedEpoch, `the posted epoch ${p.epoch} is one the oracle processed`);
    }

    // ---- RootPosted: one per epoch, strictly increasing ----
    const rootLogs = await reward.publicClient.getContractEvents({
      address: reward.distributor,
      abi: rewardDistributorAbi,
      eventName: "RootPosted",
      fromBlock: 0n,
      strict: true,
    });
    let previous = 0n;
    for (const l of rootLogs) {
      assert.ok(l.args.epoch > previous, `RootPosted epochs strictly increasing (${previous} then ${l.args.epoch})`);
      previous = l.args.epoch;
    }
    assert.equal(new Set(rootLogs.map((l) => l.args.epoch)).size, rootLogs.length, "no epoch posted twice");
    const postedBy = new Map<string, number>();
    for (const l of rootLogs) {
      const from = (await reward.publicClient.getTransaction({ hash: l.transactionHash })).from.toLowerCase();
      postedBy.set(from, (postedBy.get(from) ?? 0) + 1);
    }

    // ---- a fresh reference oracle (in process, new store, never killed, not in the oracle set) ----
    reference = await startTestOracle({
      audit,
      reward,
      key: newAccount().key,
      dir: tmp.dir,
      name: "reference",
      sources: [relayer.url],
      peers: [],
      confirmations: CONFIRMATIONS,
      epochBlocks: EPOCH_BLOCKS,
    });
    const lastPostedEpoch = Number(previous);
    await waitFor(
      // Epoch numbers are the distributor's (empty block ranges are not numbered): caught up once it has the last posted one.
      async () => lastPostedEpoch === 0 || (await request(`${reference!.url}/v1/epochs/${lastPostedEpoch}`)).status === 200,
      "the reference oracle caught up",
      60_000,
      100,
    );

    for (const l of rootLogs) {
      const ref: HttpAnswer = await request(`${reference.url}/v1/epochs/${l.args.epoch}`);
      assert.equal(ref.status, 200);
      assert.equal(l.args.root, ref.body.root, `epoch ${l.args.epoch}: the posted root is the reference's`);
      assert.equal(
        l.args.cumulativeTotal.toString(),
        ref.body.cumulativeTotal,
        `epoch ${l.args.epoch}: the posted total is the reference's`,
      );
    }
    // Every epoch each crashed oracle computed is the reference's (root, total, status empty or not).
    let epochsCompared = 0;
    for (const [i, u] of urls.entries()) {
      const processed = (await request(`${u}/v1/status`)).body.processedEpoch as number;
      for (let e = 1; e <= Math.min(processed, lastPostedEpoch); e++) {
        const [mine, ref]: HttpAnswer[] = await Promise.all([request(`${u}/v1/epochs/${e}`), request(`${reference.url}/v1/epochs/${e}`)]);
        assert.equal(mine.status, 200);
        assert.equal(mine.body.root, ref.body.root, `oracle ${i}, epoch ${e}: root`);
        assert.equal(mine.body.cumulativeTotal, ref.body.cumulativeTotal, `oracle ${i}, epoch ${e}: total`);
        assert.equal(mine.body.status === "empty", ref.body.status === "empty", `oracle ${i}, epoch ${e}: empty or not`);
        epochsCompared++;
      }
    }
    // The ledgers: the rules' amounts per beneficiary, in every oracle and the reference.
    const expectedLedger = [...expected].map(([b, v]) => [getAddress(b), v.toString()]).sort((a, b) => a[0].localeCompare(b[0]));
    for (const u of [...urls, reference.url]) {
      const ledger = await request(`${u}/v1/ledger`);
      assert.equal(ledger.body.total, total.toString());
      const got = (ledger.body.beneficiaries as { beneficiary: string; cumulative: string }[])
        .map((b) => [b.beneficiary, b.cumulative])
        .sort((a, b) => a[0].localeCompare(b[0]));
      assert.deepEqual(got, expectedLedger, `${u}: the ledger is the rules'`);
    }

    // ---- claims: each beneficiary once (from a different oracle each), then a second time: pays 0 ----
    await rewardTest.setAutomine(true);
    const walletChain = rpcChain(reward.chainId, "reward", reward.rpcUrl);
    const balanceOf = (account: Address) =>
      reward.publicClient.readContract({ address: reward.token, abi: rewardTokenAbi, functionName: "balanceOf", args: [account] });
    let paidTwice = 0n;
    let balances = 0n;
    for (const [n, b] of beneficiaries.entries()) {
      const claim = await request(`${urls[n % 3]}/v1/claims/${b.address}`);
      assert.equal(claim.status, 200, claim.text);
      assert.equal(claim.body.cumulative, (expected.get(b.address.toLowerCase()) ?? 0n).toString());
      const args = [
        claim.body.account as Address,
        claim.body.token as Address,
        BigInt(claim.body.cumulative),
        claim.body.proof as Hex[],
      ] as const;
      // Only the account itself may claim().
      await reward.fund(b.address);
      const payer = createWalletClient({ account: privateKeyToAccount(b.key), chain: walletChain, transport: http(reward.rpcUrl) });
      const first = await payer.writeContract({ address: reward.distributor, abi: rewardDistributorAbi, functionName: "claim", args });
      assert.equal((await reward.publicClient.waitForTransactionReceipt({ hash: first, pollingInterval: 50 })).status, "success");
      const once = await balanceOf(b.address);
      assert.equal(once, BigInt(claim.body.cumulative), "the first claim pays the entitlement");
      // The second claim, sent anyway (fixed gas: no estimate to stop it), reverts NothingToClaim
      // (Hardhat's automine mines it and answers the revert to eth_sendRawTransaction).
      const second = await payer
        .writeContract({ address: reward.distributor, abi: rewardDistributorAbi, functionName: "claim", args, gas: 300_000n })
        .then(
          async (hash) => (await reward.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })).status,
          (error: unknown) => revertName(error),
        );
      assert.ok(second === "reverted" || second === "RewardDistributorNothingToClaim", `the second claim: ${second}`);
      const twice = await balanceOf(b.address);
      paidTwice += twice - once;
      balances += twice;
    }
    assert.equal(paidTwice, 0n, "a second claim pays 0");
    const totalClaimed = await reward.publicClient.readContract({
      address: reward.distributor,
      abi: rewardDistributorAbi,
      functionName: "totalClaimed",
    });
    assert.equal(balances, totalClaimed, "token balances = totalClaimed");
    assert.equal(totalClaimed, total, "totalClaimed = the rules' total");
    const totalPosted = await reward.publicClient.readContract({
      address: reward.distributor,
      abi: rewardDistributorAbi,
      functionName: "totalPosted",
    });
    assert.equal(totalPosted, total, "totalPosted = the rules' total");

    const worst = Math.max(...recoveries);
    const mean = recoveries.reduce((s, x) => s + x, 0) / Math.max(1, recoveries.length);
    console.log(`# kills (mode:victim): ${killOrder.join(", ")}`);
    console.log(
      `# kills that left: an epoch due but uncommitted ${leftBehind.epochUncommitted} (of ${modes.epoch} at a boundary), ` +
        `a postRoot in the mempool ${leftBehind.postRootInMempool}, a signed epoch at or below the chain's lastEpoch (posted or superseded, outcome not yet recorded) ${leftBehind.postedNotRecorded}, ` +
        `a signed epoch not yet posted ${leftBehind.signedUnposted}`,
    );
    console.log(
      `# ${sent.length} readings, ${anchoredLogs.length} batches, ${rootLogs.length} roots posted (last epoch ${lastPostedEpoch}; by oracle: ` +
        `${addresses.map((a, i) => `#${i + 5} ${postedBy.get(a.toLowerCase()) ?? 0}`).join(", ")}), ${epochsCompared} epochs compared with the reference, ` +
        `total ${total / RULES_V2.rewardPerReading} rewards`,
    );
    // Warnings and errors the oracles logged (pino JSON lines, level ≥ 40), by message.
    const logged = new Map<string, number>();
    for (const c of spawned) {
      for (const line of c.output().split("\n")) {
        const m = /"level":(\d+).*"msg":"([^"]*)"/.exec(line);
        // ("readings not rewarded": the rules' SAME_MINUTE verdicts, expected here.)
        if (!m || Number(m[1]) < 40 || m[2] === "readings not rewarded") continue;
        // postRoot failures by revert name (an undecoded revert or an RPC error has none).
        const key = m[2].startsWith("postRoot failed") ? `${m[2]} (${/"revert":"(\w+)"/.exec(line)?.[1] ?? "no revert name"})` : m[2];
        logged.set(key, (logged.get(key) ?? 0) + 1);
      }
    }
    console.log(`# oracle warnings/errors logged: ${[...logged].map(([msg, n]) => `${n}× "${msg}"`).join(", ") || "none"}`);
    console.log(
      `# oracle crash safety: ${kills} kills, 0 rewards lost, 0 paid twice, worst recovery ${(worst / 1000).toFixed(1)} s (mean ${(mean / 1000).toFixed(1)} s)`,
    );

    for (const i of [0, 1, 2]) {
      current[i]!.child.kill("SIGTERM");
      assert.equal(await current[i]!.exited, 0);
    }
  });
});
