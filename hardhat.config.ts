import { createRequire } from "node:module";
import hardhatToolboxViemPlugin from "@nomicfoundation/hardhat-toolbox-viem";
import { defineConfig } from "hardhat/config";

import { AUDIT_CHAIN_ID, REWARD_CHAIN_ID } from "./oracle/core/chains.js";

// No internet here: compile with the solc-js build shipped in the `solc` npm package.
const require = createRequire(import.meta.url);
const SOLC_VERSION = (require("solc/package.json") as { version: string }).version;
const SOLC_PATH = require.resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatToolboxViemPlugin],
  solidity: {
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: SOLC_PATH,
        settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "prague" },
      },
      production: {
        version: SOLC_VERSION,
        path: SOLC_PATH,
        settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "prague" },
      },
    },
  },
  test: {
    solidity: {
      fuzz: { runs: 512 },
    },
  },
  networks: {
    // In-process simulated chains for tests; the two chains differ by chain id.
    audit: { type: "edr-simulated", chainType: "l1", chainId: AUDIT_CHAIN_ID },
    reward: { type: "edr-simulated", chainType: "l1", chainId: REWARD_CHAIN_ID },
    // Local nodes started by the stack (`npm start`).
    auditLocal: {
      type: "http",
      chainType: "l1",
      url: process.env.AUDIT_RPC_URL ?? "http://127.0.0.1:8545",
    },
    rewardLocal: {
      type: "http",
      chainType: "l1",
      url: process.env.REWARD_RPC_URL ?? "http://127.0.0.1:8546",
    },
  },
});
