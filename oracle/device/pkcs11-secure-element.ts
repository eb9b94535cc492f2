/**
 * A {@link SecureElement} whose key never leaves a PKCS#11 token (an HSM, a smart card, an eSIM
 * applet behind a PKCS#11 module; SoftHSM2 in tests and `npm start`).
 *
 * - Named by a PKCS#11 URI (RFC 7512), `pkcs11:token=<label>;object=<key label>?module-path=<.so>`;
 *   the PIN comes from the environment ({@link PKCS11_PIN_ENV}), never from the URI.
 * - Keys are generated inside the token (`CKM_EC_KEY_PAIR_GEN`) with `CKA_SENSITIVE` true and
 *   `CKA_EXTRACTABLE` false, for P-256 and secp256k1 (EC params OID 1.3.132.0.10).
 * - The token signs the 32-byte digest with raw `CKM_ECDSA`; the element normalises `s` to low-s and,
 *   for secp256k1, appends `v` (27/28) found by recovering the key with both ids. Every signature is
 *   checked against the public key before it is returned, so a faulty token never fills the outbox.
 * - A token that goes away (removed, finalized, session lost) fails the signature with a
 *   {@link TokenError} `TOKEN_UNAVAILABLE`; the next signature tries to reconnect and refuses a token
 *   whose key under the same label is not the same key (`TOKEN_KEY_INVALID`).
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { getAddress, type Address } from "viem";

import { bytesToHex } from "../core/bytes.js";
import { InvalidLengthError } from "../core/errors.js";
import { deviceIdFromPublicKey, verifyDeviceSignature, type KeyScheme } from "../core/keys.js";
import { TokenError, isTokenGone } from "./pkcs11-errors.js";
import { SOFTHSM2_MODULE, acquireModule, login, pkcs11js, releaseModule, type Handle, type Pkcs11 } from "./pkcs11-module.js";
import { parsePkcs11Uri, type Pkcs11Uri } from "./pkcs11-uri.js";
import type { SecureElement } from "./secure-element.js";

/** The environment variable holding the token's user PIN. */
export const PKCS11_PIN_ENV = "SENSORSEAL_PKCS11_PIN";

/** DER-encoded named-curve OIDs (CKA_EC_PARAMS). */
const EC_PARAMS: Readonly<Record<KeyScheme, string>> = {
  p256: "06082a8648ce3d030107", // 1.2.840.10045.3.1.7 prime256v1
  secp256k1: "06052b8104000a", // 1.3.132.0.10
};

/** Options of {@link Pkcs11SecureElement.open} and {@link Pkcs11SecureElement.generate}. */
export type Pkcs11ElementOptions = {
  /** `pkcs11:token=…;object=…[?module-path=…]`. */
  uri: string;
  /** The user PIN; defaults to `process.env[SENSORSEAL_PKCS11_PIN]`. */
  pin?: string;
  /** The PKCS#11 module; defaults to the URI's `module-path`, else Debian's SoftHSM2. */
  modulePath?: string;
};

type Resolved = { uri: Pkcs11Uri; pin: string; modulePath: string };

function resolve(options: Pkcs11ElementOptions): Resolved {
  const uri = parsePkcs11Uri(options.uri);
  const pin = options.pin ?? process.env[PKCS11_PIN_ENV];
  if (pin === undefined || pin === "") {
    throw new TokenError("TOKEN_PIN_MISSING", `No PIN for token "${uri.token}": set ${PKCS11_PIN_ENV}.`, { token: uri.token });
  }
  return { uri, pin, modulePath: options.modulePath ?? uri.modulePath ?? SOFTHSM2_MODULE };
}

/** Finds the slot holding the token labelled (and, if given, numbered) as the URI says. */
function findSlot(pkcs11: Pkcs11, uri: Pkcs11Uri): Handle {
  let slots: Handle[];
  try {
    slots = pkcs11.C_GetSlotList(true);
  } catch (cause) {
    throw new TokenError("TOKEN_UNAVAILABLE", "The PKCS#11 module cannot list its slots.", { token: uri.token }, { cause });
  }
  for (const slot of slots) {
    const info = pkcs11.C_GetTokenInfo(slot);
    if (info.label.trimEnd() !== uri.token) continue;
    if (uri.serial !== undefined && info.serialNumber.trimEnd() !== uri.serial) continue;
    return slot;
  }
  throw new TokenError("TOKEN_NOT_FOUND", `No token labelled "${uri.token}" in the PKCS#11 module.`, { token: uri.token });
}

