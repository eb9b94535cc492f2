/**
 * Where a test chain runs: Hardhat's EDR served over JSON-RPC (the default) or an anvil node, the
 * second, independent EVM implementation (scripts/lib/anvil.ts), in either of its profiles. The
 * chain helpers (./audit-chain.ts, ./reward-chain.ts) take one, so every end-to-end suite can run on
 * both clients. Importing this file does nothing.
 */
import { network } from "hardhat";

import { startAnvil, type AnvilOptions } from "../../scripts/lib/anvil.js";
import { startLegacyOnlyNode } from "./fake-rpc.js";

/**
 * EDR (default), or anvil with these options (profile, hardfork, block time…); `legacyOnly` puts the
 * legacy-only fake front of ./fake-rpc.ts before it (anvil cannot refuse EIP-1559 transactions on a
 * hardfork our contracts run on).
 */
export type TestNode =
  { client: "edr" } | { client: "anvil"; anvil?: Omit<AnvilOptions, "chainId" | "port" | "host">; legacyOnly?: boolean };

/** A node serving JSON-RPC on 127.0.0.1 for one test chain. */
export interface ServedNode {
  rpcUrl: string;
  port: number;
  /** viem test-client mode: the node's own dev methods (`hardhat_*` or `anvil_*`). */
  testMode: "hardhat" | "anvil";
  /**
   * Receipt/block polling for viem clients: anvil's interval mining makes a transaction wait for the
   * next block, so clients poll often instead of viem's default 4 s; undefined keeps viem's default.
   */
  pollingInterval: number | undefined;
  /** One line for test names and reports, e.g. "anvil (permissioned)". */
  label: string;
  stop(): Promise<void>;
}

/**
 * One of hardhat.config.ts's simulated networks, its clock starting now. Hardhat resolves a simulated
 * network's `initialDate` once per process, so a chain created later runs behind the wall clock by
 * the process's age: minutes into the suite, readings dated now look future and attestations not
 * yet valid.
 *
 * @example const server = await network.createServer(edrNetworkNow("audit"), "127.0.0.1", 0);
 */
export function edrNetworkNow(name: "audit" | "reward") {
  return { network: name, override: { initialDate: new Date() } };
}

/** Short label of a node choice, e.g. "EDR", "anvil (default)", "anvil (permissioned, prague)". */
export function nodeLabel(node: TestNode = { client: "edr" }): string {
  if (node.client === "edr") return "EDR";
  const parts = [
    node.anvil?.profile ?? "default",
    ...(node.anvil?.hardfork === undefined ? [] : [node.anvil.hardfork]),
    ...(node.legacyOnly === true ? ["legacy-only fake RPC"] : []),
  ];
  return `anvil (${parts.join(", ")})`;
}

/**
 * Serves a chain with id `chainId` on a free loopback port: EDR's network `edrNetwork` from
 * hardhat.config.ts, or a new anvil node.
 */
export async function serveTestNode(
  edrNetwork: "audit" | "reward",
  chainId: number,
  node: TestNode = { client: "edr" },
): Promise<ServedNode> {
  if (node.client === "anvil") {
    const anvil = await startAnvil({ ...node.anvil, chainId });
    const front = node.legacyOnly === true ? await startLegacyOnlyNode(anvil.rpcUrl) : undefined;
    return {
      rpcUrl: front?.url ?? anvil.rpcUrl,
      port: anvil.port,
      testMode: "anvil",
      pollingInterval: 100,
      label: nodeLabel(node),
      async stop() {
        await front?.close();
        await anvil.stop();
      },
    };
  }
  const server = await network.createServer(edrNetworkNow(edrNetwork), "127.0.0.1", 0);
  const { address, port } = await server.listen();
  return {
    rpcUrl: `http://${address}:${port}`,
    port,
    testMode: "hardhat",
    pollingInterval: undefined,
    label: nodeLabel(node),
    stop: () => server.close(),
  };
}
