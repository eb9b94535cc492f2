/**
 * One contract, two implementations: the cases of service-contract.ts run against the fakes the
 * device tests use and against the real platform and relayer on loopback (a real simulated audit
 * chain, devices registered, suspended and revoked on it), so every fake answer is one a real
 * service gives. Cases the real services cannot be brought to answer say "fake only" in their name.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { pino } from "pino";

import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import type { SecureElement } from "../../oracle/device/secure-element.js";
import { createPlatform, type Platform } from "../../oracle/platform/platform.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { startTestRelayer, type TestRelayer } from "../relayer/fixtures.js";
import { fakeServices, type FakeService, type ServiceKind } from "./fake-services.js";
import { CONTRACT_CASES, freshElement, type ContractCase, type ContractSubject, type DeviceState } from "./service-contract.js";

const DEVICE_QUOTA = 4;
/** The fakes' domain (any: they verify signatures on it like the real services on theirs). */
const FAKE_DOMAIN = { chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3" } as const;

/** Every case in order (the ones that shut a service down last), once per service it applies to. */
function runCases(subject: () => ContractSubject, real: boolean): void {
  const ordered: ContractCase[] = [...CONTRACT_CASES.filter((c) => !c.last), ...CONTRACT_CASES.filter((c) => c.last)];
  for (const c of ordered) {
    if (real && c.fakeOnly !== undefined) continue;
    for (const kind of c.kinds) it(`${kind}: ${c.name}`, () => c.run(subject(), kind));
  }
}

describe("service contract: the fakes", () => {
  let fakes: Record<ServiceKind, FakeService>;
  let subject: ContractSubject;

  before(async () => {
    fakes = await fakeServices({ domain: FAKE_DOMAIN, deviceQuota: DEVICE_QUOTA });
    await fakes.platform.start();
    await fakes.relayer.start();
    subject = {
      ...FAKE_DOMAIN,
      deviceQuota: DEVICE_QUOTA,
      url: (kind) => fakes[kind].url,
      async device(state: DeviceState): Promise<SecureElement> {
        const element = freshElement();
        if (state === "unknown") return element;
        const status = state;
        for (const fake of Object.values(fakes)) fake.devices.set(element.address, { scheme: element.scheme, publicKey: element.publicKey, status });
        return element;
      },
      async shutDown(kind) {
        fakes[kind].mode = "shutting-down";
      },
      setMode(kind, mode) {
        fakes[kind].mode = mode;
      },
    };
  });

  after(async () => {
    await fakes?.platform.stop();
    await fakes?.relayer.stop();
  });

  runCases(() => subject, false);
});

describe("service contract: the real platform and relayer", () => {
  let chain: AuditChain;
  let dir: string;
  let platformIndex: RegistryIndex;
  let platform: Platform;
  let platformServer: RunningServer;
  let relayer: TestRelayer;
  let subject: ContractSubject;

  /** Readings are stamped with the wall clock: wait until it is past the chain's latest block. */
  async function settle(): Promise<void> {
    const latest = Number((await chain.publicClient.getBlock()).timestamp);
    while (Math.floor(Date.now() / 1000) <= latest) await new Promise((r) => setTimeout(r, 100));
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sensorseal-contract-"));
    chain = await startAuditChain();
    platformIndex = await RegistryIndex.start({ client: chain.publicClient, registry: chain.registry, deployBlock: chain.deployBlock, pollMs: 200 });
    platform = await createPlatform({
      store: await openDatabase(path.join(dir, "platform.sqlite")),
      registry: platformIndex,
      domain: { chainId: chain.chainId, anchor: chain.anchor },
      apiKeys: [],
      logger: pino({ level: "silent" }),
      // One token a minute after the burst: the quota case reaches the limit, no case refills it.
      limits: { deviceReadingsPerMinute: 1, deviceBurst: DEVICE_QUOTA, ipRatePerSecond: 10_000, ipBurst: 10_000 },
    });
    platformServer = await listen(platform.app, 0);
    relayer = await startTestRelayer(chain, {
      databaseUrl: path.join(dir, "relayer.sqlite"),
      limits: { deviceQuota: { ratePerSecond: 1 / 60, burst: DEVICE_QUOTA } },
    });
    subject = {
      chainId: chain.chainId,
      anchor: chain.anchor,
      deviceQuota: DEVICE_QUOTA,
      url: (kind) => (kind === "platform" ? platformServer.url : relayer.url),
      async device(state: DeviceState): Promise<SecureElement> {
        const element = freshElement(state === "revoked" ? "secp256k1" : "p256");
        if (state === "unknown") return element;
        await chain.registerDevice({ scheme: element.scheme, publicKey: element.publicKey });
        if (state === "suspended") await chain.suspend(element.address);
        if (state === "revoked") await chain.revoke(element.address);
        // Both indexes have the change, and the wall clock (the readings' time) is past it.
        await platformIndex.sync();
        await relayer.registry.sync();
        await settle();
        return element;
      },
      async shutDown(kind) {
        if (kind === "platform") await platform.close();
        else await relayer.relayer.stop();
      },
    };
  });

  after(async () => {
    await relayer?.close().catch(() => undefined);
    await platformServer?.close().catch(() => undefined);
    await platform?.close().catch(() => undefined);
    platformIndex?.stop();
    await chain?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  runCases(() => subject, true);
});
