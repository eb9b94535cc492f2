import path from "node:path";

import { network } from "hardhat";
import { createPublicClient, createTestClient, createWalletClient, http, toHex, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi, readingAnchorAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { keySchemeId, type KeyScheme } from "../../oracle/core/keys.js";
import AuditChainModule from "../../ignition/modules/AuditChain.js";
import { AUDIT_CHAIN_ID } from "../../oracle/core/chains.js";
import { DEV_KEYS } from "../../scripts/lib/dev-keys.js";
import { serveTestNode, type TestNode } from "./test-node.js";

export { DEV_KEYS };

export interface AuditChain {
  rpcUrl: string;
  /** Which client serves it, e.g. "EDR" or "anvil (permissioned)". */
  label: string;
  chainId: number;
  registry: Address;
  anchor: Address;
  deployBlock: number;
  publicClient: PublicClient;
  keys: typeof DEV_KEYS;
  /** Registers a device as the registrar; answers its id (the address derived from the key). */
  registerDevice(options: { scheme: KeyScheme; publicKey: Uint8Array; beneficiary?: Address; metadataHash?: Hex }): Promise<Address>;
  suspend(device: Address): Promise<void>;
  resume(device: Address): Promise<void>;
  revoke(device: Address): Promise<void>;
  /** Revokes a device as compromised since `since` (seconds): every reading dated from then on is invalid. */
  revokeCompromised(device: Address, since: number | bigint): Promise<void>;
  /**
   * Records (as the admin) a relayer's manifest URL and receipt signer on the anchor, as a deployment
   * does with `registerRelayer`: tests start relayers on ephemeral ports, so they register the real URL.
   * Defaults: the dev relayer account and the dev receipt key.
   */
  registerRelayer(options: { manifestUrl: string; relayer?: Address; receiptSigner?: Address }): Promise<void>;
  /** Mines `blocks` empty blocks, optionally `secondsApart` seconds apart. */
  mine(blocks?: number, secondsApart?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real audit chain for a test: Hardhat's EDR (default) or anvil (`node`, see ./test-node.ts) served
 * over JSON-RPC on 127.0.0.1 (ephemeral port), the AuditChain Ignition module deployed with
 * ignition/parameters/local.json.
 *
 * @example
 * const chain = await startAuditChain();
 * const device = await chain.registerDevice({ scheme: "p256", publicKey });
 * await chain.close();
 * const onAnvil = await startAuditChain({ node: { client: "anvil", anvil: { profile: "permissioned" } } });
 */
export async function startAuditChain(options: { node?: TestNode } = {}): Promise<AuditChain> {
  const served = await serveTestNode("audit", AUDIT_CHAIN_ID, options.node);
  const { rpcUrl, port } = served;

  const connection = await network.create({ network: "auditLocal", override: { url: rpcUrl } });
  const { registry, anchor } = await connection.ignition
    .deploy(AuditChainModule, {
      parameters: path.resolve(import.meta.dirname, "../../ignition/parameters/local.json"),
      // Ignition keeps journals of http deployments on disk: one fresh id per test chain.
      deploymentId: `test-audit-${port}-${Date.now()}`,
    })
    .catch(async (error: unknown) => {
      await connection.provider.close();
      await served.stop();
      throw error;
    });

  const transport = http(rpcUrl);
  const pollingInterval = served.pollingInterval;
  const publicClient = createPublicClient({ transport, pollingInterval }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const chain = rpcChain(chainId, "audit", rpcUrl);
  const registrar = createWalletClient({ account: privateKeyToAccount(DEV_KEYS.registrar), chain, transport, pollingInterval });
  const testClient = createTestClient({ mode: served.testMode, chain, transport, pollingInterval });

  async function registrarCall(functionName: "suspendDevice" | "resumeDevice" | "revokeDevice", device: Address): Promise<void> {
    const hash = await registrar.writeContract({ address: registry.address, abi: deviceRegistryAbi, functionName, args: [device] });
    await publicClient.waitForTransactionReceipt({ hash });
  }

  return {
    rpcUrl,
    label: served.label,
    chainId,
    registry: registry.address,
    anchor: anchor.address,
    // The chain is new: following the registry from genesis misses nothing.
    deployBlock: 0,
    publicClient,
    keys: DEV_KEYS,
    async registerDevice({ scheme, publicKey, beneficiary, metadataHash }) {
      const { result, request } = await publicClient.simulateContract({
        account: registrar.account,
        address: registry.address,
        abi: deviceRegistryAbi,
        functionName: "registerDevice",
        args: [keySchemeId(scheme), toHex(publicKey), beneficiary ?? registrar.account.address, metadataHash ?? `0x${"00".repeat(32)}`],
      });
      const hash = await registrar.writeContract(request);
      await publicClient.waitForTransactionReceipt({ hash });
      return result;
    },
    suspend: (device) => registrarCall("suspendDevice", device),
    resume: (device) => registrarCall("resumeDevice", device),
    revoke: (device) => registrarCall("revokeDevice", device),
    async revokeCompromised(device, since) {
      const hash = await registrar.writeContract({
        address: registry.address,
        abi: deviceRegistryAbi,
        functionName: "revokeDeviceCompromised",
        args: [device, BigInt(since)],
      });
      await publicClient.waitForTransactionReceipt({ hash });
    },
    async registerRelayer({ manifestUrl, relayer, receiptSigner }) {
      const admin = createWalletClient({ account: privateKeyToAccount(DEV_KEYS.admin), chain, transport, pollingInterval });
      const hash = await admin.writeContract({
        address: anchor.address,
        abi: readingAnchorAbi,
        functionName: "registerRelayer",
        args: [
          relayer ?? privateKeyToAccount(DEV_KEYS.relayer).address,
          manifestUrl,
          receiptSigner ?? privateKeyToAccount(DEV_KEYS.receipt).address,
        ],
      });
      // A test may have turned automine off (to hold an anchoring in the mempool), or the node mines at
      // intervals (anvil's permissioned profile): mine the registration now.
      if (!(await testClient.getAutomine())) await testClient.mine({ blocks: 1 });
      await publicClient.waitForTransactionReceipt({ hash });
    },
    async mine(blocks = 1, secondsApart = 1) {
      // One real block per call, timed as hardhat_mine times them (the first as any next block, then
      // `secondsApart` apart): its many-block form only reserves the blocks between its first and last,
      // and eth_call at a reserved block answers "0x" (an oracle judging there would fail).
      if (blocks < 1) return;
      await testClient.mine({ blocks: 1 });
      let { timestamp } = await publicClient.getBlock({ blockTag: "latest" });
      for (let i = 1; i < blocks; i++) {
        timestamp += BigInt(secondsApart);
        await testClient.request({ method: "evm_mine", params: [Number(timestamp)] } as never);
      }
    },
    async close() {
      await connection.provider.close();
      await served.stop();
    },
  };
}
