import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";

import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak256 as viemKeccak, recoverAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import {
  KEY_SCHEMES,
  SECP256K1_NATIVE,
  deviceIdFromPublicKey,
  generatePrivateKey,
  keySchemeFromId,
  keySchemeId,
  publicKeyFromPrivate,
  signDigest,
  signatureLength,
  verifyDeviceSignature,
  verifyDeviceSignatures,
  type KeyScheme,
} from "../../oracle/core/keys.js";
import { assertThrowsTyped } from "./helpers.js";

const N = { secp256k1: secp256k1.Point.Fn.ORDER, p256: p256.Point.Fn.ORDER } as const;
const digestOf = () => new Uint8Array(randomBytes(32));

function withS(sig: Uint8Array, s: bigint): Uint8Array {
  const out = sig.slice();
  out.set(hexToBytes(`0x${s.toString(16).padStart(64, "0")}`), 32);
  return out;
}
function withR(sig: Uint8Array, r: bigint): Uint8Array {
  const out = sig.slice();
  out.set(hexToBytes(`0x${r.toString(16).padStart(64, "0")}`), 0);
  return out;
}
const sOf = (sig: Uint8Array) => BigInt(bytesToHex(sig.subarray(32, 64)));

describe("keys", () => {
  it("uses the native secp256k1 addon", () => {
    assert.equal(SECP256K1_NATIVE, true);
  });

  it("maps schemes to the Solidity enum", () => {
    assert.equal(keySchemeId("secp256k1"), 0);
    assert.equal(keySchemeId("p256"), 1);
    assert.equal(keySchemeFromId(0), "secp256k1");
    assert.equal(keySchemeFromId(1n), "p256");
    assertThrowsTyped(() => keySchemeFromId(2), "InvalidKeyError");
    assertThrowsTyped(() => keySchemeId("ed25519" as KeyScheme), "InvalidKeyError");
    assert.equal(signatureLength("secp256k1"), 65);
    assert.equal(signatureLength("p256"), 64);
  });

  it("derives the Ethereum address as device id for secp256k1 keys", () => {
    for (let i = 0; i < 20; i++) {
      const priv = generatePrivateKey("secp256k1");
      const account = privateKeyToAccount(bytesToHex(priv));
      const pub = publicKeyFromPrivate("secp256k1", priv);
      assert.equal(pub.length, 64);
      assert.equal(bytesToHex(pub), `0x${account.publicKey.slice(4)}`);
      assert.equal(deviceIdFromPublicKey(pub), account.address);
    }
  });

  it("derives the P-256 device id as the last 20 bytes of keccak256(x ‖ y), checksummed", () => {
    const priv = generatePrivateKey("p256");
    const pub = publicKeyFromPrivate("p256", priv);
    assert.deepEqual(pub, p256.getPublicKey(priv, false).slice(1));
    const id = deviceIdFromPublicKey(bytesToHex(pub));
    assert.equal(id.toLowerCase(), `0x${viemKeccak(pub).slice(26)}`);
    assert.notEqual(id, id.toLowerCase());
    assertThrowsTyped(() => deviceIdFromPublicKey(pub.subarray(1)), "InvalidLengthError");
  });

  it("rejects invalid private keys", () => {
    for (const scheme of KEY_SCHEMES) {
      for (const bad of [new Uint8Array(32), new Uint8Array(31).fill(1), hexToBytes(`0x${N[scheme].toString(16)}`)]) {
        assertThrowsTyped(() => publicKeyFromPrivate(scheme, bad), "InvalidKeyError");
        assertThrowsTyped(() => signDigest(scheme, bad, digestOf()), "InvalidKeyError");
      }
      assertThrowsTyped(() => signDigest(scheme, generatePrivateKey(scheme), new Uint8Array(31)), "InvalidArgumentError");
    }
  });

  for (const scheme of KEY_SCHEMES) {
    describe(scheme, () => {
      const priv = generatePrivateKey(scheme);
      const publicKey = publicKeyFromPrivate(scheme, priv);
      const verify = (digest: Uint8Array | Hex, signature: Uint8Array | Hex, key: Uint8Array = publicKey) =>
        verifyDeviceSignature({ scheme, publicKey: key, digest, signature });

      it("round-trips: sign then verify, low-s, deterministic, as hex too", () => {
        for (let i = 0; i < 30; i++) {
          // Same key many times: exercises the P-256 precomputed-key path after the first uses.
          const digest = digestOf();
          const sig = signDigest(scheme, priv, digest);
          assert.equal(sig.length, signatureLength(scheme));
          assert.ok(sOf(sig) <= N[scheme] / 2n);
          assert.deepEqual(signDigest(scheme, priv, digest), sig);
          assert.ok(verify(digest, sig), `signature ${i}`);
          assert.ok(verify(bytesToHex(digest), bytesToHex(sig)));
          if (scheme === "secp256k1") {
            assert.ok(sig[64] === 27 || sig[64] === 28);
            assert.equal(sig.length, 65);
          }
        }
      });

      it("handles digests ≥ n and the zero digest (e reduced mod n, as on-chain)", () => {
        for (const digest of [new Uint8Array(32).fill(0xff), new Uint8Array(32), hexToBytes(`0x${N[scheme].toString(16)}`)]) {
          const sig = signDigest(scheme, priv, digest);
          assert.ok(verify(digest, sig));
          const pub65 = new Uint8Array([4, ...publicKey]);
          const curve = scheme === "secp256k1" ? secp256k1 : p256;
          assert.ok(curve.verify(sig.subarray(0, 64), digest, pub65, { prehash: false }));
        }
      });

      it("agrees with noble's verifier on fresh keys and random tampering", () => {
        const curve = scheme === "secp256k1" ? secp256k1 : p256;
        for (let i = 0; i < 40; i++) {
          const k = generatePrivateKey(scheme);
          const pub = publicKeyFromPrivate(scheme, k);
          const digest = digestOf();
          let sig = signDigest(scheme, k, digest);
          if (i % 2 === 1) {
            sig = sig.slice();
            sig[i % 64] ^= 1 << (i % 8);
          }
          const pub65 = new Uint8Array([4, ...pub]);
          const compact = sig.subarray(0, 64);
          let expected = curve.verify(compact, digest, pub65, { prehash: false, lowS: true });
          if (scheme === "secp256k1" && expected) {
            // noble's compact verify ignores v; ecrecover semantics also need the right v.
            const rec = new Uint8Array([sig[64] - 27, ...compact]);
            expected = secp256k1.verify(rec, digest, pub65, { prehash: false, lowS: true, format: "recovered" });
          }
          assert.equal(verify(digest, sig, pub), expected, `case ${i}`);
        }
      });

      it("rejects high-s (the malleated twin of a valid signature)", () => {
        const digest = digestOf();
        const sig = signDigest(scheme, priv, digest);
        let high = withS(sig, N[scheme] - sOf(sig));
        if (scheme === "secp256k1") high[64] = sig[64] === 27 ? 28 : 27;
        // The twin is mathematically valid…
        const pub65 = new Uint8Array([4, ...publicKey]);
        const curve = scheme === "secp256k1" ? secp256k1 : p256;
        assert.ok(curve.verify(high.subarray(0, 64), digest, pub65, { prehash: false, lowS: false }));
        // …but not accepted, as OZ ECDSA / P256 do not accept it.
        assert.equal(verify(digest, high), false);
        high = withS(sig, N[scheme] / 2n + 1n);
        assert.equal(verify(digest, high), false);
      });

      it("rejects tampered digests, signatures, keys, out-of-range r/s and wrong lengths", () => {
        const digest = digestOf();
        const sig = signDigest(scheme, priv, digest);
        const other = publicKeyFromPrivate(scheme, generatePrivateKey(scheme));
        const flippedDigest = digest.slice();
        flippedDigest[0] ^= 0x80;
        assert.equal(verify(flippedDigest, sig), false);
        assert.equal(verify(digest, sig, other), false);
        for (const at of [0, 31, 32, 63]) {
          const t = sig.slice();
          t[at] ^= 1;
          assert.equal(verify(digest, t), false, `byte ${at}`);
        }
        assert.equal(verify(digest, withR(sig, 0n)), false);
        assert.equal(verify(digest, withS(sig, 0n)), false);
        assert.equal(verify(digest, withR(sig, N[scheme])), false);
        assert.equal(verify(digest, withR(sig, N[scheme] + (BigInt(bytesToHex(sig.subarray(0, 32))) % 1000n))), false);
        const len = signatureLength(scheme);
        assert.equal(verify(digest, sig.subarray(0, len - 1)), false);
        assert.equal(verify(digest, new Uint8Array([...sig, 0])), false);
        assert.equal(verify(digest, new Uint8Array()), false);
        assert.equal(verify(digest, "0xnothex" as Hex), false);
        // A key that is not on the curve.
        const offCurve = publicKey.slice();
        offCurve[63] ^= 1;
        assert.equal(verify(digest, sig, offCurve), false);
        assertThrowsTyped(() => verify(digest, sig, publicKey.subarray(0, 63)), "InvalidKeyError");
        assertThrowsTyped(() => verify(digest.subarray(1), sig), "InvalidArgumentError");
        assertThrowsTyped(
          () => verifyDeviceSignature({ scheme: "rsa" as KeyScheme, publicKey, digest, signature: sig }),
          "InvalidKeyError",
        );
      });

      if (scheme === "p256") {
        it("handles the degenerate cases of the OpenSSL-backed verifier (T = O, doubling, bad coordinates)", () => {
          const Fn = p256.Point.Fn;
          const G = p256.Point.BASE;
          const keyOf = (d: bigint) => p256.getPublicKey(hexToBytes(`0x${d.toString(16).padStart(64, "0")}`), false).slice(1);
          for (let i = 0; i < 10; i++) {
            const e = Fn.create(BigInt(bytesToHex(digestOf())));
            const digest = hexToBytes(`0x${e.toString(16).padStart(64, "0")}`);
            // Doubling: Q = (e/r)·G makes T = Q + (e/r)·G = 2Q. A valid signature there: R = k·G, s = 2e/k.
            let k = Fn.create(BigInt(bytesToHex(digestOf())));
            const r = Fn.create(G.multiply(k).toAffine().x);
            let s = Fn.div(Fn.mul(2n, e), k);
            if (s > N.p256 / 2n) {
              k = Fn.neg(k);
              s = Fn.neg(s);
            }
            const sig = new Uint8Array(64);
            sig.set(hexToBytes(`0x${r.toString(16).padStart(64, "0")}`), 0);
            sig.set(hexToBytes(`0x${s.toString(16).padStart(64, "0")}`), 32);
            const doubling = keyOf(Fn.div(e, r));
            const pub65 = new Uint8Array([4, ...doubling]);
            assert.ok(p256.verify(sig, digest, pub65, { prehash: false }), "reference accepts");
            assert.ok(verify(digest, sig, doubling), "doubling case accepted");
            // T = O: Q = −(e/r)·G, so u1·G + u2·Q is the point at infinity.
            const infinity = keyOf(Fn.neg(Fn.div(e, r)));
            assert.equal(p256.verify(sig, digest, new Uint8Array([4, ...infinity]), { prehash: false }), false);
            assert.equal(verify(digest, sig, infinity), false);
          }
          // Coordinates out of the field, and (0, 0).
          const p = p256.Point.Fp.ORDER;
          const digest = digestOf();
          const sig = signDigest(scheme, priv, digest);
          const big = publicKey.slice();
          big.set(hexToBytes(`0x${p.toString(16)}`), 0);
          assert.equal(verify(digest, sig, big), false);
          assert.equal(verify(digest, sig, new Uint8Array(64)), false);
          assert.equal(verify(digest, sig, new Uint8Array(64).fill(0xff)), false);
        });
      }

      if (scheme === "secp256k1") {
        it("needs v = 27/28 matching the key (ecrecover semantics), and viem recovers the device id", async () => {
          const digest = digestOf();
          const sig = signDigest(scheme, priv, digest);
          assert.equal(await recoverAddress({ hash: bytesToHex(digest), signature: bytesToHex(sig) }), deviceIdFromPublicKey(publicKey));
          const flipV = sig.slice();
          flipV[64] = sig[64] === 27 ? 28 : 27;
          assert.equal(verify(digest, flipV), false);
          for (const v of [0, 1, 29, 255]) {
            const t = sig.slice();
            t[64] = v;
            assert.equal(verify(digest, t), false, `v = ${v}`);
          }
          // A P-256 signature is the wrong length for secp256k1, and the other way round.
          assert.equal(verify(digest, sig.subarray(0, 64)), false);
        });
      }
    });
  }
});

