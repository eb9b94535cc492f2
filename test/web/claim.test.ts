/**
 * The claim page in headless Chromium, with an injected EIP-1193 provider (window.ethereum) that
 * answers accounts and chain switches itself and forwards everything else to a real reward chain
 * (Ignition deployment, dev accounts unlocked on the node). The root is posted in the test by 2 of
 * the 3 oracle keys; a stub HTTP server stands in for the oracle service's /v1/claims API.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it as test } from "node:test";

import type { Address } from "viem";
import type { BrowserContext, Page } from "playwright-core";

import { rewardTokenAbi } from "../../oracle/chain/abis.js";
import { buildAssets, type Asset } from "../../oracle/web/assets.js";
import { browserUnavailable, launchBrowser, startRewardChain, startStubOracle, startWeb, type RewardChain } from "./fixtures.js";

/** Hardhat dev accounts #9 and #8: unlocked on the node, so eth_sendTransaction from them works. */
const CONTRIBUTOR: Address = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";
const NOBODY: Address = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f";
const OTHER: Address = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
const AMOUNT = 1234n * 10n ** 18n + 5n * 10n ** 17n; // 1234.5 SSR

const SCREENSHOTS = path.resolve(import.meta.dirname, "screenshots");
const skip = await browserUnavailable();
const title = skip === undefined ? "claim page (Chromium, stub oracle standing in for the oracle service)" : `claim page SKIPPED: ${skip}`;
const it = (name: string, fn: () => Promise<void>) => test(name, { skip: skip ?? false }, fn);

interface WalletOptions {
  account: Address;
  /** The chain the wallet is on at first. */
  chainId: number;
  rewardChainId: number;
  /** Whether the site is already connected (eth_accounts answers the account before eth_requestAccounts). */
  connected?: boolean;
}

/** The test wallet (runs in the page): accounts and chain switches answered here, the rest sent to the node. */
const WALLET_SCRIPT = `function (o) {
  const w = window;
  const listeners = {};
  let chainId = o.chainId;
  let connected = o.connected || false;
  w.__reject = [];
  w.__walletCalls = [];
  const fail = (code, message) => Object.assign(new Error(message), { code });
  w.ethereum = {
    async request({ method, params }) {
      w.__walletCalls.push(method);
      if (w.__reject.includes(method)) throw fail(4001, "User rejected the request.");
      switch (method) {
        case "eth_requestAccounts":
          connected = true;
          return [o.account];
        case "eth_accounts":
          return connected ? [o.account] : [];
        case "eth_chainId":
          return "0x" + chainId.toString(16);
        case "wallet_switchEthereumChain": {
          const id = parseInt(params[0].chainId, 16);
          if (id !== o.rewardChainId) throw fail(4902, "Unrecognized chain ID");
          chainId = id;
          for (const f of listeners.chainChanged || []) f(params[0].chainId);
          return null;
        }
        case "wallet_addEthereumChain":
          return null;
      }
      if (chainId !== o.rewardChainId && method === "eth_sendTransaction") throw fail(4100, "wallet is on another chain");
      const answer = JSON.parse(await w.__sensorsealRpc(JSON.stringify({ method, params: params || [] })));
      if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code, data: answer.error.data });
      return answer.result;
    },
    on(event, f) {
      (listeners[event] = listeners[event] || []).push(f);
    },
    removeListener(event, f) {
      listeners[event] = (listeners[event] || []).filter((g) => g !== f);
    },
  };
}`;

/** Defines window.ethereum in the page: a test wallet over the reward chain's JSON-RPC. */
async function injectWallet(page: Page, rpcUrl: string, options: WalletOptions): Promise<string[]> {
  const rpcCalls: string[] = [];
  page.on("pageerror", (error) => consoleLines.push(`pageerror: ${error.message}`));
  page.on("console", (m) => consoleLines.push(`console.${m.type()}: ${m.text()}`));
  await page.exposeFunction("__sensorsealRpc", async (json: string) => {
    const { method, params } = JSON.parse(json) as { method: string; params: unknown[] };
    rpcCalls.push(method);
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    return await res.text();
  });
  // A string, not a function: tsx's keepNames helpers (__name) do not exist in the page.
  await page.addInitScript(`(${WALLET_SCRIPT})(${JSON.stringify(options)})`);
  return rpcCalls;
}

