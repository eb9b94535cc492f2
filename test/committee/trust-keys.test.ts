/**
 * The committee against back-dating by old, suspended and stolen keys (ISSUE-11 attack 3,
 * docs/TRUST-MODEL.md §0 "Device statuses and old readings"), end to end on a real audit chain:
 * - a key Rotated away at R: its readings dated after R earn nothing (DEVICE_NOT_ACTIVE), those dated
 *   before R earn only when anchored within `maxAnchorDelay` of their time (else ANCHORED_TOO_LATE);
 * - a device Suspended at S: the same bound;
 * - a device revoked as compromised since T (`revokeDeviceCompromised`): a reading dated from T on
 *   earns nothing even though it was anchored before the revocation (DEVICE_NOT_ACTIVE), and nothing
 *   anchored after the revocation earns (DEVICE_REVOKED); readings dated before T and anchored before
 *   the revocation keep their reward.
 * Everything happens inside one (long) epoch, so the epoch is judged with the registry after every change.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createTestClient, createWalletClient, hashTypedData, http, toHex, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { keySchemeId, signDigest } from "../../oracle/core/keys.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import { ORACLE_KEYS } from "../helpers/reward-chain.js";
import { chainTime, newDevice, request, signedReading, type TestDevice } from "../relayer/fixtures.js";
import {
  allPosted,
  anchorManually,
  deviceFor,
  itemOf,
  newAccount,
  nextMinute,
  startOracleTestbed,
  startTestOracle,
  WEI,
  type OracleTestbed,
  type TestOracle,
} from "./fixtures.js";

/** One epoch covers the whole scenario (the registry as of its last block has every change). */
const EPOCH_BLOCKS = 100;
/** `maxAnchorDelay` of ignition/parameters/local.json, plus a margin. */
const PAST_MAX_ANCHOR_DELAY = 86_400 + 3_600;

