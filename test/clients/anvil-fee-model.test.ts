import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { network } from "hardhat";
import { createPublicClient, createWalletClient, http, keccak256, toHex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import AuditChainModule from "../../ignition/modules/AuditChain.js";
import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { currentFees, detectFeeModel, FeeModelError, nextFees } from "../../oracle/chain/fee-model.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { AUDIT_CHAIN_ID } from "../../oracle/core/chains.js";
import { startAnvil, type AnvilNode } from "../../scripts/lib/anvil.js";
import { DEV_KEYS } from "../../scripts/lib/dev-keys.js";
import { startNodeWithout } from "../helpers/fake-rpc.js";

const relayer = privateKeyToAccount(DEV_KEYS.relayer);
const names = { feeModel: "AUDIT_FEE_MODEL", chainId: "AUDIT_CHAIN_ID", rpcUrl: "AUDIT_RPC_URL" };
const clientOf = (url: string) => createPublicClient({ transport: http(url) }) as PublicClient;

describe("fee model detection on anvil", () => {
  let paid: AnvilNode;
  let permissioned: AnvilNode;
  let legacyOnly: AnvilNode;
  before(async () => {
    [paid, permissioned, legacyOnly] = await Promise.all([
      startAnvil({ chainId: AUDIT_CHAIN_ID }),
      startAnvil({ chainId: AUDIT_CHAIN_ID, profile: "permissioned" }),
      // anvil refuses EIP-1559 transactions only before London: such a node cannot hold our (Prague) contracts.
      startAnvil({ chainId: AUDIT_CHAIN_ID, hardfork: "berlin" }),
    ]);
  });
  after(async () => {
    await Promise.all([paid?.stop(), permissioned?.stop(), legacyOnly?.stop()]);
  });

  it("detects EIP-1559 with a base fee, free gas (permissioned profile) and legacy-only", async () => {
    const detect = (node: AnvilNode, setting?: "auto" | "eip1559" | "legacy") =>
      detectFeeModel(clientOf(node.rpcUrl), { from: relayer.address, setting, expectedChainId: AUDIT_CHAIN_ID, settingNames: names });
    assert.deepEqual(
      [(await detect(paid)).kind, (await detect(permissioned)).kind, (await detect(legacyOnly)).kind, (await detect(paid, "legacy")).kind],
      ["eip1559", "free", "legacy", "legacy"],
    );
    assert.equal((await detect(permissioned, "legacy")).txType, "legacy");
    const free = await detect(permissioned);
    assert.deepEqual(await currentFees(clientOf(permissioned.rpcUrl), free), {
      type: "eip1559",
      maxFeePerGas: 0n,
      maxPriorityFeePerGas: 0n,
    });
    // 12.5 % of 0 is 0: no bump, the same transaction is sent again.
    assert.equal(
      nextFees(
        free,
        { type: "eip1559", maxFeePerGas: 0n, maxPriorityFeePerGas: 0n },
        await currentFees(clientOf(permissioned.rpcUrl), free),
      ),
      undefined,
    );
    const legacy = await detect(paid, "legacy");
    assert.deepEqual(nextFees(legacy, { type: "legacy", gasPrice: 8n }, { type: "legacy", gasPrice: 1n }), {
      type: "legacy",
      gasPrice: 9n,
    });
  });

  it("refuses, naming the setting, a forced EIP-1559 model on a legacy-only node and a wrong chain id", async () => {
    await assert.rejects(
      detectFeeModel(clientOf(legacyOnly.rpcUrl), { from: relayer.address, setting: "eip1559", settingNames: names }),
      (e: unknown) => e instanceof FeeModelError && /AUDIT_FEE_MODEL=legacy/.test(e.message),
    );
    await assert.rejects(
      detectFeeModel(clientOf(paid.rpcUrl), { from: relayer.address, expectedChainId: 1, settingNames: names }),
      (e: unknown) => e instanceof FeeModelError && /AUDIT_CHAIN_ID=1 but AUDIT_RPC_URL serves chain 31337/.test(e.message),
    );
  });

  for (const missing of ["eth_feeHistory", "eth_maxPriorityFeePerGas"]) {
    it(`refuses an EIP-1559 node without ${missing}, naming AUDIT_FEE_MODEL=legacy (fake RPC)`, async () => {
      const proxy = await startNodeWithout(paid.rpcUrl, [missing]);
      try {
        await assert.rejects(
          detectFeeModel(clientOf(proxy.url), { from: relayer.address, settingNames: names }),
          (e: unknown) => e instanceof FeeModelError && e.message.includes(missing) && /AUDIT_FEE_MODEL=legacy/.test(e.message),
        );
        // The legacy model needs neither.
        assert.equal((await detectFeeModel(clientOf(proxy.url), { from: relayer.address, setting: "legacy" })).kind, "legacy");
      } finally {
        await proxy.close();
      }
    });
  }

  it("deploys the audit chain with Ignition on the permissioned profile and anchors a batch at zero fees", async () => {
    const connection = await network.create({ network: "auditLocal", override: { url: permissioned.rpcUrl } });
    try {
      const { anchor } = await connection.ignition.deploy(AuditChainModule, {
        parameters: path.resolve(import.meta.dirname, "../../ignition/parameters/local.json"),
        deploymentId: `test-anvil-${permissioned.port}-${Date.now()}`,
      });
      const client = clientOf(permissioned.rpcUrl);
      const model = await detectFeeModel(client, { from: relayer.address });
      const wallet = createWalletClient({
        account: relayer,
        chain: rpcChain(AUDIT_CHAIN_ID, "audit", permissioned.rpcUrl),
        transport: http(permissioned.rpcUrl),
      });
      const root = keccak256(toHex("anvil root"));
      const hash = await wallet.writeContract({
        address: anchor.address,
        abi: readingAnchorAbi,
        functionName: "anchorBatch",
        args: [root, 1, keccak256(toHex("manifest"))],
        ...(await currentFees(client, model)),
      });
      const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
      assert.equal(receipt.status, "success");
      assert.equal(receipt.effectiveGasPrice, 0n);
      assert.equal(
        await client.readContract({ address: anchor.address, abi: readingAnchorAbi, functionName: "batchIdOfRoot", args: [root] }),
        1n,
      );
    } finally {
      await connection.provider.close();
    }
  });
});