const consoleLines: string[] = [];

async function messageCode(page: Page, code: string): Promise<string> {
  await page.waitForSelector(`#message[data-code="${code}"]`, { timeout: 20_000 }).catch(async (error) => {
    throw new Error(
      `expected #message ${code}, page shows ${await page.getAttribute("#message", "data-code")}: ${await page.textContent("#message")}\n${consoleLines.slice(-10).join("\n")}`,
      { cause: error },
    );
  });
  return (await page.textContent("#message")) ?? "";
}

describe(title, { timeout: 240_000 }, () => {
  let reward: RewardChain;
  let oracle: Awaited<ReturnType<typeof startStubOracle>>;
  let web: Awaited<ReturnType<typeof startWeb>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let assets: Map<string, Asset>;

  before(async () => {
    if (skip !== undefined) return;
    reward = await startRewardChain();
    oracle = await startStubOracle(reward);
    const { tree, epoch } = await reward.postRoot([
      { account: CONTRIBUTOR, cumulative: AMOUNT },
      { account: OTHER, cumulative: 7n * 10n ** 18n },
    ]);
    oracle.serve(tree, epoch);
    assets = await buildAssets();
    web = await startWeb({
      assets,
      oracle: { url: oracle.url },
      reward: { rpcUrl: reward.rpcUrl, chainId: reward.chainId, distributor: reward.distributor },
    });
    browser = await launchBrowser();
    context = browser.context;
  });

  after(async () => {
    await browser?.close();
    await web?.close();
    await oracle?.close();
    await reward?.close();
  });

  const balance = (account: Address) =>
    reward.publicClient.readContract({ address: reward.token, abi: rewardTokenAbi, functionName: "balanceOf", args: [account] });

  it("without a wallet the page says so", async () => {
    const page = await context.newPage();
    await page.goto(`${web.url}/claim`);
    const text = await messageCode(page, "NO_WALLET");
    assert.match(text, /No browser wallet/);
    assert.equal(await page.isDisabled("#claim"), true);
    await page.close();
  });

  it("a rejected connection request is reported, nothing else happens", async () => {
    const page = await context.newPage();
    await injectWallet(page, reward.rpcUrl, { account: CONTRIBUTOR, chainId: reward.chainId, rewardChainId: reward.chainId });
    await page.goto(`${web.url}/claim`);
    await messageCode(page, "CONNECT");
    await page.evaluate(() => ((window as any).__reject = ["eth_requestAccounts"]));
    await page.click("#connect");
    assert.match(await messageCode(page, "REJECTED"), /rejected the connection/);
    await page.close();
  });

  it("connect, wrong chain, switch, entitlement shown, rejected claim, claim: balance up by the entitlement; then nothing to claim", async () => {
    const page = await context.newPage();
    const rpcCalls = await injectWallet(page, reward.rpcUrl, { account: CONTRIBUTOR, chainId: 1, rewardChainId: reward.chainId });
    const before = await balance(CONTRIBUTOR);
    await page.goto(`${web.url}/claim`);
    await messageCode(page, "CONNECT");
    await page.click("#connect");

    // The wallet is on chain 1: entitlement shown, claim refused until the switch.
    assert.match(await messageCode(page, "WRONG_CHAIN"), new RegExp(`chain 1;.*chain ${reward.chainId}`));
    assert.equal(await page.textContent("#account"), CONTRIBUTOR);
    assert.equal(await page.textContent("#entitled"), "1,234.5 SSR");
    assert.equal(await page.textContent("#claimed"), "0 SSR");
    assert.equal(await page.isDisabled("#claim"), true);
    assert.equal(await page.isVisible("#switch"), true);
    await page.click("#switch");
    assert.match(await messageCode(page, "READY"), /1,234\.5 SSR to claim/);
    assert.equal(await page.getAttribute("#claimable", "data-value"), AMOUNT.toString());
    assert.equal(await page.isVisible("#switch"), false);

    // The user rejects the transaction in the wallet.
    await page.evaluate(() => ((window as any).__reject = ["eth_sendTransaction"]));
    await page.click("#claim");
    assert.match(await messageCode(page, "REJECTED"), /rejected the claim/);
    assert.equal(await balance(CONTRIBUTOR), before);
    assert.equal(rpcCalls.includes("eth_sendTransaction"), false);

    // Accepted: the claim is sent through the wallet, mined, and the new balance shown.
    assert.equal(await page.isDisabled("#claim"), false); // still claimable: the user may try again
    await page.evaluate(() => ((window as any).__reject = []));
    await page.click("#claim");
    const claimed = await messageCode(page, "CLAIMED");
    assert.equal(rpcCalls.includes("eth_sendTransaction"), true);
    const hash = await page.getAttribute("#tx", "data-hash");
    assert.match(hash ?? "", /^0x[0-9a-f]{64}$/);
    assert.match(claimed, new RegExp(`Claimed 1,234\\.5 SSR in tx ${hash}`));
    const receipt = await reward.publicClient.getTransactionReceipt({ hash: hash as `0x${string}` });
    assert.equal(receipt.status, "success");
    assert.equal(receipt.from.toLowerCase(), CONTRIBUTOR.toLowerCase());
    assert.equal(await balance(CONTRIBUTOR), before + AMOUNT);
    assert.equal(await page.getAttribute("#balance", "data-value"), (before + AMOUNT).toString());
    assert.match(claimed, /New balance: 1,234\.5 SSR/);
    assert.equal(await page.isDisabled("#claim"), true);
    await mkdir(SCREENSHOTS, { recursive: true });
    const shot = await page.screenshot({ path: path.join(SCREENSHOTS, "claim.png"), fullPage: true });
    assert.ok(shot.length > 10_000, `claim screenshot only ${shot.length} bytes`);

    // A second visit (the test wallet forgets the connection on reload): everything is claimed.
    await page.reload();
    await messageCode(page, "CONNECT");
    await page.click("#connect");
    assert.match(await messageCode(page, "NOTHING_TO_CLAIM"), /all 1,234\.5 SSR already claimed/);
    assert.equal(await page.getAttribute("#claimable", "data-value"), "0");
    assert.equal(await page.isDisabled("#claim"), true);
    await page.close();
  });

  it("an account without entitlement is told there is nothing to claim", async () => {
    const page = await context.newPage();
    await injectWallet(page, reward.rpcUrl, { account: NOBODY, chainId: reward.chainId, rewardChainId: reward.chainId, connected: true });
    await page.goto(`${web.url}/claim`);
    assert.match(await messageCode(page, "NO_ENTITLEMENT"), /no rewards yet/);
    assert.equal(await page.isDisabled("#claim"), true);
    await page.close();
  });

  it("an unreachable oracle shows as such", async () => {
    const down = await startWeb({
      assets,
      oracle: { url: "http://127.0.0.1:9" },
      reward: { rpcUrl: reward.rpcUrl, chainId: reward.chainId, distributor: reward.distributor },
    });
    try {
      const page = await context.newPage();
      await injectWallet(page, reward.rpcUrl, {
        account: CONTRIBUTOR,
        chainId: reward.chainId,
        rewardChainId: reward.chainId,
        connected: true,
      });
      await page.goto(`${down.url}/claim`);
      assert.match(await messageCode(page, "ORACLE_UNAVAILABLE"), /not reachable/);
      await page.close();
    } finally {
      await down.close();
    }
  });
});
