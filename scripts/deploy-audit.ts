/**
 * Deploys the audit chain (DeviceRegistry + ReadingAnchor) with Hardhat Ignition and records the
 * addresses where the services read them (data/deployments/audit-<chainId>.json).
 *
 *   npx hardhat run scripts/deploy-audit.ts --network auditLocal
 *   IGNITION_PARAMETERS=ignition/parameters/besu-qbft.json npx hardhat run scripts/deploy-audit.ts --network besu
 *
 * Re-running resumes the same Ignition deployment (ignition/deployments/audit-<chainId>); against a
 * new local node, set DEPLOYMENT_ID or delete that folder.
 */
import path from "node:path";

import { network } from "hardhat";

import { findDeployBlock, writeAuditDeployment } from "../oracle/chain/deployments.js";
import AuditChainModule from "../ignition/modules/AuditChain.js";

const parameters = path.resolve(process.env.IGNITION_PARAMETERS ?? "ignition/parameters/local.json");
const { ignition, viem } = await network.create();
const publicClient = await viem.getPublicClient();
const chainId = await publicClient.getChainId();

const { registry, anchor } = await ignition.deploy(AuditChainModule, {
  parameters,
  // Ignition journals http deployments in ignition/deployments/<id>: a fresh local node needs a fresh id.
  deploymentId: process.env.DEPLOYMENT_ID ?? `audit-${chainId}`,
  displayUi: true,
});

const file = await writeAuditDeployment({
  chainId,
  registry: registry.address,
  anchor: anchor.address,
  deployBlock: await findDeployBlock(publicClient, registry.address),
});
console.log(`audit chain ${chainId}: registry ${registry.address}, anchor ${anchor.address}\nrecorded in ${file}`);
