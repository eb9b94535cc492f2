/**
 * Bad chains at start-up, on anvil: another chain id than configured, a node without
 * `eth_feeHistory` or `eth_maxPriorityFeePerGas` (fake RPC: Besu's -32601 "Method not found"), a
 * node that refuses the configured transaction type (fake RPC: a legacy-only node). Each stops the
 * relayer or the oracle with a start-up error naming the setting to change (the CLI exits 2 with the
 * message, no stack trace), and nothing is sent: no transaction reaches the node, the relayer's
 * nonce stays 0. The same settings changed as the message says, the start-up check passes (the oracle
 * starts).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { createPublicClient, http, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { detectFeeModel } from "../../oracle/chain/fee-model.js";

import { parseOracleConfig } from "../../oracle/committee/config.js";
import { startOracle } from "../../oracle/committee/main.js";
import { parseRelayerConfig } from "../../oracle/relayer/config.js";
import { startRelayer } from "../../oracle/relayer/main.js";
import { ConfigError } from "../../oracle/service/errors.js";
import { createLogger } from "../../oracle/service/logger.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { startLegacyOnlyNode, startNodeWithout, type FakeRpc } from "../helpers/fake-rpc.js";
import { ORACLE_KEYS, startRewardChain, type RewardChain } from "../helpers/reward-chain.js";
import { tempDir } from "../relayer/fixtures.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const logger = createLogger("start-up-faults", process.env.TEST_LOG_LEVEL ?? "silent");
const SENT = new Set(["eth_sendRawTransaction", "eth_sendTransaction"]);

describe("start-up faults on anvil: a clear error naming the setting, nothing sent", { timeout: 240_000 }, () => {
  let audit: AuditChain;
  let reward: RewardChain;
  let tmp: { dir: string; remove(): Promise<void> };
  const fronts: FakeRpc[] = [];
  let n = 0;

  before(async () => {
    [audit, reward, tmp] = await Promise.all([
      startAuditChain({ node: { client: "anvil" } }),
      startRewardChain({ node: { client: "anvil" } }),
      tempDir(),
    ]);
  });
  after(async () => {
    await Promise.all(fronts.map((f) => f.close()));
    await audit?.close();
    await reward?.close();
    await tmp?.remove();
  });

  const front = async (started: Promise<FakeRpc>) => {
    const f = await started;
    fronts.push(f);
    return f;
  };
  const relayerEnv = (rpcUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    AUDIT_RPC_URL: rpcUrl,
    ANCHOR_ADDRESS: audit.anchor,
    REGISTRY_ADDRESS: audit.registry,
    REGISTRY_DEPLOY_BLOCK: "0",
    RELAYER_PRIVATE_KEY: audit.keys.relayer,
    RECEIPT_PRIVATE_KEY: audit.keys.receipt,
    // The URL ignition/parameters/local.json registers for the dev relayer.
    RELAYER_PUBLIC_URL: "http://127.0.0.1:8547",
    PORT: "0",
    DATABASE_URL: path.join(tmp.dir, `relayer-${++n}.sqlite`),
    ...extra,
  });
  const relayerNonce = () =>
    audit.publicClient.getTransactionCount({ address: privateKeyToAccount(audit.keys.relayer).address, blockTag: "pending" });

  /** The relayer refuses to start with a ConfigError matching every pattern; nothing was sent. */
  async function refuses(env: NodeJS.ProcessEnv, patterns: RegExp[], via?: FakeRpc): Promise<void> {
    await assert.rejects(startRelayer(parseRelayerConfig(env), logger), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      for (const p of patterns) assert.match(e.message, p);
      return true;
    });
    if (via !== undefined)
      assert.deepEqual(
        via.calls.filter((m) => SENT.has(m)),
        [],
      );
    assert.equal(await relayerNonce(), 0);
  }
  /**
   * With the setting changed as the message says, start-up's check passes. (Checked by the detection
   * start-up runs, not by a whole in-process relayer: one started with startRelayer and stopped keeps
   * this test process alive.)
   */
  async function starts(env: NodeJS.ProcessEnv): Promise<void> {
    const model = await detectFeeModel(createPublicClient({ transport: http(env.AUDIT_RPC_URL) }) as PublicClient, {
      from: privateKeyToAccount(audit.keys.relayer).address,
      setting: (env.AUDIT_FEE_MODEL ?? "auto") as "auto",
    });
    assert.ok(model.kind);
  }

  it("another chain id than AUDIT_CHAIN_ID: the error names AUDIT_CHAIN_ID and AUDIT_RPC_URL", async () => {
    await refuses(relayerEnv(audit.rpcUrl, { AUDIT_CHAIN_ID: "1" }), [/AUDIT_CHAIN_ID=1 but AUDIT_RPC_URL=\S+ serves chain 31337/]);
  });

  for (const missing of ["eth_feeHistory", "eth_maxPriorityFeePerGas"]) {
    it(`a node without ${missing} (fake RPC: -32601 "Method not found"): names AUDIT_FEE_MODEL=legacy, which then passes`, async () => {
      const node = await front(startNodeWithout(audit.rpcUrl, [missing]));
      await refuses(relayerEnv(node.url), [new RegExp(missing), /AUDIT_FEE_MODEL=legacy/], node);
      await starts(relayerEnv(node.url, { AUDIT_FEE_MODEL: "legacy" }));
      assert.deepEqual(
        node.calls.filter((m) => SENT.has(m)),
        [],
      );
    });
  }

  it("a legacy-only node (fake RPC) with AUDIT_FEE_MODEL=eip1559: names AUDIT_FEE_MODEL=legacy; auto passes", async () => {
    const node = await front(startLegacyOnlyNode(audit.rpcUrl));
    await refuses(relayerEnv(node.url, { AUDIT_FEE_MODEL: "eip1559" }), [/AUDIT_FEE_MODEL=legacy/], node);
    await starts(relayerEnv(node.url));
  });

  it("the relayer CLI prints the error and exits 2, without a stack trace (fake RPC without eth_feeHistory)", async () => {
    const node = await front(startNodeWithout(audit.rpcUrl, ["eth_feeHistory"]));
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/relayer.ts"], {
        cwd: root,
        env: { ...process.env, ...relayerEnv(node.url), LOG_LEVEL: "silent" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let text = "";
      child.stderr.on("data", (c: Buffer) => (text += c.toString()));
      child.once("exit", (exit) => resolve({ code: exit, stderr: text }));
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /relayer: Cannot start the relayer:\n {2}.*eth_feeHistory.*AUDIT_FEE_MODEL=legacy/);
    assert.doesNotMatch(stderr, /\n\s+at /);
    assert.deepEqual(
      node.calls.filter((m) => SENT.has(m)),
      [],
    );
  });

  it("the oracle: REWARD_CHAIN_ID mismatch and a refused transaction type name their settings", async () => {
    const legacyOnly = await front(startLegacyOnlyNode(reward.rpcUrl));
    const oracleEnv = (rpcUrl: string, extra: Record<string, string>) =>
      parseOracleConfig({
        AUDIT_RPC_URL: audit.rpcUrl,
        ANCHOR_ADDRESS: audit.anchor,
        REGISTRY_ADDRESS: audit.registry,
        REGISTRY_DEPLOY_BLOCK: "0",
        REWARD_RPC_URL: rpcUrl,
        DISTRIBUTOR_ADDRESS: reward.distributor,
        REWARD_DEPLOY_BLOCK: "0",
        ORACLE_PRIVATE_KEY: ORACLE_KEYS[0],
        PORT: "0",
        DATABASE_URL: path.join(tmp.dir, `oracle-${++n}.sqlite`),
        ...extra,
      });
    await assert.rejects(
      startOracle(oracleEnv(reward.rpcUrl, { REWARD_CHAIN_ID: "5" }), logger),
      (e: unknown) => e instanceof ConfigError && /REWARD_CHAIN_ID=5 but REWARD_RPC_URL serves chain 31338/.test(e.message),
    );
    await assert.rejects(
      startOracle(oracleEnv(legacyOnly.url, { REWARD_FEE_MODEL: "eip1559" }), logger),
      (e: unknown) => e instanceof ConfigError && /REWARD_FEE_MODEL=legacy/.test(e.message),
    );
    assert.deepEqual(
      legacyOnly.calls.filter((m) => SENT.has(m)),
      [],
    );
    const running = await startOracle(oracleEnv(legacyOnly.url, {}), logger);
    await running.stop();
  });
});
