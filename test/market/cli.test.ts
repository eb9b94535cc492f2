/**
 * The market CLI (`npm run market`) driven as a user would, as a process, against real chains, a real
 * platform and relayer: bad usage exits 2 and bad input 1, each with a one-line reason and nothing listed
 * or bought; an operator lists, a consumer buys with a permit, downloads after K confirmations and the
 * downloaded proof bundle passes `npm run verify -- bundle check` against the audit chain's RPC.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { erc20Abi } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { dataMarketAbi } from "../../oracle/market/market-abi.js";
import { DEV_KEYS } from "../../scripts/lib/dev-keys.js";
import { deviceFor, newAccount, nextMinute, startOracleTestbed, type OracleTestbed, type TestOracle } from "../committee/fixtures.js";
import type { TestDevice } from "../relayer/fixtures.js";
import { deployTestMarket, mineReward, sendReading, startMarketPlatform, type TestMarket, type TestPlatform } from "./fixtures.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const K = 2;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, script), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

describe("market CLI as a user runs it", { timeout: 900_000 }, () => {
  let bed: OracleTestbed;
  let platform: TestPlatform;
  let market: TestMarket;
  const oracles: TestOracle[] = [];
  const buyerKey = generatePrivateKey();
  const buyer = privateKeyToAccount(buyerKey);
  let device: TestDevice;
  let t0: number;
  let env: Record<string, string>;

  const market$ = (args: string[], extra: Record<string, string> = {}) => run("scripts/market.ts", args, { ...env, ...extra });
  const asOperator = { MARKET_PRIVATE_KEY: DEV_KEYS.admin, PLATFORM_ADMIN_KEY: "" };
  const asBuyer = { MARKET_PRIVATE_KEY: buyerKey };
  const productCount = () =>
    bed.reward.publicClient.readContract({ address: market.market, abi: dataMarketAbi, functionName: "productCount" });
  const scopeFile = async (name: string, scope: unknown) => {
    const file = path.join(bed.dir, name);
    await writeFile(file, JSON.stringify(scope));
    return file;
  };

  before(async () => {
    bed = await startOracleTestbed(oracles);
    market = await deployTestMarket(bed.reward, { treasury: newAccount().address, feeBps: 1000 });
    platform = await startMarketPlatform(bed, market, { dir: bed.dir, confirmations: K });
    asOperator.PLATFORM_ADMIN_KEY = platform.adminKey;
    device = await deviceFor(bed.audit, "secp256k1", newAccount().address);
    t0 = await nextMinute(bed.audit);
    await sendReading(bed, platform, device, 1, t0);
    await sendReading(bed, platform, device, 2, t0 + 60);
    env = {
      REWARD_RPC_URL: bed.reward.rpcUrl,
      AUDIT_RPC_URL: bed.audit.rpcUrl,
      PLATFORM_URL: platform.url,
      RELAYER_URL: bed.relayer.url,
      ANCHOR_ADDRESS: bed.audit.anchor,
      MARKET_ADDRESS: market.market,
      MARKET_PRIVATE_KEY: "",
    };
  });

  after(async () => {
    await platform?.close();
    await bed?.close();
    if (process.env.TEST_DEBUG_HANDLES)
      setTimeout(() => {
        const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
        console.error(
          "active handles",
          handles.map((h) => h.constructor.name),
        );
      }, 5000).unref();
  });

  it("bad usage: exit 2 with what is missing", async () => {
    const none = await market$([]);
    assert.deepEqual(
      [none.code, none.stderr.trim()],
      [2, "market: usage: market list|reprice|retire|products|buy|download (see scripts/market.ts)"],
    );
    const noMarket = await market$(["products"], { MARKET_ADDRESS: "" });
    assert.deepEqual([noMarket.code, noMarket.stderr.trim()], [2, "market: --market <address> or MARKET_ADDRESS is required"]);
    const noKey = await market$(["buy", "1"]);
    assert.deepEqual(
      [noKey.code, noKey.stderr.trim()],
      [2, "market: MARKET_PRIVATE_KEY or --key-file <file> (a 32-byte hex key) is required"],
    );
    const badPrice = await market$(["reprice", "1", "ten"], asOperator);
    assert.deepEqual([badPrice.code, badPrice.stderr.trim()], [2, "market: price must be a non-negative integer"]);
  });

  it("refuses a malformed scope and one naming an unknown device before any transaction (exit 1)", async () => {
    const malformed = await scopeFile("malformed.json", { v: 1, devices: [device.address], fields: [] });
    const unknown = await scopeFile("unknown.json", {
      v: 1,
      devices: [device.address, "0x00000000000000000000000000000000000000aa"],
      fields: ["pm2_5_ugm3"],
      window: { from: t0, to: t0 + 120 },
    });
    const listing = ["list", "--token", market.token, "--price", "1000", "--access-seconds", "86400", "--scope"];
    const bad = await market$([...listing, malformed], asOperator);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^market: INVALID_SCOPE: /);
    const unknownDevice = await market$([...listing, unknown], asOperator);
    assert.equal(unknownDevice.code, 1);
    assert.match(unknownDevice.stderr, /^market: UNKNOWN_SCOPE_DEVICE: /);
    assert.equal(await productCount(), 0n, "nothing listed");
  });

  it("lists, shows and sells a product; chain refusals are one line with the contract's error", async () => {
    const scope = await scopeFile("scope.json", {
      v: 1,
      devices: [device.address],
      fields: ["pm2_5_ugm3", "temperature_c"],
      window: { from: t0, to: t0 + 120 },
    });
    const listed = await market$(
      ["list", "--scope", scope, "--token", market.token, "--price", "1000", "--access-seconds", "86400", "--json"],
      asOperator,
    );
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout).productId, "1");
    const shown = await market$(["products"]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      /^#1 active 0\.000000000000001 of 0x[0-9a-fA-F]{40}, access 86400 s: 1 devices, pm2_5_ugm3\/temperature_c, /,
    );

    const unknown = await market$(["buy", "7"], asBuyer);
    assert.deepEqual([unknown.code, unknown.stderr.trim()], [1, "market: refused by the chain: DataMarketUnknownProduct(7)"]);
    await market.fund(buyer.address, 1000n);
    const bought = await market$(["buy", "1", "--permit"], asBuyer);
    assert.equal(bought.code, 0, bought.stderr);
    assert.match(bought.stdout, /^bought: purchase 1 \(tx 0x[0-9a-f]{64}, block \d+\); access after K confirmations/);
    const left = await bed.reward.publicClient.readContract({
      address: market.token,
      abi: erc20Abi,
      functionName: "balanceOf",
      args: [buyer.address],
    });
    assert.equal(left, 0n);
  });

  it("downloads only after K confirmations; the CSV and every proof bundle check out", async () => {
    const out = path.join(bed.dir, "download");
    const early = await market$(["download", "-o", out], asBuyer);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /^market: NO_PURCHASE: /);
    await mineReward(bed.reward, K + 1);
    const done = await market$(["download", "-o", out], asBuyer);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^purchase 1: 2 readings → .*purchase-1\.csv; 2 proof bundles in /);
    const csv = (await readFile(path.join(out, "purchase-1.csv"), "utf8")).trim().split("\n");
    assert.equal(csv[0], "device,seq,ts,pm2_5_ugm3,temperature_c,dataHash,signature");
    assert.equal(csv.length, 3);
    const bundles = await readdir(path.join(out, "bundles"));
    assert.equal(bundles.length, 2);
    for (const file of bundles.slice(0, 1)) {
      const check = await run("scripts/verify.ts", ["bundle", "check", path.join(out, "bundles", file), "--rpc", bed.audit.rpcUrl], {});
      assert.equal(check.code, 0, `${file}: ${check.stdout}${check.stderr}`);
    }
  });

  it("retires a product (operator only): a later purchase is refused", async () => {
    const retired = await market$(["retire", "1"], asOperator);
    assert.equal(retired.code, 0, retired.stderr);
    const late = await market$(["buy", "1"], asBuyer);
    assert.deepEqual([late.code, late.stderr.trim()], [1, "market: refused by the chain: DataMarketProductRetired(1)"]);
  });
});
