import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { hashTypedData, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import {
  RECEIPT_TYPEHASH,
  ReceiptDigester,
  receiptDomain,
  receiptFromJson,
  receiptTypedData,
  recoverReceiptSigner,
  signReceipt,
  verifyReceipt,
  type InclusionReceipt,
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
