/**
 * A small, bounded overload of the relayer (scripts/relayer.ts as a child process): ~4× its configured
 * per-client reading rate for 2 s. Backpressure must show as 429 with Retry-After, never 5xx; clients
 * obeying Retry-After get everything accepted; after the drain every accepted reading is anchored
 * (0 lost) and the process RSS stays bounded. The full measurement (capacity, 1×/2×/5×) is
 * scripts/battery/load.ts.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { parseEventLogs } from "viem";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { phaseBulks, rssMiB, runPhase, waitDrained, type LoadDevice } from "../../scripts/battery/load-lib.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { chainTime, registeredDevice, tempDir } from "../relayer/fixtures.js";
import { registerBatteryRelayer, relayerEnv, spawnRelayer, type RelayerChild } from "./harness.js";

const LIMIT = 150; // readings per second per client
const OFFERED = 600;
const SECONDS = 2;
const SENDERS = 12;

describe("battery: relayer under overload (bounded)", { timeout: 300_000 }, () => {
  let chain: AuditChain;
  let tmp: { dir: string; remove(): Promise<void> };
  let relayer: RelayerChild | undefined;

  before(async () => {
    chain = await startAuditChain();
    await registerBatteryRelayer(chain);
    tmp = await tempDir();
  });
  after(async () => {
    if (relayer && relayer.child.exitCode === null) {
      relayer.child.kill("SIGKILL");
      await relayer.exited;
    }
    await chain?.close();
    await tmp?.remove();
  });

  it(`${OFFERED / LIMIT}× the per-client rate: 429 + Retry-After, no 5xx, 0 lost after the drain`, async () => {
    const devices: LoadDevice[] = [];
    for (let i = 0; i < SENDERS; i++) {
      const d = await registeredDevice(chain, "secp256k1");
      devices.push({ address: d.address, privateKey: d.privateKey, seq: 1 });
    }
    const db = path.join(tmp.dir, "load.sqlite");
    relayer = spawnRelayer(
      relayerEnv(chain, db, {
        RELAYER_IP_READINGS_PER_SECOND: String(LIMIT),
        RELAYER_IP_READING_BURST: String(LIMIT),
        RELAYER_IP_REQUESTS_PER_SECOND: "100000",
        RELAYER_IP_REQUEST_BURST: "100000",
        RELAYER_DEVICE_READINGS_PER_MINUTE: "1000000",
        RELAYER_DEVICE_BURST: "1000000",
        BATCH_MAX_SIZE: "200",
        BATCH_MAX_AGE_MS: "200",
      }),
    );
    const url = await relayer.url();
    const idle = await rssMiB(relayer.child.pid!);
    const bulks = phaseBulks(devices, chain, await chainTime(chain), OFFERED, SECONDS, 10);
    const offered = bulks.reduce((s, b) => s + b.length * 10, 0);
    const r = await runPhase({
      url,
      pid: relayer.child.pid!,
      bulksBySender: bulks,
      ratePerSecond: OFFERED,
      seconds: SECONDS,
      drainTimeoutMs: 120_000,
    });
    await waitDrained(url, 60_000);

    const logs = await chain.publicClient.getLogs({ address: chain.anchor, fromBlock: 0n, toBlock: "latest" });
    const anchored = parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" }).reduce((s, e) => s + e.args.leafCount, 0);
    console.log(
      `# overload: offered ${offered} readings at ${OFFERED}/s against a ${LIMIT}/s limit; ${r.requests} requests, ${r.answers429} × 429 ` +
        `(${r.retryAfterMissing} without Retry-After), ${r.answers5xx} × 5xx; accepted ${r.accepted}, anchored ${anchored}, lost ${r.accepted - anchored}; ` +
        `RSS idle ${idle.toFixed(0)} MiB, peak ${r.maxRssMiB.toFixed(0)} MiB; drain ${r.drainSeconds.toFixed(1)} s`,
    );
    assert.ok(r.answers429 > 0, "backpressure shows as 429");
    assert.equal(r.retryAfterMissing, 0, "every 429 carries Retry-After");
    assert.equal(r.answers5xx, 0);
    assert.equal(r.otherErrors.size, 0, JSON.stringify([...r.otherErrors]));
    assert.equal(r.accepted, offered, "clients obeying Retry-After get everything accepted");
    assert.equal(anchored, offered, "0 lost: every accepted reading anchored");
    assert.ok(r.maxRssMiB < idle + 256, `RSS bounded (${r.maxRssMiB.toFixed(0)} MiB)`);

    relayer.child.kill("SIGTERM");
    assert.equal(await relayer.exited, 0);
  });
});
