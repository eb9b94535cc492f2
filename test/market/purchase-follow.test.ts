/**
 * The off-chain market on real chains: readings anchored on the audit chain and stored on the platform,
 * purchases emitted on the reward chain (PurchaseLogHarness emits IDataMarket's `Purchased` exactly; it
 * stands in for the DataMarket until that lands), three oracles splitting each sale once, pro rata to
 * verified readings in scope, the remainder to the treasury, a purchase reorged out before K confirmations
 * neither paid nor granted, and the buyer signing in with its wallet and reading exactly what it bought.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { network } from "hardhat";
import { getAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { bundleToJson, parseBundle } from "../../oracle/core/bundle.js";
import { scopeHash } from "../../oracle/core/scope.js";
import { type MarketCallError, postScope } from "../../oracle/market/client.js";
import { downloadGrant, readingsCsv, signInToPlatform } from "../../oracle/market/consumer.js";
import { checkBundleOnChain, exportBundle } from "../../oracle/verifier/bundle.js";
import { Verifier } from "../../oracle/verifier/verifier.js";
import { deviceFor, newAccount, nextMinute, startOracleTestbed, type OracleTestbed, type TestOracle } from "../committee/fixtures.js";
import type { TestDevice } from "../relayer/fixtures.js";
import {
  mineReward,
  rewardSnapshot,
  rewardWallet,
  sendReading,
  startMarketOracle,
  startMarketPlatform,
  type TestMarket,
  type TestPlatform,
} from "./fixtures.js";

const K = 2;
const harnessAbi = [
  {
    type: "function",
    name: "record",
    stateMutability: "nonpayable",
    inputs: [
      { name: "productId", type: "uint256" },
      { name: "token", type: "address" },
      { name: "price", type: "uint256" },
      { name: "fee", type: "uint256" },
      { name: "scopeHash", type: "bytes32" },
      { name: "accessPeriod", type: "uint64" },
    ],
    outputs: [{ type: "uint256" }],
  },
] as const;

describe("market: sales split by the committee and access from purchases, on real chains", { timeout: 300_000 }, () => {
  let bed: OracleTestbed;
  let platform: TestPlatform;
  let market: TestMarket;
  const oracles: TestOracle[] = [];
  const benA = newAccount();
  const benB = newAccount();
  const treasury = newAccount().address;
  const TOKEN = getAddress("0x00000000000000000000000000000000000000e1");
  const buyerKey = generatePrivateKey();
  const buyer = privateKeyToAccount(buyerKey);
  const reorgedKey = generatePrivateKey();
  let d1: TestDevice;
  let d2: TestDevice;
  let t0: number;
  let withReadings: Hex;
  let withoutReadings: Hex;

  async function record(key: Hex, productId: bigint, price: bigint, fee: bigint, hash: Hex): Promise<void> {
    const wallet = rewardWallet(bed.reward, key);
    await bed.reward.fund(wallet.account.address);
    const tx = await wallet.writeContract({
      address: market.market,
      abi: harnessAbi,
      functionName: "record",
      args: [productId, TOKEN, price, fee, hash, 86_400n],
    });
    await bed.reward.publicClient.waitForTransactionReceipt({ hash: tx });
  }

  before(async () => {
    bed = await startOracleTestbed(oracles);
    const connection = await network.create({ network: "rewardLocal", override: { url: bed.reward.rpcUrl } });
    const harness = await connection.viem.deployContract("PurchaseLogHarness", [treasury]);
    market = { market: harness.address, token: TOKEN, treasury, operator: rewardWallet(bed.reward, buyerKey), fund: async () => undefined };
    platform = await startMarketPlatform(bed, market, { dir: bed.dir, confirmations: K });
    d1 = await deviceFor(bed.audit, "secp256k1", benA.address);
    d2 = await deviceFor(bed.audit, "p256", benB.address);
    t0 = await nextMinute(bed.audit);
    await sendReading(bed, platform, d1, 1, t0);
    await sendReading(bed, platform, d1, 2, t0 + 60);
    await sendReading(bed, platform, d2, 1, t0 + 61);
  });

  after(async () => {
    await platform?.close();
    await bed?.close();
  });

  it("refuses a scope naming an unknown device or malformed at listing time, keeps valid ones by hash", async () => {
    const unknown = getAddress("0x00000000000000000000000000000000000000aa");
    await assert.rejects(
      postScope(platform.url, platform.adminKey, {
        v: 1,
        devices: [d1.address, unknown],
        fields: ["pm2_5_ugm3"],
        window: { from: t0, to: t0 + 120 },
      }),
      (e: MarketCallError) => e.code === "UNKNOWN_SCOPE_DEVICE",
    );
    await assert.rejects(
      postScope(platform.url, platform.adminKey, { v: 1, devices: [d1.address], fields: [] }),
      (e: MarketCallError) => e.code === "INVALID_SCOPE",
    );
    const scope = { v: 1, devices: [d2.address, d1.address], fields: ["pm2_5_ugm3"], window: { from: t0, to: t0 + 120 } };
    withReadings = await postScope(platform.url, platform.adminKey, scope);
    assert.equal(withReadings, scopeHash(scope));
    withoutReadings = await postScope(platform.url, platform.adminKey, {
      v: 1,
      devices: [d1.address],
      fields: ["pm10_ugm3"],
      window: { from: t0 - 9000, to: t0 - 6000 },
    });
  });

  it("grants access only after K confirmations, and never for a purchase reorged out before", async () => {
    await record(buyerKey, 1n, 1000n, 100n, withReadings);
    // Mined in the head block: not yet K deep.
    await assert.rejects(signInToPlatform(platform.url, buyer), (e: MarketCallError) => e.code === "NO_PURCHASE");
    await record(buyerKey, 2n, 500n, 50n, withoutReadings);
    const revert = await rewardSnapshot(bed.reward);
    await record(reorgedKey, 1n, 1000n, 100n, withReadings);
    await revert();
    await mineReward(bed.reward, K + 1);
    const session = await signInToPlatform(platform.url, buyer);
    assert.deepEqual(
      session.grants.map((g) => g.purchaseId),
      ["1", "2"],
    );
    await assert.rejects(signInToPlatform(platform.url, privateKeyToAccount(reorgedKey)), (e: MarketCallError) => e.code === "NO_PURCHASE");
  });

  it("lets the paying wallet read exactly the purchased readings (CSV of the purchased fields), 403 outside", async () => {
    const session = await signInToPlatform(platform.url, buyer);
    const grant = session.grants.find((g) => g.purchaseId === "1")!;
    const readings = await downloadGrant(platform.url, session.token, grant);
    assert.deepEqual(readings.map((r) => `${r.device}#${r.seq}`).sort(), [`${d1.address}#1`, `${d1.address}#2`, `${d2.address}#1`].sort());
    const csv = readingsCsv(readings, grant.fields).split("\n");
    assert.equal(csv[0], "device,seq,ts,pm2_5_ugm3,dataHash,signature");
    assert.match(csv[1]!, /,8\.5,0x/);
    const outside = await fetch(`${platform.url}/v1/devices/${d1.address}/readings?from=${t0}&to=${t0 + 200}`, {
      headers: { authorization: `Bearer ${session.token}` },
    });
    assert.deepEqual([outside.status, ((await outside.json()) as any).error.code], [403, "OUT_OF_SCOPE"]);
  });

  it("exports a proof bundle per purchased reading with the purchase token, each checked against the audit chain alone", async () => {
    const session = await signInToPlatform(platform.url, buyer);
    const verifier = await Verifier.create({
      rpc: bed.audit.publicClient,
      anchor: bed.audit.anchor,
      deployBlock: bed.audit.deployBlock,
      platform: { url: platform.url, apiKey: session.token },
      relayer: bed.relayer.url,
      manifests: [],
    });
    try {
      for (const [device, seq] of [
        [d1.address, 1],
        [d1.address, 2],
        [d2.address, 1],
      ] as const) {
        const { bundle } = await exportBundle(verifier, device, seq);
        // What `npm run verify -- bundle check <file> --rpc <url>` runs on the file the CLI writes.
        const verdict = await checkBundleOnChain(parseBundle(bundleToJson(bundle)), bed.audit.rpcUrl);
        assert.deepEqual([verdict.ok, verdict.status], [true, "VERIFIED"], `${device}#${seq}`);
      }
    } finally {
      await verifier.close();
    }
  });

  it("splits each confirmed sale once on every oracle: pro rata to verified readings, the rest to the treasury", async () => {
    const peers: string[][] = [[], [], []];
    for (let i = 0; i < 3; i++) {
      const o = await startMarketOracle(bed, market, platform.url, i, peers[i]!, {
        confirmations: K,
        epochBlocks: 5,
        settleDelaySeconds: 0,
      });
      oracles.push(o);
    }
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) peers[i]!.push(oracles[j]!.url);
    const splitOn = async (o: TestOracle) =>
      (await o.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM market_sales WHERE status = 'split'"))[0]!.n;
    const until = Date.now() + 200_000;
    while (!(await Promise.all(oracles.map(splitOn))).every((n) => Number(n) === 2)) {
      if (Date.now() > until) throw new Error("sales not split in time");
      await bed.audit.mine(1, 15);
      await mineReward(bed.reward, 2, 15);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    for (const o of oracles) {
      const shares = await o.db.query<{ purchase_id: string; account: string; amount: string; readings: number }>(
        "SELECT purchase_id, account, amount, readings FROM market_shares ORDER BY purchase_id, account",
      );
      const rows = shares.map((s) => [s.purchase_id, getAddress(s.account), s.amount, Number(s.readings)]);
      const expected: [string, Address, string, number][] = [
        ["1", benA.address, "600", 2],
        ["1", benB.address, "300", 1],
        ["2", treasury, "450", 0],
      ];
      assert.deepEqual(rows.sort(), expected.sort());
      const sales = await o.db.query<{ purchase_id: string; unallocated: string; readings: number }>(
        "SELECT purchase_id, unallocated, readings FROM market_sales ORDER BY purchase_id",
      );
      assert.deepEqual(
        sales.map((s) => [s.purchase_id, s.unallocated, Number(s.readings)]),
        [
          ["1", "0", 3],
          ["2", "450", 0],
        ],
      );
    }
    // A few more epochs: nothing is split or credited twice.
    await bed.audit.mine(10, 15);
    await mineReward(bed.reward, 6, 15);
    const cumulative = await oracles[0]!.db.query<{ account: string; cumulative: string }>(
      "SELECT account, cumulative FROM market_cumulative ORDER BY account",
    );
    assert.deepEqual(Object.fromEntries(cumulative.map((c) => [getAddress(c.account), c.cumulative])), {
      [benA.address]: "600",
      [benB.address]: "300",
      [treasury]: "450",
    });
  });
});
