/**
 * The market CLI (`npm run market -- <command>`): operators list, reprice and retire data products;
 * consumers list products, buy, and download what they bought (CSV of the purchased fields plus one
 * proof bundle per reading, each accepted by `npm run verify -- bundle check <file> --rpc <audit rpc>`).
 *
 *   PLATFORM_ADMIN_KEY=… MARKET_PRIVATE_KEY=0x… npm run market -- list --scope scope.json --token 0x… --price 1000000 --access-seconds 2592000
 *   MARKET_PRIVATE_KEY=0x… npm run market -- reprice <productId> <price>
 *   MARKET_PRIVATE_KEY=0x… npm run market -- retire <productId>
 *   npm run market -- products [--json]
 *   MARKET_PRIVATE_KEY=0x… npm run market -- buy <productId> [--permit]
 *   MARKET_PRIVATE_KEY=0x… npm run market -- download [--purchase <id>] [-o dir] [--no-bundles]
 *
 * Keys come from the environment or `--key-file` (never the command line: it shows in process listings).
 * Addresses: `--market` / MARKET_ADDRESS; chains and services: REWARD_RPC_URL (8546), PLATFORM_URL (8080),
 * AUDIT_RPC_URL (8545), RELAYER_URL (8547). Exit 0 on success, 1 when refused (the reason is printed), 2 on bad usage.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";

import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  formatUnits,
  http,
  isAddress,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readAuditDeployment } from "../oracle/chain/deployments.js";
import { bundleToJson } from "../oracle/core/bundle.js";
import { buyProduct, listProduct, postScope, readProducts, updateProduct } from "../oracle/market/client.js";
import { downloadGrant, readingsCsv, signInToPlatform } from "../oracle/market/consumer.js";
import { httpScopeSource } from "../oracle/market/scopes.js";
import { exportBundle } from "../oracle/verifier/bundle.js";
import { Verifier } from "../oracle/verifier/verifier.js";

class UsageError extends Error {}

const env = process.env;
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    market: { type: "string" },
    scope: { type: "string" },
    token: { type: "string" },
    price: { type: "string" },
    "access-seconds": { type: "string" },
    permit: { type: "boolean" },
    purchase: { type: "string" },
    output: { type: "string", short: "o" },
    "no-bundles": { type: "boolean" },
    "key-file": { type: "string" },
    json: { type: "boolean" },
  },
});

const rewardRpc = env.REWARD_RPC_URL ?? "http://127.0.0.1:8546";
const platformUrl = env.PLATFORM_URL ?? "http://127.0.0.1:8080";

function uint(value: string | undefined, name: string): bigint {
  if (value === undefined || !/^[0-9]+$/.test(value)) throw new UsageError(`${name} must be a non-negative integer`);
  return BigInt(value);
}

function marketAddress(): Address {
  const m = opts.market ?? env.MARKET_ADDRESS;
  if (m === undefined || !isAddress(m)) throw new UsageError("--market <address> or MARKET_ADDRESS is required");
  return m;
}

async function privateKey(): Promise<Hex> {
  const key = opts["key-file"] === undefined ? env.MARKET_PRIVATE_KEY : (await readFile(opts["key-file"], "utf8")).trim();
  if (key === undefined || !/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new UsageError("MARKET_PRIVATE_KEY or --key-file <file> (a 32-byte hex key) is required");
  return key as Hex;
}

async function clients() {
  const client = createPublicClient({ transport: http(rewardRpc) }) as PublicClient;
  const account = privateKeyToAccount(await privateKey());
  const chainId = await client.getChainId();
  const chain = {
    id: chainId,
    name: "reward",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rewardRpc] } },
  };
  return { client, account, wallet: createWalletClient({ account, chain, transport: http(rewardRpc) }) };
}

async function list(): Promise<void> {
  if (opts.scope === undefined || opts.token === undefined || !isAddress(opts.token))
    throw new UsageError("list needs --scope <file> --token <address>");
  const adminKey = env.PLATFORM_ADMIN_KEY;
  if (adminKey === undefined) throw new UsageError("PLATFORM_ADMIN_KEY is required (the platform validates and keeps the scope)");
  const scope: unknown = JSON.parse(await readFile(opts.scope, "utf8"));
  // Refused here, before any transaction, when malformed or naming unknown devices.
  const scopeHash = await postScope(platformUrl, adminKey, scope);
  const { client, wallet } = await clients();
  const productId = await listProduct(client, wallet, marketAddress(), {
    scopeHash,
    token: opts.token,
    price: uint(opts.price, "--price"),
    accessPeriod: uint(opts["access-seconds"], "--access-seconds"),
  });
  console.log(
    opts.json ? JSON.stringify({ productId: productId.toString(), scopeHash }) : `listed product ${productId} (scope ${scopeHash})`,
  );
}

async function products(): Promise<void> {
  const client = createPublicClient({ transport: http(rewardRpc) }) as PublicClient;
  const all = await readProducts(client, marketAddress(), httpScopeSource(platformUrl));
  if (opts.json) return void console.log(JSON.stringify(all, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
  for (const p of all) {
    const s = p.scope;
    const coverage =
      s === undefined
        ? "scope unavailable"
        : `${s.devices.length} devices, ${s.fields.join("/")}, ${s.window ? `${new Date(s.window.from * 1000).toISOString()} → ${new Date(s.window.to * 1000).toISOString()}` : `live ${s.live!.seconds} s`}`;
    console.log(`#${p.productId} ${p.status} ${formatUnits(p.price, 18)} of ${p.token}, access ${p.accessPeriod} s: ${coverage}`);
  }
}

async function download(): Promise<void> {
  const { account } = await clients();
  const session = await signInToPlatform(platformUrl, account);
  const grants = opts.purchase === undefined ? session.grants : session.grants.filter((g) => g.purchaseId === opts.purchase);
  if (grants.length === 0) throw new UsageError(`no running purchase ${opts.purchase ?? ""} for ${account.address}`);
  const dir = opts.output ?? "market-download";
  await mkdir(path.join(dir, "bundles"), { recursive: true });
  const verifier = opts["no-bundles"] ? undefined : await openVerifier(session.token);
  try {
    for (const grant of grants) {
      const readings = await downloadGrant(platformUrl, session.token, grant);
      const csv = path.join(dir, `purchase-${grant.purchaseId}.csv`);
      await writeFile(csv, readingsCsv(readings, grant.fields));
      let bundles = 0;
      for (const r of verifier === undefined ? [] : readings) {
        try {
          const { bundle } = await exportBundle(verifier!, r.device, r.seq);
          await writeFile(path.join(dir, "bundles", `${r.device}-${r.seq}.json`), bundleToJson(bundle));
          bundles++;
        } catch (error) {
          console.error(`no bundle for ${r.device} #${r.seq}: ${(error as Error).message}`);
        }
      }
      console.log(
        `purchase ${grant.purchaseId}: ${readings.length} readings → ${csv}; ${bundles} proof bundles in ${path.join(dir, "bundles")}`,
      );
    }
  } finally {
    await verifier?.close();
  }
}

async function openVerifier(token: string): Promise<Verifier> {
  const auditRpc = env.AUDIT_RPC_URL ?? "http://127.0.0.1:8545";
  const client = createPublicClient({ transport: http(auditRpc) }) as PublicClient;
  const audit = env.ANCHOR_ADDRESS === undefined ? await readAuditDeployment(await client.getChainId()) : undefined;
  return Verifier.create({
    rpc: client,
    anchor: (env.ANCHOR_ADDRESS ?? audit!.anchor) as Address,
    ...(audit === undefined ? {} : { deployBlock: audit.deployBlock }),
    // The purchase token opens exactly the purchased readings on the platform.
    platform: { url: platformUrl, apiKey: token },
    relayer: env.RELAYER_URL ?? "http://127.0.0.1:8547",
    manifests: [],
  });
}

async function main(): Promise<number> {
  const [command, ...args] = positionals;
  switch (command) {
    case "list":
      await list();
      return 0;
    case "reprice":
    case "retire": {
      const { client, wallet } = await clients();
      const productId = uint(args[0], "productId");
      const change = command === "retire" ? { productId, retire: true as const } : { productId, price: uint(args[1], "price") };
      console.log(`${command}d product ${productId}: ${await updateProduct(client, wallet, marketAddress(), change)}`);
      return 0;
    }
    case "products":
      await products();
      return 0;
    case "buy": {
      const { client, wallet } = await clients();
      const bought = await buyProduct(client, wallet, marketAddress(), uint(args[0], "productId"), { permit: opts.permit === true });
      console.log(`bought: purchase ${bought.purchaseId} (tx ${bought.txHash}, block ${bought.blockNumber}); access after K confirmations`);
      return 0;
    }
    case "download":
      await download();
      return 0;
    default:
      throw new UsageError("usage: market list|reprice|retire|products|buy|download (see scripts/market.ts)");
  }
}

/** One line: a contract refusal by its error name and arguments, an RPC failure by its short message. */
function reason(error: unknown): string {
  if (!(error instanceof BaseError)) return (error as Error).message;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError && reverted.data !== undefined) {
    const args = (reverted.data.args ?? []).map((a) => String(a)).join(", ");
    return `refused by the chain: ${reverted.data.errorName}(${args})`;
  }
  return error.shortMessage;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`market: ${reason(error)}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