/** Rotates `device`'s key to `next` with the device's own EIP-712 `RotateKey` signature (sent by the stranger). */
async function rotateKey(audit: AuditChain, device: TestDevice, next: TestDevice): Promise<void> {
  const nonce = await audit.publicClient.readContract({
    address: audit.registry,
    abi: deviceRegistryAbi,
    functionName: "nonces",
    args: [device.address],
  });
  const deadline = BigInt((await chainTime(audit)) + 3_600);
  const newScheme = keySchemeId(next.scheme);
  const digest = hashTypedData({
    domain: { name: "SensorSeal Registry", version: "1", chainId: audit.chainId, verifyingContract: audit.registry },
    types: {
      RotateKey: [
        { name: "device", type: "address" },
        { name: "newScheme", type: "uint8" },
        { name: "newPublicKey", type: "bytes" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    },
    primaryType: "RotateKey",
    message: { device: device.address, newScheme, newPublicKey: toHex(next.publicKey), nonce, deadline },
  });
  const signature = bytesToHex(signDigest(device.scheme, device.privateKey, digest));
  const wallet = createWalletClient({
    account: privateKeyToAccount(audit.keys.stranger),
    chain: rpcChain(audit.chainId, "audit", audit.rpcUrl),
    transport: http(audit.rpcUrl),
  });
  const hash = await wallet.writeContract({
    address: audit.registry,
    abi: deviceRegistryAbi,
    functionName: "rotateKey",
    args: [device.address, newScheme, toHex(next.publicKey), deadline, signature],
  });
  assert.equal((await audit.publicClient.waitForTransactionReceipt({ hash })).status, "success");
}

/** Moves the audit chain's clock `seconds` ahead and mines a block there. */
async function advance(audit: AuditChain, seconds: number): Promise<void> {
  await createTestClient({ mode: "hardhat", transport: http(audit.rpcUrl) }).increaseTime({ seconds });
  await audit.mine(1);
}

/** Three oracles judging epochs of {@link EPOCH_BLOCKS} blocks, each the peer of the others. */
async function startLongEpochMesh(bed: OracleTestbed, oracles: TestOracle[]): Promise<void> {
  const peers: string[][] = [[], [], []];
  for (let i = 0; i < 3; i++)
    oracles.push(
      await startTestOracle({
        audit: bed.audit,
        reward: bed.reward,
        key: ORACLE_KEYS[i],
        dir: bed.dir,
        name: `o${i}`,
        sources: [bed.relayer.url, bed.mirror.url],
        peers: peers[i],
        epochBlocks: EPOCH_BLOCKS,
      }),
    );
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) peers[i].push(oracles[j].url);
}

describe("oracle committee: rotated, suspended and compromised keys cannot back-date", { timeout: 300_000 }, () => {
  let bed: OracleTestbed;
  const oracles: TestOracle[] = [];
  const rotB = newAccount();
  const susB = newAccount();
  const compB = newAccount();
  let latest: any[];

  before(async () => {
    bed = await startOracleTestbed(oracles);
    const { audit, mirror } = bed;
    const domain = { chainId: audit.chainId, anchor: audit.anchor };
    const rot = await deviceFor(audit, "secp256k1", rotB.address);
    const sus = await deviceFor(audit, "p256", susB.address);
    const comp = await deviceFor(audit, "secp256k1", compB.address);
    const anchor = (...bodies: ReturnType<typeof signedReading>[]) => anchorManually(audit, mirror, bodies.map(itemOf));

    // Before any change: one reading each, anchored at once (all earn).
    const t0 = await nextMinute(audit);
    await anchor(
      signedReading(rot, domain, { seq: 1, timestamp: t0 }),
      signedReading(sus, domain, { seq: 1, timestamp: t0 }),
      signedReading(comp, domain, { seq: 1, timestamp: t0 }),
    );
    // Readings dated before the changes, kept by their signers to be anchored later.
    await advance(audit, 200);
    const rot2 = signedReading(rot, domain, { seq: 2, timestamp: t0 + 60 });
    const rot4 = signedReading(rot, domain, { seq: 4, timestamp: t0 + 120 });
    const sus2 = signedReading(sus, domain, { seq: 2, timestamp: t0 + 60 });
    const sus4 = signedReading(sus, domain, { seq: 4, timestamp: t0 + 120 });
    const comp3 = signedReading(comp, domain, { seq: 3, timestamp: t0 + 60 });

    // Rotation (R) and suspension (S), both after t0 + 120.
    const rotNew = newDevice("secp256k1");
    await rotateKey(audit, rot, rotNew);
    await audit.suspend(sus.address);
    await advance(audit, 120);
    const tB = await chainTime(audit);
    await anchor(
      rot2, // dated before R, anchored within the delay: earns
      signedReading(rot, domain, { seq: 3, timestamp: tB }), // the old key, dated after R: DEVICE_NOT_ACTIVE
      signedReading(rotNew, domain, { seq: 1, timestamp: tB }), // the new key: earns (same beneficiary)
      sus2, // dated before S, anchored within the delay: earns
      signedReading(sus, domain, { seq: 3, timestamp: tB }), // dated in the suspension: DEVICE_NOT_ACTIVE
    );

    // Compromise: a reading dated from T on, anchored before the revocation, then revoked as compromised since T.
    await advance(audit, 60);
    const tC = await chainTime(audit);
    await anchor(signedReading(comp, domain, { seq: 2, timestamp: tC })); // dated ≥ T: DEVICE_NOT_ACTIVE
    await audit.revokeCompromised(comp.address, tC);
    await anchor(comp3); // dated before T, anchored after the revocation: DEVICE_REVOKED

    // Back-dating past the window: readings dated before R and S, anchored more than maxAnchorDelay later.
    await advance(audit, PAST_MAX_ANCHOR_DELAY);
    await anchor(rot4, sus4); // ANCHORED_TOO_LATE both

    await startLongEpochMesh(bed, oracles);
    // audit.mine makes real blocks (the oracles read maxAnchorDelayAt at the epoch's last block).
    const head = await audit.publicClient.getBlockNumber({ cacheTime: 0 });
    if (head < BigInt(EPOCH_BLOCKS)) await audit.mine(EPOCH_BLOCKS - Number(head));
    latest = await allPosted(audit, oracles, 6n * WEI, "every oracle posts the epoch", 120_000);
  });

  after(async () => {
    await bed?.close();
  });

  it("every oracle posts the same root", () => {
    assert.equal(new Set(latest.map((e) => e.root)).size, 1);
  });

  it("only readings dated while the key was Active, anchored in time, before any compromise, earn", async () => {
    for (const o of oracles) {
      const ledger = await request(`${o.url}/v1/ledger`);
      assert.deepEqual(
        ledger.body.beneficiaries.map((b: any) => [b.beneficiary as Address, b.cumulative, b.readings]).sort(),
        [
          [rotB.address, (3n * WEI).toString(), 3],
          [susB.address, (2n * WEI).toString(), 2],
          [compB.address, WEI.toString(), 1],
        ].sort(),
      );
      const metrics = (await request(`${o.url}/metrics`)).text;
      assert.match(metrics, /sensorseal_oracle_readings_total\{reason="DEVICE_NOT_ACTIVE",result="rejected"\} 3/);
      assert.match(metrics, /sensorseal_oracle_readings_total\{reason="ANCHORED_TOO_LATE",result="rejected"\} 2/);
      assert.match(metrics, /sensorseal_oracle_readings_total\{reason="DEVICE_REVOKED",result="rejected"\} 1/);
      assert.match(metrics, /sensorseal_oracle_readings_total\{result="rewarded"\} 6/);
    }
  });
});
