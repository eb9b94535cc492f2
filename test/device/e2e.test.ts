/**
 * The device side against the real services: a JSON-RPC audit chain, the registrar registering a
 * simulated fleet, the platform and the relayer over HTTP, the simulator delivering through its
 * outbox, and a DeviceClient with a key file.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { toBytes, type Address } from "viem";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { type RegistryIndex } from "../../oracle/chain/registry-index.js";
import { parsePayload } from "../../oracle/core/payload.js";
import { DeviceClient } from "../../oracle/device/client.js";
import { createChainRegistrar } from "../../oracle/device/registrar.js";
import { SoftwareSecureElement } from "../../oracle/device/secure-element.js";
import { Simulator, type DeviceIdentity } from "../../oracle/device/simulator.js";
import type { RunningServer } from "../../oracle/service/app.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import type { TestRelayer } from "../relayer/fixtures.js";
import { startRealServices, type RealServices } from "./real-services.js";

describe("device → platform + relayer → audit chain", () => {
  let services: RealServices;
  let chain: AuditChain;
  let dir: string;
  let platformIndex: RegistryIndex;
  let platformServer: RunningServer;
  let relayer: TestRelayer;

  before(async () => {
    services = await startRealServices("sensorseal-device-e2e-");
    ({ chain, dir, platformIndex, platformServer, relayer } = services);
  });

  after(async () => {
    await services?.close();
  });

  /** Readings are stamped with the wall clock: wait until it is past the chain's latest block. */
  async function settle(): Promise<void> {
    const latest = Number((await chain.publicClient.getBlock()).timestamp);
    while (Math.floor(Date.now() / 1000) <= latest) await new Promise((r) => setTimeout(r, 100));
  }

  async function anchoredLeaves(): Promise<number> {
    const count = await chain.publicClient.readContract({ address: chain.anchor, abi: readingAnchorAbi, functionName: "batchCount" });
    let leaves = 0;
    for (let id = 1n; id <= count; id++) {
      const batch = await chain.publicClient.readContract({
        address: chain.anchor,
        abi: readingAnchorAbi,
        functionName: "getBatch",
        args: [id],
      });
      leaves += Number(batch.leafCount);
    }
    return leaves;
  }

  it("registers a simulated fleet, and every reading is accepted by both services and anchored", async () => {
    const registrar = await createChainRegistrar({
      rpcUrl: chain.rpcUrl,
      registry: chain.registry,
      privateKey: chain.keys.registrar,
    });
    const seen: DeviceIdentity[] = [];
    const sim = await Simulator.create({
      devices: 6,
      scheme: "mixed",
      keys: { kind: "seed", seed: "e2e" },
      speedup: 1e6,
      intervalSeconds: 60,
      durationSeconds: 180,
      chainId: chain.chainId,
      anchor: chain.anchor,
      platformUrl: platformServer.url,
      relayerUrl: relayer.url,
      outboxFile: path.join(dir, "sim-outbox.sqlite"),
      register: async (batch) => {
        seen.push(...batch);
        await registrar(batch);
      },
      progress: false,
      drainTimeoutMs: 30_000,
    });
    const blockBefore = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    await sim.registerAll();
    assert.equal(registrar.registered, 6);
    // On a dev chain the registrar mines the batch in one block (automine paused), not one per device.
    assert.equal((await chain.publicClient.getBlockNumber({ cacheTime: 0 })) - blockBefore, 1n);
    for (const d of seen) {
      assert.equal(
        await chain.publicClient.readContract({
          address: chain.registry,
          abi: (await import("../../oracle/chain/abis.js")).deviceRegistryAbi,
          functionName: "statusOf",
          args: [d.address],
        }),
        1,
      ); // Active
    }
    // The services learn registrations from their registry index: let them catch up, and the
    // wall clock pass the last registration block (readings carry wall-clock time).
    await platformIndex.sync();
    await relayer.registry.sync();
    await registrar.settle();
    const summary = await sim.run();
    assert.equal(summary.readings, 18);
    assert.deepEqual(summary.delivery!.delivered, { platform: 18, relayer: 18 });
    assert.deepEqual(summary.delivery!.rejected, { platform: 0, relayer: 0 });

    // The relayer has every reading; all are anchored in batches on the chain.
    for (const d of seen) {
      for (const seq of [1, 2, 3]) {
        const res = await fetch(`${relayer.url}/v1/readings/${d.address}/${seq}`);
        assert.equal(res.status, 200, `${d.address} #${seq}`);
      }
    }
    const until = Date.now() + 30_000;
    while ((await anchoredLeaves()) < 18 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await anchoredLeaves(), 18);

    // Registering again skips them all.
    const again = await createChainRegistrar({ rpcUrl: chain.rpcUrl, registry: chain.registry, privateKey: chain.keys.registrar });
    await again(seen);
    assert.deepEqual([again.registered, again.skipped], [0, 6]);
  });

  it("a key-file device delivers to the real services; a reading queued while they are unreachable follows", async () => {
    const element = await SoftwareSecureElement.create("p256", path.join(dir, "keys", "dev.json"), "pw", { scrypt: { N: 1 << 12 } });
    await chain.registerDevice({ scheme: "p256", publicKey: element.publicKey });
    await platformIndex.sync();
    await relayer.registry.sync();
    await settle();
    const open = (platformUrl: string, relayerUrl: string) =>
      DeviceClient.open({
        element,
        chainId: chain.chainId,
        anchor: chain.anchor as Address,
        platformUrl,
        relayerUrl,
        outbox: path.join(dir, "dev-outbox.sqlite"),
        retry: { initialDelayMs: 50, maxDelayMs: 200 },
      });
    // First with the wrong ports: nothing listens there.
    const offline = open("http://127.0.0.1:9", "http://127.0.0.1:9");
    await offline.record({ temperature_c: 9.1, humidity_pct: 77, pm2_5_ugm3: 3.2, pm10_ugm3: 5.5 });
    await offline.close();
    const client = open(platformServer.url, relayer.url);
    assert.equal(client.nextSeq, 2);
    const r2 = await client.record({ temperature_c: 9.3, humidity_pct: 76.5, pm2_5_ugm3: 3.4, pm10_ugm3: 5.9 });
    await client.drain(30_000);
    const items = client.outbox.list(element.address);
    assert.deepEqual(
      items.map((i) => [i.seq, i.deliveries.map((d) => `${d.target}:${d.state}:${d.httpStatus}`)]),
      [
        [1, ["platform:delivered:201", "relayer:delivered:202"]],
        [2, ["platform:delivered:201", "relayer:delivered:202"]],
      ].map(([seq, d]) => [seq, d]),
    );
    // The relayer's answer is its signed receipt for exactly this reading.
    const receipt = JSON.parse(items[1]!.deliveries.find((d) => d.target === "relayer")!.response!) as Record<string, unknown>;
    assert.equal(JSON.stringify(receipt).includes(r2.dataHash), true);
    assert.equal(parsePayload(toBytes(items[1]!.payload)).temperature_c, 9.3);
    await client.close();
  });
});
