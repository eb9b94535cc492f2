import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, it } from "node:test";

import { ReadingDigester } from "../../oracle/core/reading.js";
import { hexToBytes } from "../../oracle/core/bytes.js";
import { deviceIdFromPublicKey, verifyDeviceSignature, type KeyScheme } from "../../oracle/core/keys.js";
import { DeviceClient } from "../../oracle/device/client.js";
import { Outbox } from "../../oracle/device/outbox.js";
import { TokenError } from "../../oracle/device/pkcs11-errors.js";
import { acquireModule, pkcs11js, releaseModule, SOFTHSM2_MODULE } from "../../oracle/device/pkcs11-module.js";
import { PKCS11_PIN_ENV, Pkcs11SecureElement } from "../../oracle/device/pkcs11-secure-element.js";
import { formatPkcs11Uri, parsePkcs11Uri } from "../../oracle/device/pkcs11-uri.js";
import { createTestToken, softHsmAvailable, type TestToken } from "./softhsm.js";

const CHAIN_ID = 31337;
const ANCHOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const SCHEMES: KeyScheme[] = ["secp256k1", "p256"];
const skip = softHsmAvailable() ? false : "SoftHSM2 is not installed";

async function code(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof TokenError, `expected a TokenError, got ${String(error)}`);
  return error.code;
}

describe("PKCS#11 URI", () => {
  it("parses token, object, serial and module-path, percent-decoded", () => {
    const uri = parsePkcs11Uri("pkcs11:token=Sensor%20Seal;object=device-1;serial=42?module-path=/usr/lib/x.so");
    assert.deepEqual([uri.token, uri.object, uri.serial, uri.modulePath], ["Sensor Seal", "device-1", "42", "/usr/lib/x.so"]);
    assert.deepEqual(parsePkcs11Uri(formatPkcs11Uri({ token: "a;b", object: "c=d?" })).object, "c=d?");
  });
  it("refuses other schemes, missing token or object, pin-value and bad escapes", () => {
    for (const bad of [
      "file:token=a;object=b",
      "pkcs11:object=b",
      "pkcs11:token=a",
      "pkcs11:token=a;object=b?pin-value=1234",
      "pkcs11:token=a%zz;object=b",
      "pkcs11:token=a;token=b;object=c",
    ]) {
      assert.throws(
        () => parsePkcs11Uri(bad),
        (e: Error & { code?: string }) => e.code === "INVALID_PKCS11_URI",
        bad,
      );
    }
  });
});

