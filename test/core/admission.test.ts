import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Address } from "viem";

import { ADMISSION_CODES, admitReading, type AdmissionDevice, type AdmissionRegistry } from "../../oracle/core/admission.js";
import { DeviceStatus } from "../../oracle/core/device-status.js";
import { ERROR_STATUS } from "../../oracle/core/error-codes.js";
import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest, type KeyScheme } from "../../oracle/core/keys.js";
import { ReadingDigester, type Reading } from "../../oracle/core/reading.js";
import { ADMISSION_CASES, type AdmissionCase } from "./admission-cases.js";
import { randomAddress, randomHash } from "./helpers.js";

const NOW_MS = 1_700_000_000_000;
const NOW = BigInt(NOW_MS / 1000);
const digester = new ReadingDigester(31337, randomAddress());

function device(scheme: KeyScheme) {
  const privateKey = generatePrivateKey(scheme);
  const publicKey = publicKeyFromPrivate(scheme, privateKey);
  return { address: deviceIdFromPublicKey(publicKey), privateKey, publicKey, scheme };
}

/** A registry of fixed devices: status now, and status at every timestamp. */
function registry(entries: Map<Address, AdmissionDevice>): AdmissionRegistry {
  return { lookUp: (a) => entries.get(a), statusAt: (a) => entries.get(a)?.status ?? DeviceStatus.Unknown };
}

/** Builds the bad reading of one case (and a good one for `undefined`). */
function scenario(code: AdmissionCase["code"] | undefined) {
  const signer = device("p256");
  const other = device("p256");
  const reading: Reading = {
    device: signer.address,
    seq: 1n,
    timestamp: code === "FUTURE_TIMESTAMP" ? NOW + 301n : NOW,
    dataHash: randomHash(),
  };
  const key = code === "INVALID_SIGNATURE" ? other.privateKey : signer.privateKey;
  const status =
    code === "DEVICE_REVOKED" ? DeviceStatus.Revoked : code === "DEVICE_NOT_ACTIVE" ? DeviceStatus.Suspended : DeviceStatus.Active;
  const entries = new Map<Address, AdmissionDevice>();
  if (code !== "UNKNOWN_DEVICE") entries.set(signer.address, { scheme: signer.scheme, publicKey: signer.publicKey, status });
  return { reading, signature: signDigest(signer.scheme, key, digester.digest(reading)), registry: registry(entries) };
}

describe("reading admission (shared by platform and relayer)", () => {
  it("admits a good reading", async () => {
    const verdict = await admitReading({ ...scenario(undefined), digester, nowMs: NOW_MS, maxClockSkewSeconds: 300 });
    assert.equal(verdict.ok, true);
  });

  for (const c of ADMISSION_CASES)
    it(`refuses: ${c.name} → ${c.code} (HTTP ${c.status})`, async () => {
      const verdict = await admitReading({ ...scenario(c.code), digester, nowMs: NOW_MS, maxClockSkewSeconds: 300 });
      assert.equal(verdict.ok, false);
      if (verdict.ok) return;
      assert.equal(verdict.code, c.code);
      assert.equal(ERROR_STATUS[verdict.code], c.status);
      // Registry refusals come after the signature check: the reading is the device's.
      assert.equal(verdict.authentic, c.code === "DEVICE_REVOKED" || c.code === "DEVICE_NOT_ACTIVE");
    });

  it("covers every admission code, each with its one status", () => {
    assert.deepEqual(
      ADMISSION_CASES.map((c) => c.code),
      [...ADMISSION_CODES],
    );
    assert.deepEqual(
      ADMISSION_CASES.map((c) => [c.code, c.status]),
      [
        ["FUTURE_TIMESTAMP", 400],
        ["UNKNOWN_DEVICE", 403],
        ["INVALID_SIGNATURE", 400],
        ["DEVICE_REVOKED", 403],
        ["DEVICE_NOT_ACTIVE", 403],
      ],
    );
  });

  it("checks in one order: a future reading of an unknown device is FUTURE_TIMESTAMP, a bad signature of a revoked one INVALID_SIGNATURE", async () => {
    const unknown = scenario("UNKNOWN_DEVICE");
    const future = await admitReading({
      ...unknown,
      reading: { ...unknown.reading, timestamp: NOW + 301n },
      digester,
      nowMs: NOW_MS,
      maxClockSkewSeconds: 300,
    });
    assert.equal(!future.ok && future.code, "FUTURE_TIMESTAMP");
    const revoked = scenario("DEVICE_REVOKED");
    const forged = await admitReading({
      ...revoked,
      signature: signDigest("p256", device("p256").privateKey, digester.digest(revoked.reading)),
      digester,
      nowMs: NOW_MS,
      maxClockSkewSeconds: 300,
    });
    assert.equal(!forged.ok && forged.code, "INVALID_SIGNATURE");
  });

  it("answers a malformed signature with INVALID_SIGNATURE (a verdict, not a throw)", async () => {
    const short = await admitReading({
      ...scenario(undefined),
      signature: new Uint8Array(10),
      digester,
      nowMs: NOW_MS,
      maxClockSkewSeconds: 300,
    });
    assert.equal(!short.ok && short.code, "INVALID_SIGNATURE");
  });
});
