import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { DeviceStatus } from "../../oracle/core/device-status.js";
import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { deviceRegistryAbi } from "../../oracle/chain/abis.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { generatePrivateKey, publicKeyFromPrivate } from "../../oracle/core/keys.js";
import { ReadingDigester } from "../../oracle/core/reading.js";
import { ReadingChecker } from "../../oracle/relayer/intake.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { registeredDevice, signedReading } from "../relayer/fixtures.js";

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

  /** Yields to the event loop until `condition` holds. */
  async function waitUntil(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise((resolve) => setImmediate(resolve));
  }

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

  it("mirrors DeviceCompromised: every time from `since` on is Revoked, as the contract's statusAt answers", async () => {
    const device = await registeredDevice(chain, "secp256k1");
    const registeredAt = await blockTime();
    await chain.mine(3, 100);
    const since = registeredAt + 50;
    await chain.revokeCompromised(device.address, since);
    const revokedAt = await blockTime();
    await index.sync();

    const entry = index.device(device.address);
    assert.ok(entry);
    assert.equal(entry.status, DeviceStatus.Revoked);
    assert.deepEqual(
      entry.compromises.map((c) => c.since),
      [since],
    );
    const expected: Array<[number, number]> = [
      [registeredAt, DeviceStatus.Active],
      [since - 1, DeviceStatus.Active],
      [since, DeviceStatus.Revoked], // before the revocation block, yet Revoked: the key was compromised
      [revokedAt - 1, DeviceStatus.Revoked],
      [revokedAt, DeviceStatus.Revoked],
    ];
    for (const [at, status] of expected) {
      const onChain = await chain.publicClient.readContract({
        address: chain.registry,
        abi: deviceRegistryAbi,
        functionName: "statusAt",
        args: [device.address, BigInt(at)],
      });
      assert.equal(onChain, status, `contract statusAt(${at})`);
      assert.equal(index.statusAt(device.address, at), status, `index statusAt(${at})`);
    }

    // The relayer's admission on this index refuses the device's readings dated after `since`, also those
    // dated before the revocation block (the device is revoked now: DEVICE_REVOKED answers first).
    const checker = new ReadingChecker({
      registry: index,
      digester: new ReadingDigester(chain.chainId, chain.anchor),
      maxClockSkewSeconds: 300,
    });
    const domain = { chainId: chain.chainId, anchor: chain.anchor };
    for (const [seq, timestamp] of [
      [1, since + 1],
      [2, revokedAt - 1],
    ]) {
      await assert.rejects(
        checker.check(signedReading(device, domain, { seq, timestamp })),
        (error: { code?: string; status?: number }) => {
          assert.equal(error.code, "DEVICE_REVOKED");
          assert.equal(error.status, 403);
          return true;
        },
      );
    }
  });

  it("a sync() called while an earlier run is under way reads the blocks mined since that run read the head", async () => {
    // The earlier run reads the head, then is held: its answer predates the suspension below.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let hold = false;
    const client = new Proxy(chain.publicClient, {
      get(target, key, receiver) {
        if (key !== "getBlockNumber") return Reflect.get(target, key, receiver);
        return async (...args: Parameters<typeof target.getBlockNumber>) => {
          const head = await target.getBlockNumber(...args);
          if (hold) {
            hold = false;
            await gate;
          }
          return head;
        };
      },
    });
    const held = await RegistryIndex.start({ client, registry: chain.registry, deployBlock: chain.deployBlock, pollMs: 0 });
    const device = await chain.registerDevice({ scheme: "p256", publicKey: publicKeyFromPrivate("p256", generatePrivateKey("p256")) });
    await held.sync();
    hold = true;
    const earlier = held.sync();
    await waitUntil(() => !hold);
    await chain.suspend(device);
    const suspendedAt = await blockTime();
    const later = held.sync();
    release();
    await Promise.all([earlier, later]);
    assert.equal(held.statusAt(device, suspendedAt), DeviceStatus.Suspended);
    assert.equal(held.device(device)?.status, DeviceStatus.Suspended);
  });
});
