import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { privateKeyToAccount } from "viem/accounts";

import { bytesToHex } from "../../oracle/core/bytes.js";
import { deviceIdFromPublicKey, verifyDeviceSignature, type KeyScheme } from "../../oracle/core/keys.js";
import { SoftwareSecureElement, type KeyFileV1 } from "../../oracle/device/secure-element.js";

// Cheap scrypt for tests; the default (N = 2^17) is exercised once below.
const FAST = { scrypt: { N: 1 << 12 } };
const SCHEMES: KeyScheme[] = ["secp256k1", "p256"];

describe("SoftwareSecureElement", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sensorseal-se-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const scheme of SCHEMES) {
    describe(scheme, () => {
      it("round-trips a key file: same address and key, signatures verify", async () => {
        const file = path.join(dir, `${scheme}-roundtrip.json`);
        const created = await SoftwareSecureElement.create(scheme, file, "correct horse battery", FAST);
        assert.equal(created.scheme, scheme);
        assert.equal(created.publicKey.length, 64);
        assert.equal(created.address, deviceIdFromPublicKey(created.publicKey));

        const opened = await SoftwareSecureElement.open(file, "correct horse battery");
        assert.equal(opened.scheme, scheme);
        assert.equal(opened.address, created.address);
        assert.deepEqual(opened.publicKey, created.publicKey);

        const digest = new Uint8Array(32).map((_, i) => i * 7 + 1);
        const signature = await opened.sign(digest);
        assert.equal(signature.length, scheme === "secp256k1" ? 65 : 64);
        assert.equal(verifyDeviceSignature({ scheme, publicKey: created.publicKey, digest, signature }), true);
        // Signed by the same key as before the round trip (RFC 6979: deterministic).
        assert.deepEqual(await created.sign(digest), signature);
        const other = new Uint8Array(32).fill(9);
        assert.equal(verifyDeviceSignature({ scheme, publicKey: created.publicKey, digest: other, signature }), false);
      });

      it("writes a 0600 JSON file with kdf, cipher, scheme and address, and no plaintext key", async () => {
        const file = path.join(dir, `${scheme}-layout.json`);
        const privateKey = new Uint8Array(32).map((_, i) => i + 1);
        const se = await SoftwareSecureElement.create(scheme, file, "pw", { ...FAST, privateKey });
        const mode = (await stat(file)).mode & 0o777;
        assert.equal(mode, 0o600);
        const text = await readFile(file, "utf8");
        const json = JSON.parse(text) as KeyFileV1;
        assert.equal(json.type, "sensorseal-device-key");
        assert.equal(json.version, 1);
        assert.equal(json.scheme, scheme);
        assert.equal(json.address, se.address);
        assert.equal(json.publicKey, bytesToHex(se.publicKey));
        assert.deepEqual(
          { name: json.kdf.name, N: json.kdf.N, r: json.kdf.r, p: json.kdf.p, dkLen: json.kdf.dkLen },
          { name: "scrypt", N: 4096, r: 8, p: 1, dkLen: 32 },
        );
        assert.match(json.kdf.salt, /^0x[0-9a-f]{64}$/);
        assert.equal(json.cipher.name, "aes-256-gcm");
        assert.match(json.cipher.iv, /^0x[0-9a-f]{24}$/);
        assert.match(json.cipher.tag, /^0x[0-9a-f]{32}$/);
        assert.match(json.ciphertext, /^0x[0-9a-f]{64}$/);
        assert.equal(text.includes(bytesToHex(privateKey).slice(2)), false);
        // No temporary file left behind.
        assert.deepEqual(
          (await readdir(dir)).filter((f) => f.endsWith(".tmp")),
          [],
        );
      });

      it("rejects a wrong password with WRONG_PASSWORD", async () => {
        const file = path.join(dir, `${scheme}-wrong.json`);
        await SoftwareSecureElement.create(scheme, file, "right", FAST);
        await assert.rejects(SoftwareSecureElement.open(file, "wrong"), (err: unknown) => {
          assert.equal((err as Error).name, "WrongPasswordError");
          assert.equal((err as { code: string }).code, "WRONG_PASSWORD");
          assert.deepEqual((err as { details: unknown }).details, { file });
          return true;
        });
        await assert.rejects(SoftwareSecureElement.open(file, ""), { code: "WRONG_PASSWORD" });
      });
    });
  }

  it("imports a known secp256k1 key: the device id is its Ethereum address", async () => {
    const privateKey = new Uint8Array(32).fill(1);
    const se = SoftwareSecureElement.fromPrivateKey("secp256k1", privateKey);
    assert.equal(se.address, privateKeyToAccount(bytesToHex(privateKey)).address);
    assert.equal(se.address, "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1");
  });

  it("uses scrypt N = 2^17 by default", async () => {
    const file = path.join(dir, "default-cost.json");
    const se = await SoftwareSecureElement.create("p256", file, "pw");
    const json = JSON.parse(await readFile(file, "utf8")) as KeyFileV1;
    assert.deepEqual([json.kdf.N, json.kdf.r, json.kdf.p], [131072, 8, 1]);
    assert.equal((await SoftwareSecureElement.open(file, "pw")).address, se.address);
  });

  it("never overwrites an existing key file", async () => {
    const file = path.join(dir, "exists.json");
    const first = await SoftwareSecureElement.create("secp256k1", file, "pw", FAST);
    await assert.rejects(SoftwareSecureElement.create("p256", file, "pw", FAST), { code: "KEY_FILE_EXISTS" });
    assert.equal((await SoftwareSecureElement.open(file, "pw")).address, first.address);
  });

  it("detects an edited header (address, scheme) because it is authenticated", async () => {
    const file = path.join(dir, "edited.json");
    await SoftwareSecureElement.create("p256", file, "pw", FAST);
    const json = JSON.parse(await readFile(file, "utf8")) as KeyFileV1;
    const forged = path.join(dir, "edited-address.json");
    await writeFile(forged, JSON.stringify({ ...json, address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }));
    await assert.rejects(SoftwareSecureElement.open(forged, "pw"), { code: "WRONG_PASSWORD" });
    const rescheme = path.join(dir, "edited-scheme.json");
    await writeFile(rescheme, JSON.stringify({ ...json, scheme: "secp256k1" }));
    await assert.rejects(SoftwareSecureElement.open(rescheme, "pw"), { code: "WRONG_PASSWORD" });
  });

  it("answers typed errors for a missing or malformed file", async () => {
    await assert.rejects(SoftwareSecureElement.open(path.join(dir, "nope.json"), "pw"), {
      name: "KeyFileNotFoundError",
      code: "KEY_FILE_NOT_FOUND",
    });
    const bad = path.join(dir, "bad.json");
    await writeFile(bad, "{not json");
    await assert.rejects(SoftwareSecureElement.open(bad, "pw"), { name: "InvalidKeyFileError", code: "INVALID_KEY_FILE" });
    const file = path.join(dir, "weak.json");
    await SoftwareSecureElement.create("p256", file, "pw", FAST);
    const json = JSON.parse(await readFile(file, "utf8")) as KeyFileV1;
    await writeFile(file, JSON.stringify({ ...json, kdf: { ...json.kdf, N: 1000 } }));
    await assert.rejects(SoftwareSecureElement.open(file, "pw"), (err: unknown) => {
      assert.equal((err as { code: string }).code, "INVALID_KEY_FILE");
      assert.match(String((err as { details: { reason: string } }).details.reason), /kdf/);
      return true;
    });
  });

  it("signs only 32-byte digests", async () => {
    const se = SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(3));
    await assert.rejects(se.sign(new Uint8Array(31)), { code: "INVALID_LENGTH" });
  });
});
