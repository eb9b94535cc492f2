import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { getAddress, type Address, type PublicClient } from "viem";

/** Where the audit-chain contracts live: written by the deploy command, read by every service. */
export interface AuditDeployment {
  chainId: number;
  registry: Address;
  anchor: Address;
  /** First block holding the registry's code (deployed before the anchor): indexers start here. */
  deployBlock: number;
}

/** Folder for everything the local stack and the deploy command write (`SENSORSEAL_DATA_DIR`, default `./data`). */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.SENSORSEAL_DATA_DIR ?? "data");
}

/** Path of the deployment record for an audit chain, e.g. `data/deployments/audit-31337.json`. */
export function auditDeploymentPath(chainId: number, dir = dataDir()): string {
  return path.join(dir, "deployments", `audit-${chainId}.json`);
}

/**
 * Records an audit-chain deployment atomically (write then rename).
 * @example await writeAuditDeployment({ chainId: 31337, registry, anchor, deployBlock: 1 });
 */
export async function writeAuditDeployment(deployment: AuditDeployment, dir = dataDir()): Promise<string> {
  const file = auditDeploymentPath(deployment.chainId, dir);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(deployment, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return file;
}

/**
 * Reads an audit-chain deployment record, failing with a message that says how to make one.
 * @example const { anchor } = await readAuditDeployment(31337);
 */
export async function readAuditDeployment(chainId: number, dir = dataDir()): Promise<AuditDeployment> {
  const file = auditDeploymentPath(chainId, dir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new Error(`No audit-chain deployment for chain ${chainId} at ${file}: run \`npm run deploy:audit\` first`, {
      cause,
    });
  }
  const raw = JSON.parse(text) as AuditDeployment;
  return {
    chainId: raw.chainId,
    registry: getAddress(raw.registry),
    anchor: getAddress(raw.anchor),
    deployBlock: raw.deployBlock,
  };
}

/**
 * First block at which `address` has code (binary search over `eth_getCode`), for indexers' start block.
 * @example const block = await findDeployBlock(publicClient, anchor);
 */
export async function findDeployBlock(client: PublicClient, address: Address): Promise<number> {
  let high = Number(await client.getBlockNumber({ cacheTime: 0 }));
  let low = 0;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    const code = await client.getCode({ address, blockNumber: BigInt(mid) });
    if (code !== undefined && code !== "0x") high = mid;
    else low = mid + 1;
  }
  return low;
}

/** Where the reward-chain contracts live: written by scripts/deploy-reward.ts, read by the oracle and the claim CLI. */
export interface RewardDeployment {
  chainId: number;
  token: Address;
  distributor: Address;
  /** First block holding the distributor's code: RootPosted / Claimed followers start here. */
  deployBlock: number;
}

/** Path of the deployment record for a reward chain, e.g. `data/deployments/reward-31338.json`. */
export function rewardDeploymentPath(chainId: number, dir = dataDir()): string {
  return path.join(dir, "deployments", `reward-${chainId}.json`);
}

/**
 * Records a reward-chain deployment atomically (write then rename).
 * @example await writeRewardDeployment({ chainId: 31338, token, distributor, deployBlock: 1 });
 */
export async function writeRewardDeployment(deployment: RewardDeployment, dir = dataDir()): Promise<string> {
  const file = rewardDeploymentPath(deployment.chainId, dir);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(deployment, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return file;
}

/**
 * Reads a reward-chain deployment record, failing with a message that says how to make one.
 * @example const { distributor } = await readRewardDeployment(31338);
 */
export async function readRewardDeployment(chainId: number, dir = dataDir()): Promise<RewardDeployment> {
  const file = rewardDeploymentPath(chainId, dir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new Error(`No reward-chain deployment for chain ${chainId} at ${file}: run \`npm run deploy:reward\` first`, {
      cause,
    });
  }
  const raw = JSON.parse(text) as RewardDeployment;
  return {
    chainId: raw.chainId,
    token: getAddress(raw.token),
    distributor: getAddress(raw.distributor),
    deployBlock: raw.deployBlock,
  };
}
