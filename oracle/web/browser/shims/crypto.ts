/**
 * Browser stand-in for the two `node:crypto` pieces the core uses: `randomFillSync` (bytes.ts) and
 * `createECDH("prime256v1")` (signature-verify.ts, where OpenSSL does P-256 scalar multiplications).
 * The signature checks themselves stay in oracle/core/signature-verify.ts: only the scalar multiplications move
 * from OpenSSL to @noble/curves here, so the browser runs the one implementation of each format.
 *
 * @module
 */
import { Buffer } from "buffer";
import { p256 } from "@noble/curves/nist.js";

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** `crypto.randomFillSync` on the Web Crypto API. */
export function randomFillSync<T extends ArrayBufferView>(buffer: T): T {
  crypto.getRandomValues(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
  return buffer;
}

/** The subset of node's ECDH object signature-verify.ts uses, on noble's P-256. */
export interface BrowserEcdh {
  setPrivateKey(key: Uint8Array): void;
  /** 65 bytes 0x04 ‖ x ‖ y. */
  getPublicKey(): Buffer;
  /** The x coordinate (32 bytes) of privateKey · publicKey. */
  computeSecret(publicKey: Uint8Array): Buffer;
}

/** `crypto.createECDH("prime256v1")`. */
export function createECDH(curve: string): BrowserEcdh {
  if (curve !== "prime256v1") throw new Error(`createECDH: only prime256v1 in the browser, not ${curve}`);
  let scalar = 0n;
  return {
    setPrivateKey(key) {
      scalar = BigInt(`0x${hex(key)}`);
      if (scalar === 0n || scalar >= p256.Point.Fn.ORDER) throw new Error("Private key is not valid for specified curve.");
    },
    getPublicKey() {
      return Buffer.from(p256.Point.BASE.multiply(scalar).toBytes(false));
    },
    computeSecret(publicKey) {
      const point = p256.Point.fromBytes(publicKey);
      return Buffer.from(point.multiply(scalar).toBytes(false).subarray(1, 33));
    },
  };
}

export default { randomFillSync, createECDH };
