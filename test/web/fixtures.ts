/**
 * Shared pieces of the web tests: headless Chromium (Debian `chromium` driven by playwright-core),
 * a reward chain served over JSON-RPC with its Ignition deployment, roots posted by 2 of the 3
 * oracle keys, a stub oracle HTTP server, and the web service on an ephemeral port. Importing this
 * file does nothing.
 */
import type { LedgerJson } from "../../oracle/committee/oracle.js";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { network } from "hardhat";
import { createPublicClient, createWalletClient, http, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { BrowserContext } from "playwright-core";

import { rewardDistributorAbi } from "../../oracle/chain/abis.js";
import { AUDIT_CHAIN_ID } from "../../oracle/core/chains.js";
import { OracleMessageDigester, signOracleMessage, sortOracleSignatures, type OracleMessage } from "../../oracle/core/oracle-message.js";
import { buildRewardTree, type RewardEntry, type RewardTree } from "../../oracle/core/reward.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { createLogger } from "../../oracle/service/logger.js";
import { createWebServer, type WebServer, type WebServerOptions } from "../../oracle/web/server.js";
import RewardChainModule from "../../ignition/modules/RewardChain.js";
import { edrNetworkNow } from "../helpers/test-node.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Hardhat's development keys #5, #6, #7: the oracles of ignition/parameters/local.json. */
export const ORACLE_KEYS = [
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
] as const satisfies readonly Hex[];

/** Dev key #3 (funded, posts roots: anyone may). */
const POSTER_KEY: Hex = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";

/** Why the browser tests cannot run here (then they are reported as skipped), or undefined. */
export async function browserUnavailable(): Promise<string | undefined> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  try {
    await import("playwright-core");
  } catch {
    return "playwright-core is not installed";
  }
  return undefined;
}

/** Headless Chromium with a fresh profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const { chromium } = await import("playwright-core");
  const profile = await mkdtemp(path.join(tmpdir(), "sensorseal-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A reward chain over JSON-RPC on 127.0.0.1, RewardChain deployed through Ignition. */
export interface RewardChain {
  rpcUrl: string;
  chainId: number;
  distributor: Address;
  token: Address;
  publicClient: PublicClient;
  /** Posts the next epoch's root of `entries`, signed by oracle keys #0 and #2 (2 of 3). */
  /** Posts the tree of the entries in the reward token. */
  postRoot(entries: Omit<RewardEntry, "token">[]): Promise<{ tree: RewardTree; epoch: bigint }>;
  close(): Promise<void>;
}

export async function startRewardChain(): Promise<RewardChain> {
  const server = await network.createServer(edrNetworkNow("reward"), "127.0.0.1", 0);
  const { address, port } = await server.listen();
  const rpcUrl = `http://${address}:${port}`;
  const connection = await network.create({ network: "rewardLocal", override: { url: rpcUrl } });
  const { token, distributor } = await connection.ignition.deploy(RewardChainModule, {
    parameters: path.resolve(import.meta.dirname, "../../ignition/parameters/local.json"),
    deploymentId: `test-reward-${port}-${Date.now()}`,
  });
  const publicClient = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const chain = {
    id: chainId,
    name: "reward",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  };
  const poster = createWalletClient({ account: privateKeyToAccount(POSTER_KEY), chain, transport: http(rpcUrl) });
  const digester = new OracleMessageDigester(chainId, distributor.address);
  let epoch = 0n;
  return {
    rpcUrl,
    chainId,
    distributor: distributor.address,
    token: token.address,
    publicClient,
    async postRoot(entries) {
      const tree = buildRewardTree(entries.map((e) => ({ ...e, token: token.address })));
      const message: OracleMessage = {
        sourceChainId: BigInt(AUDIT_CHAIN_ID),
        destinationChainId: BigInt(chainId),
        distributor: distributor.address,
        epoch: epoch + 1n,
        root: tree.root,
        cumulativeTotal: tree.totalOf(token.address),
        fromBlock: epoch * 100n + 1n,
        toBlock: epoch * 100n + 100n,
        rulesVersion: 1,
        oracleSetVersion: 1,
        tokenTotals: [],
      };
      const signatures = sortOracleSignatures([ORACLE_KEYS[0], ORACLE_KEYS[2]].map((key) => signOracleMessage(key, digester, message)));
      const hash = await poster.writeContract({
        address: distributor.address,
        abi: rewardDistributorAbi,
        functionName: "postRoot",
        args: [message, signatures],
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error("postRoot reverted");
      epoch = message.epoch;
      return { tree, epoch };
    },
    async close() {
      await connection.provider.close();
      await server.close();
    },
  };
}

/**
 * A stub standing in for the oracle service's HTTP API (GET /v1/claims/:account, /v1/ledger), served
 * from a reward tree the test posted.
 */
export async function startStubOracle(
  reward: RewardChain,
): Promise<{ url: string; serve(tree: RewardTree, epoch: bigint): void; close(): Promise<void> }> {
  let current: { tree: RewardTree; epoch: bigint } | undefined;
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? "/", "http://x");
    const claim = /^\/v1\/claims\/(0x[0-9a-fA-F]{40})$/.exec(url.pathname);
    if (req.method === "GET" && claim !== null) {
      const entry = current?.tree.entry(claim[1] as Address, reward.token);
      if (current === undefined || entry === undefined) return send(404, { error: { code: "NO_ENTITLEMENT", message: "no entitlement" } });
      return send(200, {
        account: entry.account,
        token: entry.token,
        cumulative: entry.cumulative.toString(),
        proof: current.tree.proof(entry.account, entry.token),
        epoch: Number(current.epoch),
        root: current.tree.root,
        distributor: reward.distributor,
        chainId: reward.chainId,
      });
    }
    if (req.method === "GET" && url.pathname === "/v1/ledger")
      return send(200, {
        rulesVersion: 1,
        processedEpoch: current === undefined ? 0 : Number(current.epoch),
        processedBlock: 0,
        total: (current?.tree.entries ?? []).reduce((sum, e) => sum + e.cumulative, 0n).toString(),
        beneficiaries: (current?.tree.entries ?? []).map((e) => ({
          beneficiary: e.account,
          cumulative: e.cumulative.toString(),
          readings: 1,
        })),
      } satisfies LedgerJson);
    send(404, { error: { code: "NOT_FOUND", message: "no route" } });
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serve(tree, epoch) {
      current = { tree, epoch };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The web service on 127.0.0.1:0. */
export async function startWeb(
  options: Omit<WebServerOptions, "logger">,
): Promise<{ web: WebServer; server: RunningServer; url: string; close(): Promise<void> }> {
  const web = await createWebServer({ logger: createLogger("web-test", process.env.TEST_LOG_LEVEL ?? "silent"), ...options });
  const server = await listen(web.app, 0);
  return {
    web,
    server,
    url: server.url,
    async close() {
      server.server.closeAllConnections();
      await server.close();
      await web.stop();
    },
  };
}
