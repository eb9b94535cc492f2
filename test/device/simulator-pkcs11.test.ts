import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { verifyDeviceSignature } from "../../oracle/core/keys.js";
import { TokenError } from "../../oracle/device/pkcs11-errors.js";
import { Pkcs11SecureElement } from "../../oracle/device/pkcs11-secure-element.js";
import { Simulator, type SimulatorOptions } from "../../oracle/device/simulator.js";
import { createTestToken, softHsmAvailable, type TestToken } from "./softhsm.js";

const skip = softHsmAvailable() ? false : "SoftHSM2 is not installed";

describe("Simulator with keys in a PKCS#11 token (SoftHSM2)", { skip }, () => {
  let token: TestToken;
  let dir: string;
  before(async () => {
    token = await createTestToken("SensorSealSim", "2468");
    dir = await mkdtemp(path.join(tmpdir(), "sensorseal-sim-hsm-"));
  });
  after(async () => {
    await token.remove();
    await rm(dir, { recursive: true, force: true });
  });

  const options = (name: string, pin: string): SimulatorOptions => ({
    devices: 2,
    scheme: "mixed",
    keys: { kind: "pkcs11", token: token.label, pin },
    chainId: 31337,
    anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    platformUrl: "http://127.0.0.1:9",
    relayerUrl: "http://127.0.0.1:9",
    outboxFile: path.join(dir, `${name}.sqlite`),
    deliver: false,
    speedup: 1e6,
    maxReadings: 4,
    progress: false,
  });

  it("refuses a wrong PIN with TOKEN_PIN_INCORRECT and makes no key", async () => {
    await assert.rejects(
      Simulator.create(options("wrong-pin", "0000")),
      (e: unknown) => e instanceof TokenError && e.code === "TOKEN_PIN_INCORRECT",
    );
    const open = Pkcs11SecureElement.open({ uri: token.uri("sim-device-0"), pin: token.pin });
    await assert.rejects(open, (e: unknown) => e instanceof TokenError && e.code === "TOKEN_OBJECT_NOT_FOUND");
  });

  it("generates each device's key in the token on first use (both schemes), signs there, and reopens the same keys", async () => {
    const first = await Simulator.create(options("first", token.pin));
    assert.deepEqual(
      [0, 1].map((i) => first.element(i).scheme),
      ["p256", "secp256k1"],
    );
    const addresses = [0, 1].map((i) => first.element(i).address);
    const digest = new Uint8Array(32).fill(7);
    for (const i of [0, 1]) {
      const element = first.element(i);
      const signature = await element.sign(digest);
      assert.ok(verifyDeviceSignature({ scheme: element.scheme, publicKey: element.publicKey, digest, signature }));
    }
    assert.equal((await first.run()).readings, 4);

    const second = await Simulator.create(options("second", token.pin));
    assert.deepEqual(
      [0, 1].map((i) => second.element(i).address),
      addresses,
    );
    assert.equal((await second.run()).readings, 4);
  });
});
