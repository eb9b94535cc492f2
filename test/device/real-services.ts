// Test helper (no side effects on import): the real platform and relayer on loopback, on a real
// simulated audit chain, as the device tests run against them.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { pino } from "pino";

import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import type { ApiKeyEntry } from "../../oracle/platform/auth.js";
import { createPlatform, type Platform, type PlatformLimits } from "../../oracle/platform/platform.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { startTestRelayer, type TestRelayer, type TestRelayerOptions } from "../relayer/fixtures.js";

/** A chain, the platform (with its registry index) and a relayer, in a temp folder. */
export interface RealServices {
  chain: AuditChain;
  dir: string;
  platformIndex: RegistryIndex;
  platform: Platform;
  platformServer: RunningServer;
  relayer: TestRelayer;
  /** Both registry indexes have every block, and the wall clock (the readings' time) is past the latest. */
  catchUp(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a chain, the platform and a relayer (generous limits unless given).
 *
 * @example
 * const services = await startRealServices("sensorseal-device-e2e-");
 * await services.close();
 */
export async function startRealServices(
  prefix: string,
  limits: { platform?: Partial<PlatformLimits>; relayer?: TestRelayerOptions["limits"]; apiKeys?: ApiKeyEntry[] } = {},
): Promise<RealServices> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const chain = await startAuditChain();
  const platformIndex = await RegistryIndex.start({
    client: chain.publicClient,
    registry: chain.registry,
    deployBlock: chain.deployBlock,
    pollMs: 200,
  });
  const platform = await createPlatform({
    store: await openDatabase(path.join(dir, "platform.sqlite")),
    registry: platformIndex,
    domain: { chainId: chain.chainId, anchor: chain.anchor },
    apiKeys: limits.apiKeys ?? [],
    logger: pino({ level: "silent" }),
    limits: { deviceReadingsPerMinute: 6000, deviceBurst: 1000, ipRatePerSecond: 10_000, ipBurst: 10_000, ...limits.platform },
  });
  const platformServer = await listen(platform.app, 0);
  const relayer = await startTestRelayer(chain, {
    databaseUrl: path.join(dir, "relayer.sqlite"),
    ...(limits.relayer ? { limits: limits.relayer } : {}),
  });
  return {
    chain,
    dir,
    platformIndex,
    platform,
    platformServer,
    relayer,
    async catchUp() {
      await platformIndex.sync();
      await relayer.registry.sync();
      const latest = Number((await chain.publicClient.getBlock()).timestamp);
      while (Math.floor(Date.now() / 1000) <= latest) await new Promise((r) => setTimeout(r, 100));
    },
    async close() {
      await relayer.close().catch(() => undefined);
      await platformServer.close().catch(() => undefined);
      await platform.close().catch(() => undefined);
      platformIndex.stop();
      await chain.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
