/**
 * One contract, two implementations: the cases of service-contract.ts run against the fakes the
 * device tests use and against the real platform and relayer on loopback (a real simulated audit
 * chain, devices registered, suspended and revoked on it), so every fake answer is one a real
 * service gives. Cases the real services cannot be brought to answer say "fake only" in their name.
 */
import { after, before, describe, it } from "node:test";

import type { SecureElement } from "../../oracle/device/secure-element.js";
import { fakeServices, type FakeService, type ServiceKind } from "./fake-services.js";
import { startRealServices, type RealServices } from "./real-services.js";
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
        for (const fake of Object.values(fakes))
          fake.devices.set(element.address, { scheme: element.scheme, publicKey: element.publicKey, status });
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
  let services: RealServices;
  let subject: ContractSubject;

  before(async () => {
    services = await startRealServices("sensorseal-contract-", {
      // One token a minute after the burst: the quota case reaches the limit, no case refills it.
      platform: { deviceReadingsPerMinute: 1, deviceBurst: DEVICE_QUOTA },
      relayer: { deviceQuota: { ratePerSecond: 1 / 60, burst: DEVICE_QUOTA } },
    });
    const { chain, platform, platformServer, relayer } = services;
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
        await services.catchUp();
        return element;
      },
      async clock() {
        return Number((await chain.publicClient.getBlock({ blockTag: "latest" })).timestamp);
      },
      async shutDown(kind) {
        if (kind === "platform") await platform.close();
        else await relayer.relayer.stop();
      },
    };
  });

  after(async () => {
    await services?.close();
  });

  runCases(() => subject, true);
});
