/**
 * The data market end to end on two real chains: device readings anchored on the audit chain and stored
 * on the platform; products listed on the real DataMarket (a scope naming an unknown device or malformed
 * is refused before any transaction); consumers buy with approve + purchase and with an ERC-2612 permit;
 * after K confirmations three oracles (threshold 2) post one root that carries both the readings' rewards
 * and the sales' settlement-token shares; a contributor claims its share, the operator's fee went to the
 * treasury, and value is conserved: paid = fee + shares + remainder, nothing paid twice.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { erc20Abi, getAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { rewardDistributorAbi } from "../../oracle/chain/abis.js";
import { buyProduct, listProduct, postScope, type MarketCallError } from "../../oracle/market/client.js";
import { dataMarketAbi } from "../../oracle/market/market-abi.js";
import { deviceFor, newAccount, nextMinute, startOracleTestbed, type OracleTestbed, type TestOracle } from "../committee/fixtures.js";
import { request, type TestDevice } from "../relayer/fixtures.js";
import {
  deployTestMarket,
  mineReward,
  rewardWallet,
  sendReading,
  startMarketOracleMesh,
  startMarketPlatform,
  type TestMarket,
  type TestPlatform,
} from "./fixtures.js";

const K = 2;
const PRICE = 1001n; // fee 10 % → 100; pool 901 over 3 readings → 600 + 300 + 1 of rounding dust
const EMPTY_PRICE = 500n; // a scope with no verified readings: the whole pool (450) is unallocated

describe("market end to end: purchase → K confirmations → one M-of-N root → contributor claims", { timeout: 300_000 }, () => {
  let bed: OracleTestbed;
  let platform: TestPlatform;
  let market: TestMarket;
  const oracles: TestOracle[] = [];
  const benA = newAccount();
  const benB = newAccount();
  const treasury = newAccount();
  const buyerKey = generatePrivateKey();
  const permitBuyerKey = generatePrivateKey();
  const buyer = privateKeyToAccount(buyerKey);
  const permitBuyer = privateKeyToAccount(permitBuyerKey);
  let d1: TestDevice;
  let d2: TestDevice;
  let t0: number;
  let withReadings: bigint;
  let withoutReadings: bigint;

  const balanceOf = (account: Address) =>
    bed.reward.publicClient.readContract({ address: market.token, abi: erc20Abi, functionName: "balanceOf", args: [account] });
  const productCount = () =>
    bed.reward.publicClient.readContract({ address: market.market, abi: dataMarketAbi, functionName: "productCount" });
  const wallet = (key: Hex) => rewardWallet(bed.reward, key);

  before(async () => {
    bed = await startOracleTestbed(oracles);
    market = await deployTestMarket(bed.reward, { treasury: treasury.address, feeBps: 1000 });
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

  it("refuses a scope naming an unknown device or malformed before listing: nothing is listed", async () => {
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
      postScope(platform.url, platform.adminKey, {
        v: 1,
        devices: [d1.address],
        fields: ["pm2_5_ugm3"],
        window: { from: t0 + 120, to: t0 },
      }),
      (e: MarketCallError) => e.code === "INVALID_SCOPE",
    );
    assert.equal(await productCount(), 0n);

    const scope = await postScope(platform.url, platform.adminKey, {
      v: 1,
      devices: [d1.address, d2.address],
      fields: ["pm2_5_ugm3"],
      window: { from: t0, to: t0 + 120 },
    });
    const empty = await postScope(platform.url, platform.adminKey, {
      v: 1,
      devices: [d1.address],
      fields: ["pm10_ugm3"],
      window: { from: t0 - 9000, to: t0 - 6000 },
    });
    const client = bed.reward.publicClient;
    withReadings = await listProduct(client, market.operator, market.market, {
      scopeHash: scope,
      token: market.token,
      price: PRICE,
      accessPeriod: 86_400n,
    });
    withoutReadings = await listProduct(client, market.operator, market.market, {
      scopeHash: empty,
      token: market.token,
      price: EMPTY_PRICE,
      accessPeriod: 86_400n,
    });
    assert.deepEqual([withReadings, withoutReadings, await productCount()], [1n, 2n, 2n]);
  });

  it("takes purchases with approve + purchase and with a permit; fee to the treasury, pool to the distributor", async () => {
    const client = bed.reward.publicClient;
    await market.fund(buyer.address, PRICE + EMPTY_PRICE);
    await market.fund(permitBuyer.address, PRICE);
    const b = wallet(buyerKey);
    const p = wallet(permitBuyerKey);
    // Refused: an unknown product, an expired permit (nothing moves).
    await assert.rejects(buyProduct(client, b, market.market, 9n), /DataMarketUnknownProduct/);
    const now = (await client.getBlock()).timestamp;
    await assert.rejects(
      buyProduct(client, p, market.market, withReadings, { permit: true, deadline: now - 1n }),
      /DataMarketPermitExpired/,
    );
    assert.equal(await balanceOf(permitBuyer.address), PRICE);

    const first = await buyProduct(client, b, market.market, withReadings);
    const second = await buyProduct(client, p, market.market, withReadings, { permit: true, deadline: now + 3600n });
    const third = await buyProduct(client, b, market.market, withoutReadings);
    assert.deepEqual([first.purchaseId, second.purchaseId, third.purchaseId], [1n, 2n, 3n]);
    assert.equal(await balanceOf(treasury.address), 100n + 100n + 50n, "fees");
    assert.equal(await balanceOf(bed.reward.distributor), 901n + 901n + 450n, "pools");
  });

  it("posts one M-of-N root with the shares after K confirmations; the contributor claims; value is conserved", async () => {
    await startMarketOracleMesh(bed, market, platform.url, oracles, 3, { confirmations: K, epochBlocks: 5, settleDelaySeconds: 0 });
    const pools = 901n + 901n + 450n;
    const tokenTotal = (body: any) => body?.message?.tokenTotals?.find((t: any) => getAddress(t.token) === market.token)?.cumulativeTotal;
    const until = Date.now() + 240_000;
    for (;;) {
      const latest = await Promise.all(oracles.map((o) => request(`${o.url}/v1/epochs/latest`)));
      if (latest.every((l) => l.status === 200 && l.body.posted === true && tokenTotal(l.body) === pools.toString())) break;
      if (Date.now() > until) throw new Error(`sales not posted in time: ${JSON.stringify(latest.map((l) => l.body))}`);
      await bed.audit.mine(1, 15);
      await mineReward(bed.reward, 2, 15);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const state = await bed.reward.publicClient.readContract({
      address: bed.reward.distributor,
      abi: rewardDistributorAbi,
      functionName: "tokenState",
      args: [market.token],
    });
    assert.equal(state.activeTotal, pools, "the posted settlement total is every pool, shares and remainders");

    // The contributor's leaves (reward token and settlement token), both from the one posted root.
    const tokens = await request(`${oracles[1]!.url}/v1/claims/${benA.address}/tokens`);
    assert.equal(tokens.status, 200, tokens.text);
    assert.deepEqual(
      tokens.body.claims.map((c: any) => [getAddress(c.token), c.token === market.token ? c.cumulative : "reward"]).sort(),
      [
        [bed.reward.token, "reward"],
        [market.token, "1200"],
      ].sort(),
    );
    const claims: Record<string, bigint> = { [benA.address]: 1200n, [benB.address]: 600n, [treasury.address]: 2n + 450n };
    for (const [account, key] of [
      [benA.address, benA.key],
      [benB.address, benB.key],
      [treasury.address, treasury.key],
    ] as const) {
      const proof = await request(`${oracles[0]!.url}/v1/claims/${account}?token=${market.token}`);
      assert.equal(proof.status, 200, proof.text);
      assert.equal(BigInt(proof.body.cumulative), claims[account]);
      const before = await balanceOf(account);
      await bed.reward.fund(account);
      const hash = await wallet(key).writeContract({
        address: bed.reward.distributor,
        abi: rewardDistributorAbi,
        functionName: "claim",
        args: [account, market.token, BigInt(proof.body.cumulative), proof.body.proof],
      });
      await bed.reward.publicClient.waitForTransactionReceipt({ hash });
      assert.equal((await balanceOf(account)) - before, claims[account], `${account} paid its share`);
    }
    // Nothing is paid twice: the same leaf claims nothing more.
    const again = await request(`${oracles[0]!.url}/v1/claims/${benA.address}?token=${market.token}`);
    await assert.rejects(
      wallet(benA.key).writeContract({
        address: bed.reward.distributor,
        abi: rewardDistributorAbi,
        functionName: "claim",
        args: [benA.address, market.token, BigInt(again.body.cumulative), again.body.proof],
      }),
      /RewardDistributorNothingToClaim/,
    );
    // paid = fee + contributor shares + unallocated remainder, exactly; the distributor keeps nothing unowed.
    const paid = PRICE + PRICE + EMPTY_PRICE;
    const fees = await balanceOf(treasury.address);
    assert.equal(paid, 250n + (1200n + 600n) + 452n);
    assert.equal(fees, 250n + 452n, "the treasury holds the fees and claimed the remainder");
    assert.equal(await balanceOf(bed.reward.distributor), 0n);
    const unallocated = await bed.reward.publicClient.readContract({
      address: bed.reward.distributor,
      abi: rewardDistributorAbi,
      functionName: "unallocated",
      args: [market.token],
    });
    assert.equal(unallocated, 0n);
  });

  it("gas: a permit purchase costs less than approve + purchase (same product, market slots warm, each buyer's first)", async () => {
    const client = bed.reward.publicClient;
    const approver = generatePrivateKey();
    const permitter = generatePrivateKey();
    await market.fund(privateKeyToAccount(approver).address, 2n * PRICE);
    await market.fund(privateKeyToAccount(permitter).address, PRICE);
    // The first purchase warms what the pool's payment writes (the distributor's balance was emptied by the claims).
    await buyProduct(client, wallet(approver), market.market, withReadings);
    const permit = await buyProduct(client, wallet(permitter), market.market, withReadings, { permit: true });
    const approveAndPurchase = await buyProduct(client, wallet(approver), market.market, withReadings);
    console.log(
      `# gas (EDR): approve + purchase ${approveAndPurchase.gasUsed}, purchaseWithPermit ${permit.gasUsed}` +
        ` (${(Number(permit.gasUsed) / Number(approveAndPurchase.gasUsed)).toFixed(2)}×)`,
    );
    assert.ok(permit.gasUsed < approveAndPurchase.gasUsed, "one transaction instead of two");
    assert.ok(permit.gasUsed > approveAndPurchase.gasUsed - 21_000n - 20_000n, "the permit's own checks and nonce cost gas");
  });
});
