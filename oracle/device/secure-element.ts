/**
 * The device's secure element: the one place that holds the device key and signs 32-byte digests.
 *
 * A real device has a hardware element (an eSIM applet, a TPM); {@link SoftwareSecureElement}
 * stands in for it with a password-encrypted key file (scrypt + AES-256-GCM):
 *
 * ```json
 * {
 *   "type": "sensorseal-device-key", "version": 1,
 *   "scheme": "p256", "address": "0x…", "publicKey": "0x…64 bytes x‖y…",
 *   "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "dkLen": 32, "salt": "0x…32 bytes…" },
 *   "cipher": { "name": "aes-256-gcm", "iv": "0x…12 bytes…", "tag": "0x…16 bytes…" },
 *   "ciphertext": "0x…32 bytes…"
 * }
 * ```
 *
 * The header (`type`, `version`, `scheme`, `address`, `publicKey`) is the AES-GCM additional data,
 * so editing it breaks decryption. Files are written atomically (temporary file, fsync, hard link
 * to the final name, which also refuses to overwrite) with mode 0600.
 *
 * @module
 */
import { randomBytes as nodeRandomBytes, createCipheriv, createDecipheriv, scrypt } from "node:crypto";
import { access, link, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";

import { getAddress, type Address, type Hex } from "viem";

import { bytesToHex, hexToBytes } from "../core/bytes.js";
import { InvalidLengthError } from "../core/errors.js";
import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest, type KeyScheme } from "../core/keys.js";
import { InvalidKeyFileError, KeyFileExistsError, KeyFileNotFoundError, WrongPasswordError } from "./errors.js";

export type { KeyScheme };

/**
 * What a device's signing hardware offers: its scheme, its id, its public key, and signing a
 * 32-byte digest (never raw data: the device hashes, the element signs).
 */
export interface SecureElement {
  /** `"secp256k1"` or `"p256"`. */
  readonly scheme: KeyScheme;
  /** Device id: last 20 bytes of keccak256(x ‖ y), checksummed. */
  readonly address: Address;
  /** Uncompressed public key without the 0x04 prefix: 64 bytes x ‖ y. */
  readonly publicKey: Uint8Array;
  /** Signs a 32-byte digest: 65 bytes r‖s‖v (secp256k1) or 64 bytes r‖s (P-256), low-s. */
  sign(digest: Uint8Array): Promise<Uint8Array>;
}

/** scrypt cost parameters of a key file. */
export type ScryptParams = { N: number; r: number; p: number };

/** Default scrypt cost: N = 2^17, r = 8, p = 1 (≈ 128 MiB, a few hundred ms). */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 1 << 17, r: 8, p: 1 });

/** The JSON layout of a key file (version 1). */
export type KeyFileV1 = {
  type: "sensorseal-device-key";
  version: 1;
  scheme: KeyScheme;
  address: Address;
  publicKey: Hex;
  kdf: { name: "scrypt"; N: number; r: number; p: number; dkLen: 32; salt: Hex };
  cipher: { name: "aes-256-gcm"; iv: Hex; tag: Hex };
  ciphertext: Hex;
};

const KEY_FILE_TYPE = "sensorseal-device-key";
const SCHEMES: readonly KeyScheme[] = ["secp256k1", "p256"];

function checkDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) {
    throw new InvalidLengthError("digest", 32, digest instanceof Uint8Array ? digest.length : 0);
  }
}

