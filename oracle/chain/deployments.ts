/**
 * Deployment records: where the contracts of a chain live, written by the deploy commands and read
 * by every service. One typed reader/writer serves both chains (audit: registry and anchor;
 * reward: token and distributor), as `data/deployments/<kind>-<chainId>.json`.
 *
 * @module
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { getAddress, isAddress, type Address, type PublicClient } from "viem";

import { SensorSealError } from "../core/errors.js";

/** Where the audit-chain contracts live: written by the deploy command, read by every service. */
export interface AuditDeployment {
  chainId: number;
  registry: Address;
  anchor: Address;
  /** First block holding the registry's code (deployed before the anchor): indexers start here. */
  deployBlock: number;
}

/** Where the reward-chain contracts live: written by scripts/deploy-reward.ts, read by the oracle and the claim CLI. */
export interface RewardDeployment {
  chainId: number;
  token: Address;
  distributor: Address;
  /** First block holding the distributor's code: RootPosted / Claimed followers start here. */
  deployBlock: number;
}

/** Every kind of deployment record, with the record's type. */
export interface DeploymentKinds {
  audit: AuditDeployment;
  reward: RewardDeployment;
}
export type DeploymentKind = keyof DeploymentKinds;

/** Per kind: the record's address fields and the command that writes it. */
const KINDS: { [K in DeploymentKind]: { addresses: readonly (keyof DeploymentKinds[K])[]; label: string; command: string } } = {
  audit: { addresses: ["registry", "anchor"], label: "audit-chain", command: "npm run deploy:audit" },
  reward: { addresses: ["token", "distributor"], label: "reward-chain", command: "npm run deploy:reward" },
};

/** A deployment record is missing or malformed. */
export class DeploymentError extends SensorSealError {
  override name = "DeploymentError" as const;
  declare readonly code: "DEPLOYMENT_MISSING" | "INVALID_DEPLOYMENT";
  constructor(
    code: "DEPLOYMENT_MISSING" | "INVALID_DEPLOYMENT",
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}

/** Folder for everything the local stack and the deploy command write (`SENSORSEAL_DATA_DIR`, default `./data`). */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.SENSORSEAL_DATA_DIR ?? "data");
}

/** Path of a deployment record, e.g. `data/deployments/audit-31337.json`. */
export function deploymentPath(kind: DeploymentKind, chainId: number, dir = dataDir()): string {
  return path.join(dir, "deployments", `${kind}-${chainId}.json`);
}

/**
 * Records a deployment atomically (write then rename).
 * @example await writeDeployment("audit", { chainId: 31337, registry, anchor, deployBlock: 1 });
 */
export async function writeDeployment<K extends DeploymentKind>(kind: K, deployment: DeploymentKinds[K], dir = dataDir()): Promise<string> {
  const file = deploymentPath(kind, deployment.chainId, dir);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(deployment, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return file;
}

/**
 * Reads a deployment record, failing with a message that says how to make one.
 * @throws {DeploymentError} DEPLOYMENT_MISSING (no file) or INVALID_DEPLOYMENT (not a record of this kind).
 * @example const { anchor } = await readDeployment("audit", 31337);
 */
export async function readDeployment<K extends DeploymentKind>(kind: K, chainId: number, dir = dataDir()): Promise<DeploymentKinds[K]> {
  const { label, command, addresses } = KINDS[kind];
  const file = deploymentPath(kind, chainId, dir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new DeploymentError("DEPLOYMENT_MISSING", `No ${label} deployment for chain ${chainId} at ${file}: run \`${command}\` first`, {
      cause,
      details: { kind, chainId, file },
    });
  }
  const invalid = (reason: string, cause?: unknown) =>
    new DeploymentError("INVALID_DEPLOYMENT", `Invalid ${label} deployment at ${file}: ${reason}`, {
      cause,
      details: { kind, chainId, file },
    });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw invalid("not JSON", cause);
  }
  const record: Record<string, unknown> = { chainId: raw.chainId };
  for (const field of addresses as readonly string[]) {
    const value = raw[field];
    if (typeof value !== "string" || !isAddress(value, { strict: false })) throw invalid(`"${field}" is not an address`);
    record[field] = getAddress(value);
  }
  record.deployBlock = raw.deployBlock;
  return record as unknown as DeploymentKinds[K];
}

/** Path of the deployment record for an audit chain, e.g. `data/deployments/audit-31337.json`. */
export const auditDeploymentPath = (chainId: number, dir = dataDir()): string => deploymentPath("audit", chainId, dir);
/** Path of the deployment record for a reward chain, e.g. `data/deployments/reward-31338.json`. */
export const rewardDeploymentPath = (chainId: number, dir = dataDir()): string => deploymentPath("reward", chainId, dir);
/** Records an audit-chain deployment ({@link writeDeployment}). */
export const writeAuditDeployment = (d: AuditDeployment, dir = dataDir()): Promise<string> => writeDeployment("audit", d, dir);
/** Records a reward-chain deployment ({@link writeDeployment}). */
export const writeRewardDeployment = (d: RewardDeployment, dir = dataDir()): Promise<string> => writeDeployment("reward", d, dir);
/** Reads an audit-chain deployment record ({@link readDeployment}). */
export const readAuditDeployment = (chainId: number, dir = dataDir()): Promise<AuditDeployment> => readDeployment("audit", chainId, dir);
/** Reads a reward-chain deployment record ({@link readDeployment}). */
export const readRewardDeployment = (chainId: number, dir = dataDir()): Promise<RewardDeployment> => readDeployment("reward", chainId, dir);

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
