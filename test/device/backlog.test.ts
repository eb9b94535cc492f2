/**
 * Backlog made visible, against the real platform and relayer with a tight per-device quota: a
 * device that records faster than the quota sees its backlog in record()'s answer, the quota
 * back-offs and the time to drain in flush()'s progress, and every reading arrives.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { createChainRegistrar } from "../../oracle/device/registrar.js";
import type { Backlog } from "../../oracle/device/backlog.js";
import { DeviceClient } from "../../oracle/device/client.js";
import { SoftwareSecureElement } from "../../oracle/device/secure-element.js";
import { startRealServices, type RealServices } from "./real-services.js";

describe("backlog and quotas, visible to the caller", () => {
  let services: RealServices;

  before(async () => {
    // 60 readings per device per minute (one per second), a burst of 2, at both services.
    services = await startRealServices("sensorseal-backlog-", {
      platform: { deviceReadingsPerMinute: 60, deviceBurst: 2 },
      relayer: { deviceQuota: { ratePerSecond: 1, burst: 2 } },
    });
  });

  after(async () => {
    await services?.close();
  });

  it("record() answers the backlog; flush() reports quota back-offs and the drain time until all arrive", async () => {
    const { chain, dir, platformServer, relayer } = services;
    const element = await SoftwareSecureElement.create("secp256k1", path.join(dir, "quota.json"), "pw", { scrypt: { N: 1 << 12 } });
    // The exported registrar takes the element as it is, and waits for the chain's clock itself.
    const register = await createChainRegistrar({ rpcUrl: chain.rpcUrl, registry: chain.registry, privateKey: chain.keys.registrar });
    await register([element]);
    assert.equal(register.registered, 1);
    const client = DeviceClient.open({
      element,
      chainId: chain.chainId,
      anchor: chain.anchor,
      platformUrl: platformServer.url,
      relayerUrl: relayer.url,
      outbox: path.join(dir, "quota-outbox"),
      quotaPerMinute: 60,
      retry: { initialDelayMs: 50, maxDelayMs: 1000 },
    });
    const answers: Backlog[] = [];
    for (let i = 0; i < 6; i++) answers.push((await client.record({ pm2_5_ugm3: 5 + i })).backlog);
    // Right after the last record() at least that reading is pending at each service, and the
    // drain time follows from the quota (60 per minute: a second per pending reading).
    const last = answers.at(-1)!;
    assert.ok(last.pending.platform >= 1 && last.pending.relayer >= 1, JSON.stringify(last));
    assert.equal(last.drainSeconds, Math.max(last.pending.platform, last.pending.relayer));
    assert.equal(last.quotaPerMinute, 60);

    const progress: Backlog[] = [];
    const final = await client.flush({ onProgress: (b) => progress.push(b), everyMs: 200, timeoutMs: 60_000 });
    assert.deepEqual(final.pending, { platform: 0, relayer: 0 });
    assert.equal(final.drainSeconds, 0);
    // Six readings against a burst of two: the services pushed back, and the caller saw it.
    assert.ok(final.quotaBackoffs.platform + final.quotaBackoffs.relayer > 0, JSON.stringify(final));
    assert.ok(final.retries.platform >= final.quotaBackoffs.platform && final.retries.relayer >= final.quotaBackoffs.relayer);
    assert.ok(progress.length >= 2 && progress.some((b) => b.pending.platform + b.pending.relayer > 0), `${progress.length} reports`);
    assert.deepEqual(client.outbox.counts(), {
      platform: { pending: 0, delivered: 6, rejected: 0 },
      relayer: { pending: 0, delivered: 6, rejected: 0 },
    });
    await client.close();
  });
});
