/**
 * The local stack, `npm start`: two local chains (audit and reward) served over JSON-RPC,
 * the audit chain deployed with its Ignition module, addresses recorded in the data folder.
 *
 * Stub status: the platform, relayer, oracle committee, simulator and dashboard join this
 * command as their issues land; today it runs the chains and the audit-chain deployment only.
 */
import path from "node:path";

import { network } from "hardhat";

import AuditChainModule from "../ignition/modules/AuditChain.js";
import { dataDir, findDeployBlock, writeAuditDeployment } from "../oracle/core/deployments.js";

const AUDIT_PORT = Number(process.env.AUDIT_PORT ?? 8545);
const REWARD_PORT = Number(process.env.REWARD_PORT ?? 8546);

const auditServer = await network.createServer("audit", "127.0.0.1", AUDIT_PORT);
const rewardServer = await network.createServer("reward", "127.0.0.1", REWARD_PORT);
const audit = await auditServer.listen();
const reward = await rewardServer.listen();
console.log(`audit chain  http://${audit.address}:${audit.port}`);
console.log(`reward chain http://${reward.address}:${reward.port}`);

const auditConnection = await network.create({
  network: "auditLocal",
  override: { url: `http://${audit.address}:${audit.port}` },
});
const publicClient = await auditConnection.viem.getPublicClient();
const chainId = await publicClient.getChainId();
const { registry, anchor } = await auditConnection.ignition.deploy(AuditChainModule, {
  parameters: path.resolve("ignition/parameters/local.json"),
  // The chain is new at every start, so each start is a new Ignition deployment.
  deploymentId: `audit-${chainId}-stack-${Date.now()}`,
});
const file = await writeAuditDeployment({
  chainId,
  registry: registry.address,
  anchor: anchor.address,
  deployBlock: await findDeployBlock(publicClient, registry.address),
});
console.log(`DeviceRegistry ${registry.address}\nReadingAnchor  ${anchor.address}\nrecorded in ${file} (data folder ${dataDir()})`);
console.log("Not yet part of the stack: platform, relayer, oracle committee, simulator, dashboard.");

if (process.env.STACK_EXIT_AFTER_DEPLOY === "1") {
  await Promise.all([auditServer.close(), rewardServer.close()]);
} else {
  console.log("Running. Ctrl-C stops everything.");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await Promise.all([auditServer.close(), rewardServer.close()]);
  console.log("Stopped.");
}