function deriveKey(password: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize("NFKC"),
      salt,
      32,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

/** The authenticated header: everything in the file but the KDF/cipher parameters and ciphertext. */
function additionalData(file: Pick<KeyFileV1, "type" | "version" | "scheme" | "address" | "publicKey">): Buffer {
  return Buffer.from(JSON.stringify([file.type, file.version, file.scheme, file.address, file.publicKey.toLowerCase()]), "utf8");
}

/** Writes `text` to `file` atomically with mode 0600; fails with KEY_FILE_EXISTS if `file` exists. */
async function writeNewFileAtomically(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${nodeRandomBytes(6).toString("hex")}.tmp`;
  const handle = await open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    try {
      await link(tmp, file); // atomic, and never replaces an existing file
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw error;
      // A file system without hard links: check, then rename (atomic, but racy against a concurrent create).
      if (
        await access(file).then(
          () => true,
          () => false,
        )
      )
        throw Object.assign(new Error("exists"), { code: "EEXIST" });
      await rename(tmp, file);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new KeyFileExistsError(file);
    throw error;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  // Make the new directory entry durable.
  const dir = await open(path.dirname(file), "r").catch(() => undefined);
  if (dir !== undefined) {
    await dir.sync().catch(() => undefined);
    await dir.close();
  }
}

function isHexOf(value: unknown, bytes: number): value is Hex {
  return typeof value === "string" && value.length === 2 + 2 * bytes && /^0x[0-9a-fA-F]*$/.test(value);
}

function parseKeyFile(file: string, text: string): KeyFileV1 {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new InvalidKeyFileError(file, "not JSON", { cause });
  }
  const o = raw as Partial<KeyFileV1> | null;
  if (typeof o !== "object" || o === null) throw new InvalidKeyFileError(file, "not a JSON object");
  if (o.type !== KEY_FILE_TYPE) throw new InvalidKeyFileError(file, `type is not "${KEY_FILE_TYPE}"`);
  if (o.version !== 1) throw new InvalidKeyFileError(file, `unsupported version ${String(o.version)}`);
  if (!SCHEMES.includes(o.scheme as KeyScheme)) throw new InvalidKeyFileError(file, "unknown scheme");
  if (typeof o.address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(o.address))
    throw new InvalidKeyFileError(file, "address is not an address");
  if (!isHexOf(o.publicKey, 64)) throw new InvalidKeyFileError(file, "publicKey is not 64 bytes of hex");
  const kdf = o.kdf;
  if (
    typeof kdf !== "object" ||
    kdf === null ||
    kdf.name !== "scrypt" ||
    kdf.dkLen !== 32 ||
    !Number.isSafeInteger(kdf.N) ||
    kdf.N < 2 ||
    kdf.N > 1 << 22 ||
    (kdf.N & (kdf.N - 1)) !== 0 ||
    !Number.isSafeInteger(kdf.r) ||
    kdf.r < 1 ||
    kdf.r > 64 ||
    !Number.isSafeInteger(kdf.p) ||
    kdf.p < 1 ||
    kdf.p > 16 ||
    !isHexOf(kdf.salt, 32)
  ) {
    throw new InvalidKeyFileError(file, "bad kdf parameters (scrypt, N a power of 2 ≤ 2^22, r ≤ 64, p ≤ 16, 32-byte salt)");
  }
  const cipher = o.cipher;
  if (
    typeof cipher !== "object" ||
    cipher === null ||
    cipher.name !== "aes-256-gcm" ||
    !isHexOf(cipher.iv, 12) ||
    !isHexOf(cipher.tag, 16)
  ) {
    throw new InvalidKeyFileError(file, "bad cipher parameters (aes-256-gcm, 12-byte iv, 16-byte tag)");
  }
  if (!isHexOf(o.ciphertext, 32)) throw new InvalidKeyFileError(file, "ciphertext is not 32 bytes of hex");
  return o as KeyFileV1;
}

/** Options of {@link SoftwareSecureElement.create}. */
export type CreateKeyFileOptions = {
  /** scrypt cost; defaults to {@link DEFAULT_SCRYPT_PARAMS}. Lower only for tests. */
  scrypt?: Partial<ScryptParams>;
  /** Import this 32-byte private key instead of generating one. */
  privateKey?: Uint8Array;
};

/**
 * A software stand-in for a secure element: the private key lives in this process, loaded from
 * a password-encrypted key file ({@link SoftwareSecureElement.create}, {@link SoftwareSecureElement.open})
 * or given directly ({@link SoftwareSecureElement.fromPrivateKey}, for simulations and tests).
 *
 * @example
 * ```ts
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { SoftwareSecureElement } from "./secure-element.js";
 * const file = join(mkdtempSync(join(tmpdir(), "sensorseal-")), "device-1.json");
 * const se = await SoftwareSecureElement.create("p256", file, "correct horse");
 * const again = await SoftwareSecureElement.open(file, "correct horse");
 * again.address === se.address; // true
 * const signature = await again.sign(new Uint8Array(32)); // 64 bytes r‖s
 * ```
 */
export class SoftwareSecureElement implements SecureElement {
  readonly scheme: KeyScheme;
  readonly address: Address;
  readonly publicKey: Uint8Array;
  readonly #privateKey: Uint8Array;

  private constructor(scheme: KeyScheme, privateKey: Uint8Array) {
    this.scheme = scheme;
    this.#privateKey = privateKey;
    this.publicKey = publicKeyFromPrivate(scheme, privateKey);
    this.address = getAddress(deviceIdFromPublicKey(this.publicKey));
  }

  /**
   * An element over a private key already in memory (no file). Meant for simulations and tests.
   *
   * @throws {InvalidKeyError} if the key is not a valid scalar for the scheme.
   * @example
   * ```ts
   * const se = SoftwareSecureElement.fromPrivateKey("secp256k1", new Uint8Array(32).fill(1));
   * se.address; // "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1"
   * ```
   */
  static fromPrivateKey(scheme: KeyScheme, privateKey: Uint8Array): SoftwareSecureElement {
    if (!SCHEMES.includes(scheme)) throw new InvalidKeyFileError("(memory)", `unknown scheme ${String(scheme)}`);
    return new SoftwareSecureElement(scheme, Uint8Array.from(privateKey));
  }

  /**
   * Generates a key (or imports `options.privateKey`), encrypts it under `password` and writes a
   * new key file (mode 0600, atomically; never overwrites).
   *
   * @throws {KeyFileExistsError} if `file` exists.
   * @example
   * ```ts
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * const keys = mkdtempSync(join(tmpdir(), "sensorseal-keys-"));
   * const se = await SoftwareSecureElement.create("secp256k1", join(keys, "device-1.json"), process.env.KEY_PASSWORD ?? "pw");
   * se.address; // "0x…", the device id to register
   * ```
   */
  static async create(
    scheme: KeyScheme,
    file: string,
    password: string,
    options: CreateKeyFileOptions = {},
  ): Promise<SoftwareSecureElement> {
    if (!SCHEMES.includes(scheme)) throw new InvalidKeyFileError(file, `unknown scheme ${String(scheme)}`);
    if (typeof password !== "string") throw new InvalidKeyFileError(file, "password must be a string");
    const privateKey = options.privateKey ? Uint8Array.from(options.privateKey) : generatePrivateKey(scheme);
    const element = new SoftwareSecureElement(scheme, privateKey);
    const params: ScryptParams = { ...DEFAULT_SCRYPT_PARAMS, ...options.scrypt };
    const salt = nodeRandomBytes(32);
    const iv = nodeRandomBytes(12);
    const header = {
      type: KEY_FILE_TYPE,
      version: 1,
      scheme,
      address: element.address,
      publicKey: bytesToHex(element.publicKey),
    } as const;
    const key = await deriveKey(password, salt, params);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(additionalData(header));
    const ciphertext = Buffer.concat([cipher.update(privateKey), cipher.final()]);
    key.fill(0);
    const content: KeyFileV1 = {
      ...header,
      kdf: { name: "scrypt", N: params.N, r: params.r, p: params.p, dkLen: 32, salt: bytesToHex(salt) },
      cipher: { name: "aes-256-gcm", iv: bytesToHex(iv), tag: bytesToHex(cipher.getAuthTag()) },
      ciphertext: bytesToHex(ciphertext),
    };
    await writeNewFileAtomically(file, `${JSON.stringify(content, null, 2)}\n`);
    return element;
  }

  /**
   * Opens a key file made by {@link SoftwareSecureElement.create}.
   *
   * @throws {KeyFileNotFoundError} if there is no file.
   * @throws {WrongPasswordError} if the password is wrong (or the ciphertext or header was altered).
   * @throws {InvalidKeyFileError} if the file is malformed or its key does not match its address.
   * @example
   * ```ts
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * const file = join(mkdtempSync(join(tmpdir(), "sensorseal-")), "device-1.json");
   * const made = await SoftwareSecureElement.create("p256", file, "pw", { scrypt: { N: 1 << 12 } });
   * const se = await SoftwareSecureElement.open(file, "pw");
   * se.address === made.address; // true
   * ```
   */
  static async open(file: string, password: string): Promise<SoftwareSecureElement> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") throw new KeyFileNotFoundError(file, { cause });
      throw cause;
    }
    const content = parseKeyFile(file, text);
    const key = await deriveKey(password, hexToBytes(content.kdf.salt), content.kdf);
    let privateKey: Uint8Array;
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, hexToBytes(content.cipher.iv));
      decipher.setAAD(additionalData(content));
      decipher.setAuthTag(hexToBytes(content.cipher.tag));
      privateKey = new Uint8Array(Buffer.concat([decipher.update(hexToBytes(content.ciphertext)), decipher.final()]));
    } catch (cause) {
      throw new WrongPasswordError(file, { cause });
    } finally {
      key.fill(0);
    }
    let element: SoftwareSecureElement;
    try {
      element = new SoftwareSecureElement(content.scheme, privateKey);
    } catch (cause) {
      throw new InvalidKeyFileError(file, "decrypted key is not a valid private key", { cause });
    }
    if (element.address.toLowerCase() !== content.address.toLowerCase()) {
      throw new InvalidKeyFileError(file, "key does not match the file's address", {
        details: { address: content.address, actual: element.address },
      });
    }
    if (bytesToHex(element.publicKey) !== content.publicKey.toLowerCase()) {
      throw new InvalidKeyFileError(file, "key does not match the file's public key");
    }
    return element;
  }

  /**
   * Signs a 32-byte digest with the device key (low-s; 65 bytes r‖s‖v for secp256k1, 64 bytes r‖s for P-256).
   *
   * @throws {InvalidLengthError} if `digest` is not 32 bytes.
   * @example
   * ```ts
   * const se = SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7));
   * (await se.sign(new Uint8Array(32))).length; // 64
   * ```
   */
  async sign(digest: Uint8Array): Promise<Uint8Array> {
    checkDigest(digest);
    return signDigest(this.scheme, this.#privateKey, digest);
  }

  /**
   * Synchronous {@link SoftwareSecureElement.sign}.
   *
   * @example
   * ```ts
   * SoftwareSecureElement.fromPrivateKey("secp256k1", new Uint8Array(32).fill(7)).signSync(new Uint8Array(32)).length; // 65
   * ```
   */
  signSync(digest: Uint8Array): Uint8Array {
    checkDigest(digest);
    return signDigest(this.scheme, this.#privateKey, digest);
  }
}
