import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { describe, it } from "node:test";

import { keccak_256 } from "@noble/hashes/sha3.js";

import { bytesToHex, compareBytes, concatBytes, equalBytes, hexToBytes, isHex, toBytes } from "../../oracle/core/bytes.js";
import { keccak256, keccak256Concat, keccak256Hex } from "../../oracle/core/keccak.js";

const enc = new TextEncoder();

describe("bytes", () => {
  it("round-trips hex, accepting either case and returning plain Uint8Arrays", () => {
    for (const n of [0, 1, 2, 20, 32, 33, 1000]) {
      const b = new Uint8Array(randomBytes(n));
      const hex = bytesToHex(b);
      assert.match(hex, /^0x[0-9a-f]*$/);
      const back = hexToBytes(hex);
      assert.deepEqual(back, b);
      assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype);
      assert.deepEqual(hexToBytes(hex.toUpperCase().replace("0X", "0x")), b);
    }
    assert.deepEqual(toBytes("0x00ff", 2), new Uint8Array([0, 255]));
    assert.equal(bytesToHex(new Uint8Array(randomBytes(64)).subarray(10, 12)).length, 6);
  });

  it("rejects malformed hex and wrong lengths with typed errors", () => {
    for (const bad of ["", "0", "00ff", "0x0", "0xg0", "0x0g", "0x00 1", " 0x00", "0X00", "0x00ff\n"]) {
      assert.throws(() => hexToBytes(bad), { name: "InvalidHexError", code: "INVALID_HEX" }, bad);
      assert.equal(isHex(bad), false, bad);
    }
    assert.throws(() => hexToBytes("0x00", 2), { name: "InvalidHexError" });
    assert.throws(() => toBytes(new Uint8Array(3), 2), { name: "InvalidLengthError", code: "INVALID_LENGTH" });
    assert.ok(isHex("0x"));
    assert.ok(isHex("0xAbCd", { bytes: 2 }));
    assert.equal(isHex("0xabcd", { bytes: 3 }), false);
  });

  it("concatenates, compares and checks equality", () => {
    assert.deepEqual(concatBytes(new Uint8Array([1]), new Uint8Array(), new Uint8Array([2, 3])), new Uint8Array([1, 2, 3]));
    assert.ok(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
    assert.equal(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
    assert.equal(equalBytes(new Uint8Array([1]), new Uint8Array([1, 0])), false);
    for (let i = 0; i < 200; i++) {
      const a = new Uint8Array(randomBytes(randomInt(4)));
      const b = new Uint8Array(randomBytes(randomInt(4)));
      assert.equal(compareBytes(a, b), Math.sign(Buffer.compare(a, b)));
    }
  });
});

describe("keccak256", () => {
  it("matches known vectors", () => {
    assert.equal(keccak256Hex(new Uint8Array()), "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    assert.equal(keccak256Hex(enc.encode("abc")), "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    // Solidity: keccak256("Transfer(address,address,uint256)")
    assert.equal(
      keccak256Hex(enc.encode("Transfer(address,address,uint256)")),
      "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
    );
  });

  it("equals @noble/hashes keccak_256 on random inputs of every length around the rate", () => {
    for (let n = 0; n < 300; n++) {
      const data = new Uint8Array(randomBytes(n));
      assert.deepEqual(keccak256(data), keccak_256(data), `length ${n}`);
    }
    const big = new Uint8Array(randomBytes(100_000));
    assert.deepEqual(keccak256(big), keccak_256(big));
    const a = new Uint8Array(randomBytes(32));
    const b = new Uint8Array(randomBytes(45));
    assert.deepEqual(keccak256Concat(a, b), keccak_256(concatBytes(a, b)));
  });

  it("hashes subarray views by their own bytes and returns fresh arrays", () => {
    const buf = new Uint8Array(randomBytes(96));
    const view = buf.subarray(32, 64);
    assert.deepEqual(keccak256(view), keccak_256(buf.slice(32, 64)));
    const h1 = keccak256(view);
    const h2 = keccak256(view);
    assert.notEqual(h1.buffer, h2.buffer);
    assert.deepEqual(h1, h2);
  });
});