function findObjects(pkcs11: Pkcs11, session: Handle, label: string, objectClass: number): Handle[] {
  const lib = pkcs11js();
  pkcs11.C_FindObjectsInit(session, [
    { type: lib.CKA_CLASS, value: objectClass },
    { type: lib.CKA_LABEL, value: label },
  ]);
  try {
    return pkcs11.C_FindObjects(session, 2);
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
}

/** Decodes CKA_EC_POINT (a DER OCTET STRING around `04 ‖ x ‖ y`, or the bare point) into 64 bytes `x ‖ y`. */
function publicKeyOfPoint(point: Buffer): Uint8Array {
  const bare = point.length === 67 && point[0] === 0x04 && point[1] === 0x41 ? point.subarray(2) : point;
  if (bare.length !== 65 || bare[0] !== 0x04) {
    throw new TokenError("TOKEN_KEY_INVALID", "The token's public key is not an uncompressed EC point.", { length: point.length });
  }
  return new Uint8Array(bare.subarray(1));
}

function schemeOfParams(params: Buffer): KeyScheme {
  const hex = params.toString("hex");
  for (const scheme of ["p256", "secp256k1"] as const) if (EC_PARAMS[scheme] === hex) return scheme;
  throw new TokenError("TOKEN_KEY_INVALID", "The token's key is on neither P-256 nor secp256k1.", { ecParams: hex });
}

type Session = { session: Handle; privateKey: Handle; publicKey: Uint8Array; scheme: KeyScheme };

/** Opens a logged-in session on the URI's token and finds its key pair. */
function openSession(pkcs11: Pkcs11, r: Resolved): Session {
  const lib = pkcs11js();
  const slot = findSlot(pkcs11, r.uri);
  const session = pkcs11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
  try {
    login(r.modulePath, session, `${r.uri.token}/${r.uri.serial ?? ""}`, r.pin);
    const [privateKey, extra] = findObjects(pkcs11, session, r.uri.object, lib.CKO_PRIVATE_KEY);
    const [publicHandle] = findObjects(pkcs11, session, r.uri.object, lib.CKO_PUBLIC_KEY);
    if (privateKey === undefined || publicHandle === undefined) {
      throw new TokenError("TOKEN_OBJECT_NOT_FOUND", `No key pair labelled "${r.uri.object}" on token "${r.uri.token}".`, {
        token: r.uri.token,
        object: r.uri.object,
      });
    }
    if (extra !== undefined) {
      throw new TokenError("TOKEN_KEY_INVALID", `Several keys are labelled "${r.uri.object}".`, { object: r.uri.object });
    }
    const [params, point] = pkcs11.C_GetAttributeValue(session, publicHandle, [{ type: lib.CKA_EC_PARAMS }, { type: lib.CKA_EC_POINT }]);
    const scheme = schemeOfParams(params!.value as Buffer);
    return { session, privateKey, publicKey: publicKeyOfPoint(point!.value as Buffer), scheme };
  } catch (error) {
    pkcs11.C_CloseSession(session);
    throw error;
  }
}

/** Normalises a raw 64-byte `r ‖ s` to low-s and, for secp256k1, appends the `v` that recovers `publicKey`. */
function chainSignature(scheme: KeyScheme, raw: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const curve = scheme === "secp256k1" ? secp256k1 : p256;
  let signature = curve.Signature.fromBytes(raw, "compact");
  const n = curve.Point.Fn.ORDER;
  if (signature.hasHighS()) signature = new curve.Signature(signature.r, n - signature.s);
  const compact = signature.toBytes("compact");
  if (scheme === "p256") return compact;
  const expected = bytesToHex(publicKey);
  for (const recovery of [0, 1]) {
    try {
      const point = signature.addRecoveryBit(recovery).recoverPublicKey(digest);
      if (bytesToHex(point.toBytes(false).subarray(1)) === expected) {
        const out = new Uint8Array(65);
        out.set(compact);
        out[64] = 27 + recovery;
        return out;
      }
    } catch {
      // This recovery id gives no point; try the other.
    }
  }
  throw new TokenError("TOKEN_KEY_INVALID", "The token's signature does not recover its public key.", {});
}

/**
 * A secure element backed by a key pair in a PKCS#11 token.
 *
 * @example
 * ```ts
 * // SOFTHSM2_CONF points at a softhsm2.conf whose token "SensorSeal" was made with
 * // `softhsm2-util --init-token --free --label SensorSeal --pin 1234 --so-pin 5678`.
 * const se = await Pkcs11SecureElement.generate("secp256k1", { uri: "pkcs11:token=SensorSeal;object=device-1", pin: "1234" });
 * (await se.sign(new Uint8Array(32))).length; // 65
 * await se.close();
 * ```
 */
export class Pkcs11SecureElement implements SecureElement {
  readonly scheme: KeyScheme;
  readonly address: Address;
  readonly publicKey: Uint8Array;
  /** The URI the element was opened with. */
  readonly uri: string;
  readonly #resolved: Resolved;
  readonly #pkcs11: Pkcs11;
  #session: Session | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(uri: string, resolved: Resolved, pkcs11: Pkcs11, session: Session) {
    this.uri = uri;
    this.#resolved = resolved;
    this.#pkcs11 = pkcs11;
    this.#session = session;
    this.scheme = session.scheme;
    this.publicKey = session.publicKey;
    this.address = getAddress(deviceIdFromPublicKey(session.publicKey));
  }

  /**
   * Opens the key pair the URI names.
   *
   * @throws {TokenError} `TOKEN_PIN_MISSING`, `PKCS11_MODULE_UNAVAILABLE`, `TOKEN_NOT_FOUND`,
   *   `TOKEN_PIN_INCORRECT`, `TOKEN_OBJECT_NOT_FOUND` or `TOKEN_KEY_INVALID`.
   * @example
   * ```ts
   * const se = await Pkcs11SecureElement.open({ uri: "pkcs11:token=SensorSeal;object=device-1" }); // PIN from SENSORSEAL_PKCS11_PIN
   * se.address; // "0x…"
   * ```
   */
  static async open(options: Pkcs11ElementOptions): Promise<Pkcs11SecureElement> {
    const resolved = resolve(options);
    const pkcs11 = acquireModule(resolved.modulePath);
    try {
      return new Pkcs11SecureElement(options.uri, resolved, pkcs11, openSession(pkcs11, resolved));
    } catch (error) {
      releaseModule(resolved.modulePath);
      throw mapError(error, resolved);
    }
  }

  /**
   * Generates a key pair inside the token under the URI's `object` label (sensitive, not
   * extractable, persistent) and opens it. Refuses a label already in use.
   *
   * @throws {TokenError} as {@link Pkcs11SecureElement.open}, and `TOKEN_OBJECT_EXISTS`.
   * @example
   * ```ts
   * const se = await Pkcs11SecureElement.generate("p256", { uri: "pkcs11:token=SensorSeal;object=device-2", pin: "1234" });
   * se.publicKey.length; // 64
   * ```
   */
  static async generate(scheme: KeyScheme, options: Pkcs11ElementOptions): Promise<Pkcs11SecureElement> {
    const resolved = resolve(options);
    const lib = pkcs11js();
    const pkcs11 = acquireModule(resolved.modulePath);
    try {
      const slot = findSlot(pkcs11, resolved.uri);
      const session = pkcs11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
      try {
        login(resolved.modulePath, session, `${resolved.uri.token}/${resolved.uri.serial ?? ""}`, resolved.pin);
        const label = resolved.uri.object;
        if (findObjects(pkcs11, session, label, lib.CKO_PRIVATE_KEY).length > 0) {
          throw new TokenError("TOKEN_OBJECT_EXISTS", `A key labelled "${label}" is already on token "${resolved.uri.token}".`, {
            token: resolved.uri.token,
            object: label,
          });
        }
        const ecParams = EC_PARAMS[scheme];
        if (ecParams === undefined) throw new TokenError("TOKEN_KEY_INVALID", `Unknown key scheme ${String(scheme)}.`, {});
        pkcs11.C_GenerateKeyPair(
          session,
          { mechanism: lib.CKM_EC_KEY_PAIR_GEN },
          [
            { type: lib.CKA_TOKEN, value: true },
            { type: lib.CKA_LABEL, value: label },
            { type: lib.CKA_EC_PARAMS, value: Buffer.from(ecParams, "hex") },
            { type: lib.CKA_VERIFY, value: true },
          ],
          [
            { type: lib.CKA_TOKEN, value: true },
            { type: lib.CKA_LABEL, value: label },
            { type: lib.CKA_PRIVATE, value: true },
            { type: lib.CKA_SENSITIVE, value: true },
            { type: lib.CKA_EXTRACTABLE, value: false },
            { type: lib.CKA_SIGN, value: true },
          ],
        );
      } finally {
        pkcs11.C_CloseSession(session);
      }
      return new Pkcs11SecureElement(options.uri, resolved, pkcs11, openSession(pkcs11, resolved));
    } catch (error) {
      releaseModule(resolved.modulePath);
      throw mapError(error, resolved);
    }
  }

  /**
   * Signs a 32-byte digest inside the token: 65 bytes `r ‖ s ‖ v` (secp256k1) or 64 bytes `r ‖ s` (P-256), low-s.
   * Signatures are made one at a time per element (a PKCS#11 session runs one operation).
   *
   * @throws {InvalidLengthError} if `digest` is not 32 bytes.
   * @throws {TokenError} `TOKEN_UNAVAILABLE` if the token went away; nothing was signed.
   * @example
   * ```ts
   * const signature = await se.sign(digest); // verifies with verifyDeviceSignature({ scheme: se.scheme, publicKey: se.publicKey, digest, signature })
   * ```
   */
  sign(digest: Uint8Array): Promise<Uint8Array> {
    if (!(digest instanceof Uint8Array) || digest.length !== 32) {
      return Promise.reject(new InvalidLengthError("digest", 32, digest instanceof Uint8Array ? digest.length : 0));
    }
    const run = this.#queue.then(() => this.#signNow(Uint8Array.from(digest)));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #signNow(digest: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new TokenError("TOKEN_UNAVAILABLE", "The secure element is closed.", { uri: this.uri });
    const session = this.#session ?? this.#reconnect();
    const lib = pkcs11js();
    let raw: Buffer;
    try {
      this.#pkcs11.C_SignInit(session.session, { mechanism: lib.CKM_ECDSA }, session.privateKey);
      raw = await this.#pkcs11.C_SignAsync(session.session, Buffer.from(digest), Buffer.alloc(132));
    } catch (error) {
      if (isTokenGone(error)) this.#drop();
      throw mapError(error, this.#resolved);
    }
    if (raw.length !== 64)
      throw new TokenError("TOKEN_KEY_INVALID", "The token's ECDSA signature is not 64 bytes.", { length: raw.length });
    const signature = chainSignature(this.scheme, new Uint8Array(raw), digest, this.publicKey);
    if (!verifyDeviceSignature({ scheme: this.scheme, publicKey: this.publicKey, digest, signature })) {
      throw new TokenError("TOKEN_KEY_INVALID", "The token's signature does not verify with its public key.", {});
    }
    return signature;
  }

  /** Reopens a session after the token went away; the key under the label must be the same key. */
  #reconnect(): Session {
    let session: Session;
    try {
      session = openSession(this.#pkcs11, this.#resolved);
    } catch (error) {
      throw mapError(error, this.#resolved, true);
    }
    if (bytesToHex(session.publicKey) !== bytesToHex(this.publicKey)) {
      this.#pkcs11.C_CloseSession(session.session);
      throw new TokenError("TOKEN_KEY_INVALID", `The key labelled "${this.#resolved.uri.object}" is not this device's key.`, {
        address: this.address,
      });
    }
    this.#session = session;
    return session;
  }

  #drop(): void {
    const session = this.#session;
    this.#session = undefined;
    if (session === undefined) return;
    try {
      this.#pkcs11.C_CloseSession(session.session);
    } catch {
      // The session is already gone with the token.
    }
  }

  /** Closes the session and releases the module (the last element finalizes it). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#queue;
    this.#closed = true;
    this.#drop();
    releaseModule(this.#resolved.modulePath);
  }
}

/** Maps a pkcs11js failure to a {@link TokenError}; typed errors pass through. */
function mapError(error: unknown, r: Resolved, reconnecting = false): Error {
  if (error instanceof TokenError) {
    if (reconnecting && (error.code === "TOKEN_NOT_FOUND" || error.code === "TOKEN_OBJECT_NOT_FOUND")) {
      return new TokenError(
        "TOKEN_UNAVAILABLE",
        `Token "${r.uri.token}" is gone: ${error.shortMessage}`,
        { token: r.uri.token },
        { cause: error },
      );
    }
    return error;
  }
  if (error instanceof Error && (error as { code?: unknown }).code === "INVALID_LENGTH") return error;
  return new TokenError(
    "TOKEN_UNAVAILABLE",
    `Token "${r.uri.token}" failed or went away.`,
    { token: r.uri.token, object: r.uri.object },
    { cause: error },
  );
}