describe("verifyDeviceSignatures (a batch: P-256 inversions shared)", () => {
  /** The single check's answer; a malformed check, where it throws, does not verify. */
  const single = (c: Parameters<typeof verifyDeviceSignature>[0]) => {
    try {
      return verifyDeviceSignature(c);
    } catch {
      return false;
    }
  };

  it("answers what verifyDeviceSignature answers, check by check, in a mixed batch with degenerate and malformed cases", () => {
    const Fn = p256.Point.Fn;
    const G = p256.Point.BASE;
    const hex32 = (x: bigint) => hexToBytes(`0x${x.toString(16).padStart(64, "0")}`);
    const cases: Parameters<typeof verifyDeviceSignature>[0][] = [];
    for (const scheme of KEY_SCHEMES) {
      for (let i = 0; i < 12; i++) {
        const priv = generatePrivateKey(scheme);
        const publicKey = publicKeyFromPrivate(scheme, priv);
        const digest = i === 0 ? new Uint8Array(32) : digestOf(); // e = 0 once: T = Q
        const signature = signDigest(scheme, priv, digest);
        cases.push({ scheme, publicKey, digest, signature });
        const tampered = signature.slice();
        tampered[i % 64] ^= 1;
        cases.push({ scheme, publicKey, digest, signature: tampered });
        cases.push({ scheme, publicKey: publicKeyFromPrivate(scheme, generatePrivateKey(scheme)), digest, signature });
        cases.push({ scheme, publicKey, digest, signature: withS(signature, N[scheme] - sOf(signature)) });
      }
    }
    // P-256 doubling (Q = (e/r)·G) and infinity (Q = −(e/r)·G): the cases the shared inversion must leave to p256Add.
    for (let i = 0; i < 4; i++) {
      const e = Fn.create(BigInt(bytesToHex(digestOf())));
      let k = Fn.create(BigInt(bytesToHex(digestOf())));
      const r = Fn.create(G.multiply(k).toAffine().x);
      let s = Fn.div(Fn.mul(2n, e), k);
      if (s > N.p256 / 2n) [k, s] = [Fn.neg(k), Fn.neg(s)];
      const signature = new Uint8Array([...hex32(r), ...hex32(s)]);
      const keyOf = (d: bigint) => p256.getPublicKey(hex32(d), false).slice(1);
      cases.push({ scheme: "p256", publicKey: keyOf(Fn.div(e, r)), digest: hex32(e), signature });
      cases.push({ scheme: "p256", publicKey: keyOf(Fn.neg(Fn.div(e, r))), digest: hex32(e), signature });
    }
    // Malformed: the single check throws (key or digest length, scheme) or answers false (signature length).
    const good = cases[0];
    cases.push({ ...good, publicKey: new Uint8Array(63) });
    cases.push({ ...good, digest: new Uint8Array(31) });
    cases.push({ ...good, scheme: "rsa" as KeyScheme });
    cases.push({ ...good, signature: new Uint8Array(10) });
    cases.push({ scheme: "p256", publicKey: new Uint8Array(64), digest: digestOf(), signature: new Uint8Array(64).fill(1) });

    const expected = cases.map(single);
    assert.ok(expected.filter(Boolean).length >= 28, "the batch holds valid checks of both schemes and the doubling case");
    assert.deepEqual(verifyDeviceSignatures(cases), expected);
    // Order does not matter: the same answers reversed.
    assert.deepEqual(verifyDeviceSignatures([...cases].reverse()), [...expected].reverse());
    assert.deepEqual(verifyDeviceSignatures([]), []);
  });
});
