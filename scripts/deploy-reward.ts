/**
 * Deploys the reward chain (RewardToken + RewardDistributor) with Hardhat Ignition and records the
 * addresses where the oracle and the claim CLI read them (data/deployments/reward-<chainId>.json).
 *
 *   npx hardhat run scripts/deploy-reward.ts --network rewardLocal
 *   IGNITION_PARAMETERS=ignition/parameters/<network>.json npx hardhat run scripts/deploy-reward.ts --network <network>
 *
 * Re-running resumes the same Ignition deployment (ignition/deployments/reward-<chainId>); against a
 * new local node, set DEPLOYMENT_ID or delete that folder.
 */
import path from "node:path";

import { network } from "hardhat";

import { findDeployBlock, writeRewardDeployment } from "../oracle/chain/deployments.js";
import RewardChainModule from "../ignition/modules/RewardChain.js";

const parameters = path.resolve(process.env.IGNITION_PARAMETERS ?? "ignition/parameters/local.json");
const { ignition, viem } = await network.create();
const publicClient = await viem.getPublicClient();
const chainId = await publicClient.getChainId();

const { token, distributor } = await ignition.deploy(RewardChainModule, {
  parameters,
  deploymentId: process.env.DEPLOYMENT_ID ?? `reward-${chainId}`,
  displayUi: true,
});

const file = await writeRewardDeployment({
  chainId,
  token: token.address,
  distributor: distributor.address,
  deployBlock: await findDeployBlock(publicClient, distributor.address),
});
console.log(`reward chain ${chainId}: token ${token.address}, distributor ${distributor.address}\nrecorded in ${file}`);
