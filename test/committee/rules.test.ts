/**
 * The reward rules (oracle/committee/rules.ts) on attack 7 of ISSUE-11 (docs/TRUST-MODEL.md §7): a
 * relayer anchors a device's higher seq before its lower ones. Before (rules v1, monotonic seq): the
 * lower seqs were DUPLICATE_SEQUENCE and earned nothing, while the verifier called them VERIFIED. Now
 * each (device, seq) earns once, whatever the order of anchoring within the allowed window. Real
 * signatures and real rules; the registry entry is the data a RegistryIndex holds for one Active device.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { IndexedDevice } from "../../oracle/chain/registry-index.js";
import { DeviceStatus } from "../../oracle/core/device-status.js";
import { ReadingDigester } from "../../oracle/core/reading.js";
import { evaluateReadings, RULES_V2, type DeviceRewardState, type JudgeContext } from "../../oracle/committee/rules.js";
import { newDevice, signedReading } from "../relayer/fixtures.js";
import { itemOf, newAccount } from "./fixtures.js";

describe("reward rules: one reward per (device, seq), any order (attack 7)", () => {
  const domain = { chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const };
  const device = newDevice("secp256k1");
  const beneficiary = newAccount().address;
  const entry: IndexedDevice = {
    device: device.address,
    scheme: device.scheme,
    publicKey: device.publicKey,
    beneficiary,
    metadataHash: `0x${"00".repeat(32)}`,
    status: DeviceStatus.Active,
    history: [{ since: 0, status: DeviceStatus.Active, blockNumber: 1 }],
    compromises: [],
  };
  const t0 = 1_700_000_040; // a minute boundary
  const state = new Map<string, DeviceRewardState>();
  const judge = (anchoredAt: number): JudgeContext => ({
    anchoredAt: BigInt(anchoredAt),
    maxAnchorDelay: 86_400n,
    judgeBlock: 100n,
    digester: new ReadingDigester(domain.chainId, domain.anchor),
    registry: { device: (d) => (d.toLowerCase() === device.address.toLowerCase() ? entry : undefined) },
    state,
    rules: RULES_V2,
  });
  const reading = (seq: number, timestamp: number) => itemOf(signedReading(device, domain, { seq, timestamp }));

  it("attack 7: a higher seq anchored first does not cost the lower seqs their rewards; a repeated (device, seq) earns once", () => {
    // First batch: seq 3 only. Second batch (anchored later): seqs 1 and 2, and seq 3 again in another minute.
    const first = evaluateReadings([reading(3, t0 + 120)], judge(t0 + 200));
    const second = evaluateReadings([reading(1, t0), reading(2, t0 + 60), reading(3, t0 + 180)], judge(t0 + 260));

    assert.deepEqual(
      first.rewards.map((r) => [r.seq, r.beneficiary, r.amount]),
      [[3n, beneficiary, RULES_V2.rewardPerReading]],
    );
    assert.deepEqual(
      second.rewards.map((r) => r.seq),
      [1n, 2n],
    );
    assert.deepEqual(
      second.rejected.map((j) => [j.seq, j.reason]),
      [[3n, "DUPLICATE_SEQUENCE"]],
    );
  });

  it("a second reading in a minute that already earned earns nothing (SAME_MINUTE), whatever its seq", () => {
    const again = evaluateReadings([reading(9, t0 + 30)], judge(t0 + 300));
    assert.deepEqual(again.rewards, []);
    assert.deepEqual(
      again.rejected.map((j) => [j.seq, j.reason]),
      [[9n, "SAME_MINUTE"]],
    );
  });
});

describe("reward rules: a batch's signatures checked together", () => {
  const domain = { chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const };
  const k1 = newDevice("secp256k1");
  const p256 = newDevice("p256");
  const stranger = newDevice("p256"); // never registered
  const entryOf = (device: typeof k1): IndexedDevice => ({
    device: device.address,
    scheme: device.scheme,
    publicKey: device.publicKey,
    beneficiary: device.address,
    metadataHash: `0x${"00".repeat(32)}`,
    status: DeviceStatus.Active,
    history: [{ since: 0, status: DeviceStatus.Active, blockNumber: 1 }],
    compromises: [],
  });
  const entries = new Map([k1, p256].map((d) => [d.address.toLowerCase(), entryOf(d)]));
  const t0 = 1_700_000_040;
  /** A reading whose signature is another reading's (authentic bytes, wrong message). */
  const forged = (device: typeof k1, seq: number, timestamp: number) => ({
    ...itemOf(signedReading(device, domain, { seq, timestamp })),
    signature: itemOf(signedReading(device, domain, { seq: seq + 1000, timestamp })).signature,
  });

  it("each reading gets its own signature's verdict, wherever unknown devices and forgeries sit in the batch", () => {
    const items = [
      itemOf(signedReading(p256, domain, { seq: 1, timestamp: t0 })),
      itemOf(signedReading(stranger, domain, { seq: 1, timestamp: t0 })),
      forged(p256, 2, t0 + 60),
      itemOf(signedReading(k1, domain, { seq: 1, timestamp: t0 })),
      forged(k1, 2, t0 + 60),
      itemOf(signedReading(p256, domain, { seq: 3, timestamp: t0 + 120 })),
      itemOf(signedReading(k1, domain, { seq: 3, timestamp: t0 + 120 })),
    ];
    const result = evaluateReadings(items, {
      anchoredAt: BigInt(t0 + 300),
      maxAnchorDelay: 86_400n,
      judgeBlock: 100n,
      digester: new ReadingDigester(domain.chainId, domain.anchor),
      registry: { device: (d) => entries.get(d.toLowerCase()) },
      state: new Map(),
      rules: RULES_V2,
    });
    assert.deepEqual(
      result.rewards.map((r) => [r.device, r.seq]),
      [
        [p256.address, 1n],
        [k1.address, 1n],
        [p256.address, 3n],
        [k1.address, 3n],
      ],
    );
    assert.deepEqual(
      result.rejected.map((r) => [r.device, r.seq, r.reason]),
      [
        [stranger.address, 1n, "UNKNOWN_DEVICE"],
        [p256.address, 2n, "INVALID_SIGNATURE"],
        [k1.address, 2n, "INVALID_SIGNATURE"],
      ],
    );
  });
});
