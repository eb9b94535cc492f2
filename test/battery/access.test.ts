/**
 * Access control across the system, in one place (the rest is listed in test/battery/README.md):
 * - a device cannot write for another: a reading of device A signed with device B's key (both
 *   registered, both schemes) is refused by the platform, the relayer and the contract
 *   (submitReading), and a malicious relayer that anchors it in a batch cannot make verifyReading
 *   accept it;
 * - only the relayer role anchors, and no one grants roles to themselves;
 * - only the distributor mints reward tokens, and the minter cannot be rebound;
 * - consumers without a (reading) key get nothing from the platform, on any read route.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { network } from "hardhat";
import { BaseError, ContractFunctionRevertedError, createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { buildBatch } from "../../oracle/core/manifest.js";
import { ReadingDigester, type Reading } from "../../oracle/core/reading.js";
import RewardChainModule from "../../ignition/modules/RewardChain.js";
import { startAuditChain, DEV_KEYS, type AuditChain } from "../helpers/audit-chain.js";
import {
  chainTime,
  newDevice,
  postJson,
  registeredDevice,
  request,
  signedReading,
  startTestRelayer,
  tempDir,
  type TestDevice,
  type TestRelayer,
} from "../relayer/fixtures.js";
import { platformReading, startTestPlatform, type TestPlatform } from "./harness.js";
import { edrNetworkNow } from "../helpers/test-node.js";

/** The custom error name and arguments of a reverted call. */
async function revertOf(call: Promise<unknown>): Promise<{ name: string; args: readonly unknown[] }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof BaseError) {
      const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
      if (reverted instanceof ContractFunctionRevertedError && reverted.data)
        return { name: reverted.data.errorName, args: reverted.data.args ?? [] };
    }
    throw error;
  }
  throw new Error("the call did not revert");
}

