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
