import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { hashTypedData, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import {
  RECEIPT_LEAF_ENCODING,
  RECEIPT_ROOT_TYPE,
  RECEIPT_TYPEHASH,
  ReceiptDigester,
  ReceiptRootDigester,
  receiptDomain,
  receiptFromJson,
  receiptLeaf,
  receiptRootOf,
  receiptRootTypedData,
  receiptsUnderRoot,
  receiptTree,
  receiptTypedData,
  recoverReceiptSigner,
  signReceipt,
  signReceiptRoot,
  verifyReceipt,
  type InclusionReceipt,
  type SignedReceiptRootJson,
} from "../../oracle/core/receipt.js";
import { keccak256Hex } from "../../oracle/core/keccak.js";

const ANCHOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const SIGNER = privateKeyToAccount(KEY).address;
const receipt: InclusionReceipt = {
  device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  seq: 42n,
  dataHash: `0x${"ab".repeat(32)}`,
  deadline: 1_700_000_600n,
};
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe("inclusion receipt (core/receipt.ts)", () => {
  it("has the EIP-712 type hash of InclusionReceipt(address device,uint64 seq,bytes32 dataHash,uint64 deadline)", () => {
    assert.equal(
      RECEIPT_TYPEHASH,
      keccak256Hex(new TextEncoder().encode("InclusionReceipt(address device,uint64 seq,bytes32 dataHash,uint64 deadline)")),
    );
  });

  it("digests exactly as viem's hashTypedData on the relayer domain", () => {
    for (const [chainId, r] of [
      [31337, receipt],
      [1, { ...receipt, seq: 1n, deadline: 0n }],
      [2 ** 40, { ...receipt, seq: (1n << 64n) - 1n, deadline: (1n << 64n) - 1n }],
    ] as const) {
      const digester = new ReceiptDigester(chainId, ANCHOR);
      assert.equal(bytesToHex(digester.digest(r)), hashTypedData(receiptTypedData(receiptDomain(chainId, ANCHOR), r)));
    }
    assert.deepEqual(receiptDomain(31337, ANCHOR.toLowerCase() as Hex), {
      name: "SensorSeal Relayer",
      version: "1",
      chainId: 31337,
      verifyingContract: ANCHOR,
    });
  });

  it("refuses malformed fields with the core's typed errors, and a refused digest leaves the next one right", () => {
    const digester = new ReceiptDigester(31337, ANCHOR);
    const expected = hashTypedData(receiptTypedData(receiptDomain(31337, ANCHOR), receipt));
    for (const [bad, code] of [
      [{ ...receipt, device: "0x1234" }, "INVALID_HEX"],
      [{ ...receipt, device: `0x${"zz".repeat(20)}` }, "INVALID_HEX"],
      [{ ...receipt, dataHash: `0x${"ab".repeat(31)}` }, "INVALID_HEX"],
      [{ ...receipt, seq: -1n }, "INVALID_ARGUMENT"],
      [{ ...receipt, deadline: 1n << 64n }, "INVALID_ARGUMENT"],
      [{ ...receipt, device: `0x${"11".repeat(20)}`, seq: 42 }, "INVALID_ARGUMENT"],
    ] as const) {
      assert.throws(() => digester.digest(bad as unknown as InclusionReceipt), { code });
      // The digester encodes into one reused buffer: what the refused receipt wrote must not leak.
      assert.equal(bytesToHex(digester.digest(receipt)), expected);
    }
  });

  it("signs with the receipt key and recovers its address; viem's signTypedData gives the same bytes", async () => {
    const digester = new ReceiptDigester(31337, ANCHOR);
    const signature = signReceipt(digester, KEY, receipt);
    assert.equal(hexToBytes(signature).length, 65);
    assert.equal(await recoverReceiptSigner(digester, receipt, signature), SIGNER);
    const viaViem = await privateKeyToAccount(KEY).signTypedData(receiptTypedData(receiptDomain(31337, ANCHOR), receipt));
    assert.equal(signature, viaViem);
  });

  it("verifies a JSON receipt only for the right signer, domain and fields", async () => {
    const digester = new ReceiptDigester(31337, ANCHOR);
    const json = {
      device: receipt.device,
      seq: "42",
      dataHash: receipt.dataHash,
      deadline: "1700000600",
      signature: signReceipt(digester, KEY, receipt),
    };
    assert.equal(await verifyReceipt({ chainId: 31337, anchor: ANCHOR, relayer: SIGNER, receipt: json }), true);
    assert.equal(await verifyReceipt({ chainId: 31338, anchor: ANCHOR, relayer: SIGNER, receipt: json }), false);
    assert.equal(
      await verifyReceipt({ chainId: 31337, anchor: "0x0000000000000000000000000000000000000001", relayer: SIGNER, receipt: json }),
      false,
    );
    assert.equal(
      await verifyReceipt({ chainId: 31337, anchor: ANCHOR, relayer: "0x90F79bf6EB2c4f870365E785982E1f101E93b906", receipt: json }),
      false,
    );
    assert.equal(
      await verifyReceipt({ chainId: 31337, anchor: ANCHOR, relayer: SIGNER, receipt: { ...json, deadline: "1700000601" } }),
      false,
    );
    assert.equal(await verifyReceipt({ chainId: 31337, anchor: ANCHOR, relayer: SIGNER, receipt: { ...json, seq: "43" } }), false);
  });

  it("rejects a high-s twin of a valid signature", async () => {
    const digester = new ReceiptDigester(31337, ANCHOR);
    const sig = hexToBytes(signReceipt(digester, KEY, receipt));
    const s = BigInt(bytesToHex(sig.subarray(32, 64)));
    const twin = new Uint8Array(sig);
    twin.set(hexToBytes(`0x${(N - s).toString(16).padStart(64, "0")}`), 32);
    twin[64] = sig[64] === 27 ? 28 : 27;
    await assert.rejects(recoverReceiptSigner(digester, receipt, bytesToHex(twin)), { code: "INVALID_SIGNATURE" });
  });

  it("parses JSON fields strictly", () => {
    assert.deepEqual(
      receiptFromJson({
        device: receipt.device.toLowerCase(),
        seq: "42",
        dataHash: receipt.dataHash.toUpperCase().replace("0X", "0x"),
        deadline: "1700000600",
      }),
      receipt,
    );
    assert.throws(() => receiptFromJson({ device: receipt.device, seq: "042", dataHash: receipt.dataHash, deadline: "1" }), {
      code: "INVALID_ARGUMENT",
    });
    assert.throws(
      () => receiptFromJson({ device: receipt.device, seq: "1", dataHash: receipt.dataHash, deadline: "18446744073709551616" }),
      {
        code: "INVALID_ARGUMENT",
      },
    );
    assert.throws(() => new ReceiptDigester(31337, ANCHOR).digest({ ...receipt, seq: -1n }), { code: "INVALID_ARGUMENT" });
  });
});

describe("receipt roots: one signature for a bulk's receipts (core/receipt.ts)", () => {
  const receipts: InclusionReceipt[] = [5n, 1n, 9n, 2n, 7n].map((seq) => ({
    ...receipt,
    seq,
    dataHash: keccak256Hex(new Uint8Array([Number(seq)])),
  }));
  const readings = receipts.map((r) => ({ device: r.device, seq: String(r.seq), dataHash: r.dataHash }));
  const rootDigester = new ReceiptRootDigester(31337, ANCHOR);
  const signedRoot = (tree = receiptTree(receipts)): SignedReceiptRootJson => ({
    root: tree.root,
    count: tree.leafCount,
    deadline: receipt.deadline.toString(),
    signature: signReceiptRoot(rootDigester, KEY, { root: tree.root, count: tree.leafCount }),
    signer: SIGNER,
  });

  it("leaves and root are @openzeppelin/merkle-tree's StandardMerkleTree over (device, seq, dataHash, deadline)", () => {
    const values = receipts.map((r) => [r.device, r.seq, r.dataHash, r.deadline]);
    const oz = StandardMerkleTree.of(values, [...RECEIPT_LEAF_ENCODING]);
    assert.equal(receiptTree(receipts).root, oz.root);
    receipts.forEach((r, i) => assert.equal(bytesToHex(receiptLeaf(r)), oz.leafHash(values[i])));
    assert.equal(RECEIPT_ROOT_TYPE, "InclusionReceiptRoot(bytes32 root,uint32 count)");
  });

  it("signs the root as EIP-712 InclusionReceiptRoot on the receipts' domain, as viem's signTypedData does", async () => {
    const tree = receiptTree(receipts);
    const message = { root: tree.root, count: tree.leafCount };
    assert.equal(bytesToHex(rootDigester.digest(message)), hashTypedData(receiptRootTypedData(receiptDomain(31337, ANCHOR), message)));
    assert.equal(
      signReceiptRoot(rootDigester, KEY, message),
      await privateKeyToAccount(KEY).signTypedData(receiptRootTypedData(receiptDomain(31337, ANCHOR), message)),
    );
  });

  it("each receipt under a root, with its proof, verifies as a receipt signed alone does; any change to it fails", async () => {
    const under = receiptsUnderRoot(signedRoot(), readings);
    assert.equal(under.length, 5);
    for (const [i, r] of under.entries()) {
      assert.deepEqual(
        [r.device, r.seq, r.dataHash, r.deadline],
        [readings[i].device, readings[i].seq, readings[i].dataHash, "1700000600"],
      );
      assert.equal(await verifyReceipt({ chainId: 31337, anchor: ANCHOR, relayer: SIGNER, receipt: r }), true);
    }
    const r = under[2];
    const other = `0x${"77".repeat(32)}` as Hex;
    for (const bad of [
      { ...r, seq: "10" },
      { ...r, deadline: "1700000601" },
      { ...r, dataHash: other },
      { ...r, count: 6 },
      { ...r, root: other },
      { ...r, proof: [...r.proof!.slice(1), r.proof![0]] },
      { ...r, proof: r.proof!.slice(1) },
      { ...r, proof: undefined },
      { ...r, signature: signReceipt(new ReceiptDigester(31337, ANCHOR), KEY, receiptFromJson(r)) },
    ])
      assert.equal(await verifyReceipt({ chainId: 31337, anchor: ANCHOR, relayer: SIGNER, receipt: bad }), false, JSON.stringify(bad));
    assert.equal(await verifyReceipt({ chainId: 31338, anchor: ANCHOR, relayer: SIGNER, receipt: r }), false);
    // A root's signature is no single receipt's: the root itself is not a leaf of its tree.
    const tree = receiptTree(receipts);
    await assert.rejects(
      recoverReceiptSigner(new ReceiptDigester(31337, ANCHOR), receipts[0], r.signature, { root: tree.root, count: 5, proof: [] }),
      { code: "INVALID_SIGNATURE" },
    );
  });

  it("refuses readings that do not make the signed root, and partial root fields", () => {
    const signed = signedRoot();
    assert.throws(() => receiptsUnderRoot(signed, readings.slice(1)), { code: "INVALID_ARGUMENT" });
    assert.throws(() => receiptsUnderRoot(signed, [...readings.slice(1), { ...readings[0], seq: "6" }]), { code: "INVALID_ARGUMENT" });
    assert.throws(() => receiptsUnderRoot({ ...signed, deadline: "1700000601" }, readings), { code: "INVALID_ARGUMENT" });
    assert.throws(() => receiptsUnderRoot(signed, []), { code: "INVALID_ARGUMENT" });
    assert.equal(receiptsUnderRoot(signed, [...readings].reverse()).length, 5); // any order
    assert.equal(receiptRootOf({}), undefined);
    assert.throws(() => receiptRootOf({ root: signed.root }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => receiptRootOf({ root: signed.root, count: 0, proof: [] }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => receiptRootOf({ root: signed.root, count: 1, proof: ["0x12"] }), { code: "INVALID_ARGUMENT" });
  });
});
