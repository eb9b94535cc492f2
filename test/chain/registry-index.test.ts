import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { DeviceStatus } from "../../oracle/core/device-status.js";
import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { deviceRegistryAbi } from "../../oracle/chain/abis.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { generatePrivateKey, publicKeyFromPrivate } from "../../oracle/core/keys.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";

describe("RegistryIndex", () => {
  let chain: AuditChain;
  let index: RegistryIndex;

  before(async () => {
    chain = await startAuditChain();
    index = await RegistryIndex.start({
      client: chain.publicClient,
      registry: chain.registry,
      deployBlock: chain.deployBlock,
      pollMs: 0,
    });
  });
  after(async () => {
    index.stop();
    await chain.close();
  });

  async function blockTime(): Promise<number> {
    return Number((await chain.publicClient.getBlock()).timestamp);
  }

  it("records keys of both schemes as the registry stores them", async () => {
    for (const scheme of ["secp256k1", "p256"] as const) {
      const publicKey = publicKeyFromPrivate(scheme, generatePrivateKey(scheme));
      const device = await chain.registerDevice({ scheme, publicKey });
      await index.sync();
      const entry = index.device(device);
      assert.ok(entry);
      assert.equal(entry.scheme, scheme);
      assert.equal(bytesToHex(entry.publicKey), bytesToHex(publicKey));
      assert.equal(entry.status, DeviceStatus.Active);
    }
  });

  it("answers statusAt like the contract for every time around each change", async () => {
    const publicKey = publicKeyFromPrivate("p256", generatePrivateKey("p256"));
    const device = await chain.registerDevice({ scheme: "p256", publicKey });
    const registeredAt = await blockTime();
    await chain.mine(1, 10);
    await chain.suspend(device);
    const suspendedAt = await blockTime();
    await chain.mine(1, 10);
    await chain.resume(device);
    const resumedAt = await blockTime();
    await chain.mine(1, 10);
    await chain.revoke(device);
    const revokedAt = await blockTime();
    await index.sync();

    const expected: Array<[number, number]> = [
      [registeredAt - 1, DeviceStatus.Unknown],
      [registeredAt, DeviceStatus.Active],
      [suspendedAt - 1, DeviceStatus.Active],
      [suspendedAt, DeviceStatus.Suspended],
      [resumedAt, DeviceStatus.Active],
      [revokedAt - 1, DeviceStatus.Active],
      [revokedAt, DeviceStatus.Revoked],
      [revokedAt + 1_000_000, DeviceStatus.Revoked],
    ];
    for (const [at, status] of expected) {
      const onChain = await chain.publicClient.readContract({
        address: chain.registry,
        abi: deviceRegistryAbi,
        functionName: "statusAt",
        args: [device, BigInt(at)],
      });
      assert.equal(onChain, status, `contract statusAt(${at})`);
      assert.equal(index.statusAt(device, at), status, `index statusAt(${at})`);
    }
    assert.equal(index.isActiveAt(device, revokedAt), false);
    assert.equal(index.syncedTimestamp, revokedAt);
  });

  it("knows nothing of an unregistered device", () => {
    const unknown = "0x000000000000000000000000000000000000dEaD";
    assert.equal(index.device(unknown), undefined);
    assert.equal(index.statusAt(unknown, 2 ** 40), DeviceStatus.Unknown);
  });
});