describe("Pkcs11SecureElement (SoftHSM2)", { skip }, () => {
  let token: TestToken;
  const open: Pkcs11SecureElement[] = [];
  beforeEach(async () => {
    token = await createTestToken();
  });
  afterEach(async () => {
    for (const se of open.splice(0)) await se.close();
    await token.remove();
  });
  const keep = (se: Pkcs11SecureElement) => (open.push(se), se);

  for (const scheme of SCHEMES) {
    it(`${scheme}: generates in the token; signatures are chain-shaped, low-s and verify with the core`, async () => {
      const se = keep(await Pkcs11SecureElement.generate(scheme, { uri: token.uri(`dev-${scheme}`), pin: token.pin }));
      assert.equal(se.scheme, scheme);
      assert.equal(se.address, deviceIdFromPublicKey(se.publicKey));
      const digester = new ReadingDigester(CHAIN_ID, ANCHOR);
      const n =
        scheme === "secp256k1"
          ? 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
          : 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
      for (let seq = 1; seq <= 12; seq++) {
        const digest = digester.digest({
          device: se.address,
          seq: BigInt(seq),
          timestamp: 1_700_000_000n + BigInt(seq),
          dataHash: `0x${"ab".repeat(32)}`,
        });
        const signature = await se.sign(digest);
        assert.equal(signature.length, scheme === "secp256k1" ? 65 : 64);
        const s = BigInt(`0x${Buffer.from(signature.subarray(32, 64)).toString("hex")}`);
        assert.ok(s <= n >> 1n, "low-s");
        if (scheme === "secp256k1") assert.ok(signature[64] === 27 || signature[64] === 28);
        assert.equal(verifyDeviceSignature({ scheme, publicKey: se.publicKey, digest, signature }), true);
      }
      // Reopened through the URI with the PIN from the environment: the same key.
      process.env[PKCS11_PIN_ENV] = token.pin;
      try {
        const again = keep(await Pkcs11SecureElement.open({ uri: token.uri(`dev-${scheme}`) }));
        assert.equal(again.address, se.address);
      } finally {
        delete process.env[PKCS11_PIN_ENV];
      }
    });
  }

  it("keeps the key in the token: CKA_VALUE is refused, CKA_SENSITIVE set, CKA_EXTRACTABLE clear", async () => {
    keep(await Pkcs11SecureElement.generate("secp256k1", { uri: token.uri("sealed"), pin: token.pin }));
    const lib = pkcs11js();
    const pkcs11 = acquireModule(SOFTHSM2_MODULE);
    try {
      const slot = pkcs11.C_GetSlotList(true).find((s) => pkcs11.C_GetTokenInfo(s).label.trimEnd() === token.label)!;
      const session = pkcs11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION);
      pkcs11.C_FindObjectsInit(session, [
        { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
        { type: lib.CKA_LABEL, value: "sealed" },
      ]);
      const [key] = pkcs11.C_FindObjects(session, 1);
      pkcs11.C_FindObjectsFinal(session);
      assert.ok(key !== undefined);
      assert.throws(() => pkcs11.C_GetAttributeValue(session, key, [{ type: lib.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
      const [sensitive, extractable] = pkcs11.C_GetAttributeValue(session, key, [
        { type: lib.CKA_SENSITIVE },
        { type: lib.CKA_EXTRACTABLE },
      ]);
      assert.equal((sensitive!.value as Buffer)[0], 1);
      assert.equal((extractable!.value as Buffer)[0], 0);
      pkcs11.C_CloseSession(session);
    } finally {
      releaseModule(SOFTHSM2_MODULE);
    }
  });

  it("fails with typed errors: wrong PIN, no PIN, missing token, missing object, existing label", async () => {
    keep(await Pkcs11SecureElement.generate("p256", { uri: token.uri("dev"), pin: token.pin }));
    assert.equal(await code(Pkcs11SecureElement.open({ uri: token.uri("dev"), pin: "9999" })), "TOKEN_PIN_INCORRECT");
    assert.equal(await code(Pkcs11SecureElement.open({ uri: token.uri("dev") })), "TOKEN_PIN_MISSING");
    assert.equal(await code(Pkcs11SecureElement.open({ uri: "pkcs11:token=Nope;object=dev", pin: token.pin })), "TOKEN_NOT_FOUND");
    assert.equal(await code(Pkcs11SecureElement.open({ uri: token.uri("other"), pin: token.pin })), "TOKEN_OBJECT_NOT_FOUND");
    assert.equal(await code(Pkcs11SecureElement.generate("p256", { uri: token.uri("dev"), pin: token.pin })), "TOKEN_OBJECT_EXISTS");
  });

  it("wrong PIN on a token nobody logged in yet is refused by the token itself", async () => {
    assert.equal(await code(Pkcs11SecureElement.generate("p256", { uri: token.uri("dev"), pin: "0000" })), "TOKEN_PIN_INCORRECT");
  });

  it("token gone mid-stream: a typed error, the outbox keeps every unsent reading, nothing signed twice", async () => {
    const se = keep(await Pkcs11SecureElement.generate("secp256k1", { uri: token.uri("field"), pin: token.pin }));
    const outbox = Outbox.open(":memory:");
    const client = DeviceClient.open({
      element: se,
      chainId: CHAIN_ID,
      anchor: ANCHOR,
      platformUrl: "http://127.0.0.1:9", // nothing listens: every reading stays unsent
      relayerUrl: "http://127.0.0.1:9",
      outbox,
    });
    try {
      const sent = [];
      for (let i = 0; i < 3; i++) sent.push(await client.record({ temperature_c: 10 + i }, { ts: 1_700_000_000 + i }));
      await rm(token.tokenDir, { recursive: true, force: true }); // the token is gone
      const failed = await client.record({ temperature_c: 99 }, { ts: 1_700_000_100 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(failed instanceof TokenError);
      assert.equal(failed.code, "TOKEN_UNAVAILABLE");
      // A second attempt tries to reconnect and fails the same way.
      assert.equal(await code(se.sign(new Uint8Array(32))), "TOKEN_UNAVAILABLE");

      // Every reading taken before stays unsent in the outbox; the failed one took no seq.
      assert.equal(outbox.pendingCount("platform"), 3);
      assert.equal(outbox.pendingCount("relayer"), 3);
      assert.equal(outbox.nextSeq(se.address), 4);
      const digester = new ReadingDigester(CHAIN_ID, ANCHOR);
      for (const r of sent) {
        const digest = digester.digest(r.reading);
        assert.equal(
          verifyDeviceSignature({ scheme: "secp256k1", publicKey: se.publicKey, digest, signature: hexToBytes(r.signature) }),
          true,
        );
      }
      assert.deepEqual(
        sent.map((r) => r.seq),
        [1, 2, 3],
      );
    } finally {
      await client.close();
      outbox.close();
    }
  });
});
