/**
 * The audit chain end to end, deployed through its Ignition module: the core's formats agree byte
 * for byte with @openzeppelin/merkle-tree, MerkleProof.sol and the contracts, both signature schemes
 * verify on-chain, and each kind of bad input reverts with its custom error.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { before, describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { network } from "hardhat";
import { hashTypedData, toHex, type Address, type Hex } from "viem";

import { bytesToHex, hexToBytes, randomBytes } from "../../oracle/core/bytes.js";
import {
  keySchemeId,
  generatePrivateKey,
  publicKeyFromPrivate,
  signDigest,
  deviceIdFromPublicKey,
  type KeyScheme,
} from "../../oracle/core/keys.js";
import { buildBatch } from "../../oracle/core/manifest.js";
import { READING_LEAF_ENCODING, ReadingDigester, readingLeaf, readingTypedData, type Reading } from "../../oracle/core/reading.js";
import AuditChainModule from "../../ignition/modules/AuditChain.js";
import { edrNetworkNow } from "../helpers/test-node.js";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

interface TestDevice {
  scheme: KeyScheme;
  privateKey: Uint8Array;
  address: Address;
  seq: bigint;
}

describe("audit chain (Ignition deployment)", async () => {
  const { viem, ignition, networkHelpers } = await network.create(edrNetworkNow("audit"));
  const publicClient = await viem.getPublicClient();
  const [, registrar, relayer, stranger] = await viem.getWalletClients();
  const { registry, anchor } = await ignition.deploy(AuditChainModule, {
    parameters: path.resolve(import.meta.dirname, "../../ignition/parameters/local.json"),
  });
  const chainId = await publicClient.getChainId();
  const digester = new ReadingDigester(chainId, anchor.address);
  const harness = await viem.deployContract("MerkleProofHarness");

  async function newDevice(scheme: KeyScheme): Promise<TestDevice> {
    const privateKey = generatePrivateKey(scheme);
    const publicKey = publicKeyFromPrivate(scheme, privateKey);
    await registry.write.registerDevice([keySchemeId(scheme), toHex(publicKey), registrar.account.address, `0x${"ab".repeat(32)}`], {
      account: registrar.account,
    });
    return { scheme, privateKey, address: deviceIdFromPublicKey(publicKey), seq: 0n };
  }

  async function now(): Promise<bigint> {
    return BigInt(await networkHelpers.time.latest());
  }

  function read(device: TestDevice, timestamp: bigint): { reading: Reading; signature: Hex } {
    device.seq += 1n;
    const reading: Reading = { device: device.address, seq: device.seq, timestamp, dataHash: bytesToHex(randomBytes(32)) };
    return { reading, signature: bytesToHex(signDigest(device.scheme, device.privateKey, digester.digest(reading))) };
  }

  const devices: TestDevice[] = [];
  before(async () => {
    for (const scheme of ["secp256k1", "p256", "secp256k1", "p256"] as const) devices.push(await newDevice(scheme));
    await networkHelpers.time.increase(60);
  });

  it("the deployment grants the roles of the parameters file", async () => {
    assert.equal(await registry.read.hasRole([await registry.read.REGISTRAR_ROLE(), registrar.account.address]), true);
    assert.equal(await anchor.read.hasRole([await anchor.read.RELAYER_ROLE(), relayer.account.address]), true);
    assert.equal((await anchor.read.registry()).toLowerCase(), registry.address.toLowerCase());
  });

  it("the deployment registers the relayer with its manifest URL and receipt signer, and sets the parameters", async () => {
    const info = await anchor.read.relayerInfo([relayer.account.address]);
    assert.equal(info.manifestUrl, "http://127.0.0.1:8547");
    assert.equal(info.receiptSigner, "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
    assert.equal(await anchor.read.maxAnchorDelay(), 86_400n);
    assert.equal(await anchor.read.manifestAvailabilityBlocks(), 100n);
    assert.equal(await anchor.read.MAX_LEAF_COUNT(), 65_536);
  });

  it("digest and leaf: core = viem = contract", async () => {
    const { reading } = read(devices[0], await now());
    assert.equal(digester.digestHex(reading), hashTypedData(readingTypedData(digester.domain, reading)));
    assert.equal(digester.digestHex(reading), await anchor.read.readingDigest([reading]));
    assert.equal(bytesToHex(readingLeaf(reading)), await anchor.read.readingLeaf([reading]));
  });

  for (const size of [1, 2, 3, 7, 33]) {
    it(`a random tree of ${size}: core = @openzeppelin/merkle-tree = MerkleProof.sol = verifyReading`, async () => {
      const timestamp = await now();
      const items = Array.from({ length: size }, (_, i) => read(devices[i % devices.length], timestamp - BigInt(i % 5)));
      const batch = buildBatch({ chainId, anchor: anchor.address, items });

      const values = items.map(({ reading: r }) => [r.device, r.seq, r.timestamp, r.dataHash]);
      const oz = StandardMerkleTree.of(values, [...READING_LEAF_ENCODING]);
      assert.equal(batch.root, oz.root);
      for (let i = 0; i < size; i++) {
        assert.deepEqual(batch.proofs[i], oz.getProof(i), `proof ${i}`);
        assert.equal(batch.leaves[i], oz.leafHash(values[i]));
        assert.equal(await harness.read.verify([batch.proofs[i], batch.root, batch.leaves[i]]), true);
      }

      await anchor.write.anchorBatch([batch.root, size, batch.manifestHash], { account: relayer.account });
      const batchId = await anchor.read.batchIdOfRoot([batch.root]);
      const stored = await anchor.read.getBatch([batchId]);
      assert.equal(stored.root, batch.root);
      assert.equal(stored.manifestHash, batch.manifestHash);
      assert.equal(stored.leafCount, size);
      for (let i = 0; i < size; i++) {
        assert.equal(await anchor.read.verifyReading([batchId, items[i].reading, items[i].signature, batch.proofs[i]]), true);
      }
    });
  }

  it("batch ids are sequential and each anchoring emits BatchAnchored", async () => {
    const before = await anchor.read.batchCount();
    const root = bytesToHex(randomBytes(32));
    const manifestHash = bytesToHex(randomBytes(32));
    await viem.assertions.emitWithArgs(
      anchor.write.anchorBatch([root, 5, manifestHash], { account: relayer.account }),
      anchor,
      "BatchAnchored",
      [before + 1n, root, 5, manifestHash, relayer.account.address],
    );
    assert.equal(await anchor.read.batchCount(), before + 1n);
  });

  for (const scheme of ["secp256k1", "p256"] as const) {
    it(`submitReading verifies a ${scheme} signature on-chain and records the (device, seq) once`, async () => {
      const device = await newDevice(scheme);
      await networkHelpers.time.increase(5);
      const { reading, signature } = read(device, await now());
      await viem.assertions.emitWithArgs(
        anchor.write.submitReading([reading, signature], { account: stranger.account }),
        anchor,
        "ReadingSubmitted",
        [device.address, reading.seq, reading.timestamp, reading.dataHash],
      );
      assert.equal(await anchor.read.isSubmitted([device.address, reading.seq]), true);
      await viem.assertions.revertWithCustomErrorWithArgs(
        anchor.write.submitReading([reading, signature]),
        anchor,
        "ReadingAnchorAlreadySubmitted",
        [device.address, reading.seq],
      );
    });
  }

  describe("bad input", () => {
    it("zero root → ReadingAnchorZeroRoot", async () => {
      await viem.assertions.revertWithCustomError(
        anchor.write.anchorBatch([`0x${"00".repeat(32)}`, 1, `0x${"11".repeat(32)}`], { account: relayer.account }),
        anchor,
        "ReadingAnchorZeroRoot",
      );
    });

    it("repeated root → ReadingAnchorRootAlreadyAnchored(root, batchId)", async () => {
      const root = bytesToHex(randomBytes(32));
      await anchor.write.anchorBatch([root, 1, root], { account: relayer.account });
      const batchId = await anchor.read.batchIdOfRoot([root]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        anchor.write.anchorBatch([root, 1, root], { account: relayer.account }),
        anchor,
        "ReadingAnchorRootAlreadyAnchored",
        [root, batchId],
      );
    });

    it("anchoring without the relayer role → AccessControlUnauthorizedAccount", async () => {
      await viem.assertions.revertWithCustomErrorWithArgs(
        anchor.write.anchorBatch([bytesToHex(randomBytes(32)), 1, bytesToHex(randomBytes(32))], { account: stranger.account }),
        anchor,
        "AccessControlUnauthorizedAccount",
        [stranger.account.address, await anchor.read.RELAYER_ROLE()],
      );
    });

    it("registering without the registrar role → AccessControlUnauthorizedAccount", async () => {
      const publicKey = publicKeyFromPrivate("p256", generatePrivateKey("p256"));
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.registerDevice([1, toHex(publicKey), stranger.account.address, `0x${"00".repeat(32)}`], {
          account: stranger.account,
        }),
        registry,
        "AccessControlUnauthorizedAccount",
        [stranger.account.address, await registry.read.REGISTRAR_ROLE()],
      );
    });

    it("malleated (high-s) signatures of both schemes → ReadingAnchorInvalidSignature", async () => {
      for (const device of devices.slice(0, 2)) {
        const { reading, signature } = read(device, await now());
        const bytes = hexToBytes(signature);
        const n = device.scheme === "secp256k1" ? SECP256K1_N : P256_N;
        const s = BigInt(bytesToHex(bytes.slice(32, 64)));
        bytes.set(hexToBytes(toHex(n - s, { size: 32 })), 32);
        if (device.scheme === "secp256k1") bytes[64] = bytes[64] === 27 ? 28 : 27;
        await viem.assertions.revertWithCustomErrorWithArgs(
          anchor.write.submitReading([reading, bytesToHex(bytes)]),
          anchor,
          "ReadingAnchorInvalidSignature",
          [device.address],
        );
      }
    });

    it("a signature for another chain id or another contract → ReadingAnchorInvalidSignature", async () => {
      const device = devices[1];
      for (const other of [new ReadingDigester(chainId + 1, anchor.address), new ReadingDigester(chainId, registry.address)]) {
        device.seq += 1n;
        const reading: Reading = { device: device.address, seq: device.seq, timestamp: await now(), dataHash: bytesToHex(randomBytes(32)) };
        const signature = bytesToHex(signDigest(device.scheme, device.privateKey, other.digest(reading)));
        await viem.assertions.revertWithCustomErrorWithArgs(
          anchor.write.submitReading([reading, signature]),
          anchor,
          "ReadingAnchorInvalidSignature",
          [device.address],
        );
      }
    });

    it("a revoked device: a reading signed after revocation fails on both paths; one signed before still verifies", async () => {
      const device = await newDevice("p256");
      await networkHelpers.time.increase(10);
      const beforeRevocation = read(device, await now());
      const early = buildBatch({ chainId, anchor: anchor.address, items: [beforeRevocation] });
      await anchor.write.anchorBatch([early.root, 1, early.manifestHash], { account: relayer.account });
      const earlyId = await anchor.read.batchIdOfRoot([early.root]);

      await networkHelpers.time.increase(10);
      await registry.write.revokeDevice([device.address], { account: registrar.account });
      await networkHelpers.time.increase(10);
      const afterRevocation = read(device, await now());

      await viem.assertions.revertWithCustomErrorWithArgs(
        anchor.write.submitReading([afterRevocation.reading, afterRevocation.signature]),
        anchor,
        "ReadingAnchorDeviceNotActive",
        [device.address, afterRevocation.reading.timestamp],
      );
      const late = buildBatch({ chainId, anchor: anchor.address, items: [afterRevocation] });
      await anchor.write.anchorBatch([late.root, 1, late.manifestHash], { account: relayer.account });
      const lateId = await anchor.read.batchIdOfRoot([late.root]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        anchor.read.verifyReading([lateId, afterRevocation.reading, afterRevocation.signature, late.proofs[0]]),
        anchor,
        "ReadingAnchorDeviceNotActive",
        [device.address, afterRevocation.reading.timestamp],
      );
      assert.equal(await anchor.read.verifyReading([earlyId, beforeRevocation.reading, beforeRevocation.signature, early.proofs[0]]), true);
    });

    it("a reading not in the batch → ReadingAnchorInvalidProof(batchId, leaf)", async () => {
      const items = [read(devices[0], await now()), read(devices[1], await now())];
      const batch = buildBatch({ chainId, anchor: anchor.address, items });
      await anchor.write.anchorBatch([batch.root, 2, batch.manifestHash], { account: relayer.account });
      const batchId = await anchor.read.batchIdOfRoot([batch.root]);
      const outsider = read(devices[2], await now());
      await viem.assertions.revertWithCustomErrorWithArgs(
        anchor.read.verifyReading([batchId, outsider.reading, outsider.signature, batch.proofs[0]]),
        anchor,
        "ReadingAnchorInvalidProof",
        [batchId, bytesToHex(readingLeaf(outsider.reading))],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        anchor.read.verifyReading([9_999n, items[0].reading, items[0].signature, batch.proofs[0]]),
        anchor,
        "ReadingAnchorUnknownBatch",
        [9_999n],
      );
    });
  });
});