describe("battery: access control", { timeout: 300_000 }, () => {
  let chain: AuditChain;
  let tmp: { dir: string; remove(): Promise<void> };
  let registry: RegistryIndex;
  let relayer: TestRelayer;
  let platform: TestPlatform;
  let digester: ReadingDigester;
  let a: TestDevice, b: TestDevice, c: TestDevice, d: TestDevice;
  let ts: number;

  before(async () => {
    chain = await startAuditChain();
    tmp = await tempDir();
    a = await registeredDevice(chain, "secp256k1");
    b = await registeredDevice(chain, "p256");
    c = await registeredDevice(chain, "p256");
    d = await registeredDevice(chain, "secp256k1");
    await chain.mine(1, 2);
    ts = await chainTime(chain);
    digester = new ReadingDigester(chain.chainId, chain.anchor);
    registry = await RegistryIndex.start({ client: chain.publicClient, registry: chain.registry, deployBlock: 0, pollMs: 200 });
    relayer = await startTestRelayer(chain, { databaseUrl: path.join(tmp.dir, "relayer.sqlite") });
    platform = await startTestPlatform(chain, registry, tmp.dir);
  });
  after(async () => {
    await relayer?.close();
    await platform?.close();
    registry?.stop();
    await chain?.close();
    await tmp?.remove();
  });

  /** Every ordered pair of devices (victim, signer) across both schemes. */
  const pairs = () =>
    [
      [a, b],
      [b, a],
      [a, d],
      [b, c],
    ] as const;

  it("a reading of device A signed with device B's key is refused by the platform, the relayer and submitReading", async () => {
    const stranger = createWalletClient({ account: privateKeyToAccount(DEV_KEYS.stranger), transport: http(chain.rpcUrl) });
    let seq = 1;
    for (const [victim, signer] of pairs()) {
      seq++;
      // Platform: the payload names the victim, the signature is the signer's.
      const before = await platform.platform.store.counts();
      const p = await postJson(`${platform.url}/v1/readings`, platformReading(victim, { seq, ts, digester, signer }).body);
      assert.equal(p.status, 400, p.text);
      assert.equal(p.body.error.code, "INVALID_SIGNATURE");
      assert.deepEqual(await platform.platform.store.counts(), before);

      // Relayer.
      const forged = { ...signedReading(signer, chain, { seq, timestamp: ts }), device: victim.address };
      const r = await postJson(`${relayer.url}/v1/readings`, forged);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.code, "INVALID_SIGNATURE");
      assert.equal((await request(`${relayer.url}/v1/readings/${victim.address}/${seq}`)).status, 404);

      // Contract, direct path, relayed by anyone.
      const reading: Reading = { device: victim.address, seq: BigInt(seq), timestamp: BigInt(ts), dataHash: forged.dataHash };
      const revert = await revertOf(
        chain.publicClient.simulateContract({
          account: stranger.account,
          address: chain.anchor,
          abi: readingAnchorAbi,
          functionName: "submitReading",
          args: [reading, forged.signature],
        }),
      );
      assert.equal(revert.name, "ReadingAnchorInvalidSignature");
      assert.deepEqual(revert.args, [victim.address]);
    }
  });

  it("a malicious relayer that anchors a forged reading cannot make verifyReading accept it", async () => {
    const relayerWallet = createWalletClient({ account: privateKeyToAccount(DEV_KEYS.relayer), transport: http(chain.rpcUrl) });
    const [victim, signer] = [a, b];
    const honest = signedReading(victim, chain, { seq: 100, timestamp: ts });
    const forged = { ...signedReading(signer, chain, { seq: 101, timestamp: ts }), device: victim.address };
    const toItem = (r: typeof honest) => ({
      reading: { device: r.device, seq: BigInt(r.seq), timestamp: BigInt(r.timestamp), dataHash: r.dataHash },
      signature: r.signature,
    });
    const batch = buildBatch({ chainId: chain.chainId, anchor: chain.anchor, items: [toItem(honest), toItem(forged)] });
    const hash = await relayerWallet.writeContract({
      chain: null,
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [batch.root, batch.leafCount, batch.manifestHash],
    });
    await chain.publicClient.waitForTransactionReceipt({ hash });
    const batchId = await chain.publicClient.readContract({
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "batchIdOfRoot",
      args: [batch.root],
    });
    const proofOf = (r: typeof honest) => batch.proofs[r === honest ? 0 : 1]; // proofs follow the input order
    const verify = (r: typeof honest) =>
      chain.publicClient.readContract({
        address: chain.anchor,
        abi: readingAnchorAbi,
        functionName: "verifyReading",
        args: [batchId, toItem(r).reading, r.signature, proofOf(r)],
      });
    assert.equal(await verify(honest), true);
    const revert = await revertOf(verify(forged));
    assert.equal(revert.name, "ReadingAnchorInvalidSignature");
    assert.deepEqual(revert.args, [victim.address]);
  });

  it("only the relayer role anchors; no one grants a role to themselves", async () => {
    const role = await chain.publicClient.readContract({ address: chain.anchor, abi: readingAnchorAbi, functionName: "RELAYER_ROLE" });
    const device = newDevice("secp256k1");
    const outsiders: [string, Hex][] = [
      ["admin", DEV_KEYS.admin],
      ["registrar", DEV_KEYS.registrar],
      ["stranger", DEV_KEYS.stranger],
      ["receipt key", DEV_KEYS.receipt],
      ["oracle", DEV_KEYS.oracles[0]],
      ["a device key", `0x${Buffer.from(device.privateKey).toString("hex")}` as Hex],
    ];
    const root = `0x${"5a".repeat(32)}` as Hex;
    for (const [who, key] of outsiders) {
      const account = privateKeyToAccount(key);
      const anchorRevert = await revertOf(
        chain.publicClient.simulateContract({
          account,
          address: chain.anchor,
          abi: readingAnchorAbi,
          functionName: "anchorBatch",
          args: [root, 1, root],
        }),
      );
      assert.equal(anchorRevert.name, "AccessControlUnauthorizedAccount", who);
      assert.deepEqual(anchorRevert.args, [account.address, role], who);
      if (who === "admin") continue; // the admin may grant roles: that is its job
      const grantRevert = await revertOf(
        chain.publicClient.simulateContract({
          account,
          address: chain.anchor,
          abi: readingAnchorAbi,
          functionName: "grantRole",
          args: [role, account.address],
        }),
      );
      assert.equal(grantRevert.name, "AccessControlUnauthorizedAccount", `${who} grants itself`);
    }
    const relayerAccount = privateKeyToAccount(DEV_KEYS.relayer);
    const ok = await chain.publicClient.simulateContract({
      account: relayerAccount,
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [root, 1, root],
    });
    assert.ok(ok.result > 0n, "the relayer role may anchor");
  });

  it("only the distributor mints reward tokens; the minter cannot be rebound", async () => {
    const { viem, ignition } = await network.create(edrNetworkNow("reward"));
    const { token, distributor } = await ignition.deploy(RewardChainModule, {
      parameters: path.resolve(import.meta.dirname, "../../ignition/parameters/local.json"),
    });
    const wallets = await viem.getWalletClients();
    const named: [string, (typeof wallets)[number]][] = [
      ["deployer/admin/pauser", wallets[0]],
      ["account 1", wallets[1]],
      ["relayer", wallets[2]],
      ["account 3", wallets[3]],
    ];
    for (const oracleKey of DEV_KEYS.oracles) {
      const account = privateKeyToAccount(oracleKey);
      named.push([`oracle ${account.address}`, (await viem.getWalletClient(account.address)) as (typeof wallets)[number]]);
    }
    for (const [who, wallet] of named) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        token.write.mint([wallet.account.address, 1n], { account: wallet.account }),
        token,
        "RewardTokenUnauthorizedMinter",
        [wallet.account.address],
      );
      void who;
    }
    await viem.assertions.revertWithCustomErrorWithArgs(
      token.write.setDistributor([wallets[0].account.address], { account: wallets[0].account }),
      token,
      "RewardTokenDistributorAlreadySet",
      [distributor.address],
    );
    assert.equal((await token.read.distributor()).toLowerCase(), distributor.address.toLowerCase());
    assert.equal(await token.read.totalSupply(), 0n);
  });

  it("consumers without a reading key get nothing from the platform, on any read route", async () => {
    const stored = platformReading(a, { seq: 500, ts, digester });
    assert.equal((await postJson(`${platform.url}/v1/readings`, stored.body)).status, 201);
    const routes = [
      `/v1/devices/${a.address}/readings`,
      `/v1/devices/${a.address}/readings?from=0&to=99999999999`,
      `/v1/devices/${a.address}/readings/500`,
      `/v1/devices/${a.address}/readings/500/payload`,
      `/v1/devices/${a.address}/equivocations`,
      `/v1/stats`,
    ];
    const salt = JSON.parse(stored.body.payload).salt as string;
    const attempts: [string, Record<string, string>, string?][] = [
      ["no key", {}],
      ["empty bearer", { authorization: "Bearer " }],
      ["unknown key", { authorization: "Bearer ssk_not-a-key" }],
      ["key in a query string", {}, `apiKey=${platform.keys.consumer}`],
      ["key in another header", { "x-api-key": platform.keys.consumer }],
      ["basic auth", { authorization: `Basic ${btoa(`consumer:${platform.keys.consumer}`)}` }],
      ["device key", { authorization: `Bearer ${platform.keys.device}` }],
      ["public key", { authorization: `Bearer ${platform.keys.public}` }],
    ];
    let refused = 0;
    for (const route of routes) {
      for (const [what, headers, query] of attempts) {
        const target = query === undefined ? route : `${route}${route.includes("?") ? "&" : "?"}${query}`;
        const res = await fetch(`${platform.url}${target}`, { headers });
        const text = await res.text();
        assert.ok(res.status === 401 || res.status === 403, `${what} on ${route}: ${res.status}`);
        assert.ok(!text.includes(salt) && !text.includes(stored.body.signature.slice(2)), `${what} on ${route} leaks the reading`);
        assert.equal(res.headers.get("x-sensorseal-signature"), null);
        refused++;
      }
    }
    // The consumer key does read it (the routes above are real).
    const ok = await fetch(`${platform.url}/v1/devices/${a.address}/readings/500/payload`, {
      headers: { authorization: `Bearer ${platform.keys.consumer}` },
    });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), stored.body.payload);
    console.log(`# platform reads without a reading key: ${refused} tried, 0 served`);
  });
});
