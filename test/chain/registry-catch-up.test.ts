import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Address } from "viem";

import type { AdmissionDevice } from "../../oracle/core/admission.js";
import { RegistryCatchUp, type SyncableRegistry } from "../../oracle/chain/registry-catch-up.js";
import { DeviceStatus } from "../../oracle/core/device-status.js";

const NEW_DEVICE = "0x00000000000000000000000000000000000000a1" as Address;

/** A registry index whose sync finds `NEW_DEVICE` (registered since its last poll), counting syncs. */
function indexLearningOnSync() {
  const known = new Map<Address, AdmissionDevice>();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const registry: SyncableRegistry<AdmissionDevice> & { syncs: number } = {
    syncs: 0,
    device: (device) => known.get(device),
    statusAt: () => DeviceStatus.Active,
    async sync() {
      registry.syncs += 1;
      await gate;
      known.set(NEW_DEVICE, { scheme: "secp256k1", publicKey: new Uint8Array(64), status: DeviceStatus.Active });
    },
  };
  return { registry, release };
}

describe("RegistryCatchUp", () => {
  it("concurrent lookups of a just-registered device share one sync and all find it", async () => {
    const { registry, release } = indexLearningOnSync();
    const catchUp = new RegistryCatchUp(registry, { minIntervalMs: 60_000 });
    const lookups = [catchUp.lookUp(NEW_DEVICE), catchUp.lookUp(NEW_DEVICE), catchUp.lookUp(NEW_DEVICE)];
    release();
    const found = await Promise.all(lookups);
    assert.deepEqual(
      found.map((d) => d !== undefined),
      [true, true, true],
    );
    assert.equal(registry.syncs, 1);
  });

  it("a flood of unknown devices forces at most one sync per interval", async () => {
    const { registry, release } = indexLearningOnSync();
    release();
    let now = 0;
    const catchUp = new RegistryCatchUp(registry, { minIntervalMs: 1000, now: () => now });
    const ghost = (i: number) => `0x${i.toString(16).padStart(40, "0")}` as Address;
    for (let i = 1; i <= 50; i++) assert.equal(await catchUp.lookUp(ghost(i)), undefined);
    assert.equal(registry.syncs, 1);
    now = 1000;
    assert.equal(await catchUp.lookUp(ghost(51)), undefined);
    assert.equal(registry.syncs, 2);
  });
});
