/**
 * Loading PKCS#11 modules once per process. `C_Initialize` may run once per module and process, and
 * a login holds for every session of the application on that token, so elements share one loaded
 * module per path (reference-counted: the last {@link releaseModule} finalizes it) and remember
 * which PIN logged each token in.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

import type * as Pkcs11Types from "pkcs11js";

import { TokenError, ckrOf } from "./pkcs11-errors.js";

/** The pkcs11js module namespace (constants and the PKCS11 class). */
export type Pkcs11Lib = typeof Pkcs11Types;
/** A loaded PKCS#11 module. */
export type Pkcs11 = Pkcs11Types.PKCS11;
/** A PKCS#11 handle (slot, session, object). */
export type Handle = Buffer;

/** Debian's SoftHSM2 module, the default. */
export const SOFTHSM2_MODULE = "/usr/lib/softhsm/libsofthsm2.so";

type Loaded = { pkcs11: Pkcs11; refs: number; pins: Map<string, string> };
const loaded = new Map<string, Loaded>();
const require = createRequire(import.meta.url);
let lib: Pkcs11Lib | undefined;

/**
 * The pkcs11js binding, or a {@link TokenError} `PKCS11_MODULE_UNAVAILABLE` if it cannot load.
 *
 * @example
 * ```ts
 * pkcs11js().CKM_ECDSA; // 4161
 * ```
 */
export function pkcs11js(): Pkcs11Lib {
  if (lib !== undefined) return lib;
  try {
    lib = require("pkcs11js") as Pkcs11Lib;
  } catch (cause) {
    throw new TokenError("PKCS11_MODULE_UNAVAILABLE", "The pkcs11js binding cannot be loaded.", {}, { cause });
  }
  return lib;
}

/**
 * Whether a PKCS#11 module file exists and the binding loads: what `npm start` checks before using
 * a token instead of key files.
 *
 * @example
 * ```ts
 * isPkcs11Available(); // true where Debian's softhsm2 is installed
 * ```
 */
export function isPkcs11Available(modulePath: string = SOFTHSM2_MODULE): boolean {
  if (!existsSync(modulePath)) return false;
  try {
    pkcs11js();
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads and initializes a module (or takes another reference to it). Pair with {@link releaseModule}.
 *
 * @throws {TokenError} `PKCS11_MODULE_UNAVAILABLE` if the module cannot be loaded or initialized.
 */
export function acquireModule(modulePath: string): Pkcs11 {
  const known = loaded.get(modulePath);
  if (known !== undefined) {
    known.refs += 1;
    return known.pkcs11;
  }
  const { PKCS11 } = pkcs11js();
  const pkcs11 = new PKCS11();
  try {
    pkcs11.load(modulePath);
    pkcs11.C_Initialize();
  } catch (cause) {
    throw new TokenError("PKCS11_MODULE_UNAVAILABLE", `PKCS#11 module ${modulePath} cannot be loaded.`, { modulePath }, { cause });
  }
  loaded.set(modulePath, { pkcs11, refs: 1, pins: new Map() });
  return pkcs11;
}

/** Drops a reference taken by {@link acquireModule}; the last one finalizes the module. */
export function releaseModule(modulePath: string): void {
  const known = loaded.get(modulePath);
  if (known === undefined) return;
  known.refs -= 1;
  if (known.refs > 0) return;
  loaded.delete(modulePath);
  try {
    known.pkcs11.C_Finalize();
  } catch {
    // Already finalized or the token is gone: nothing left to release.
  }
  try {
    known.pkcs11.close();
  } catch {
    // Some modules refuse dlclose; the process keeps the mapping.
  }
}

const pinDigest = (pin: string) => createHash("sha256").update(pin, "utf8").digest("hex");

/**
 * Logs a session in as the user. A token stays logged in for every session of this process, so a
 * second login answers CKR_USER_ALREADY_LOGGED_IN whatever the PIN: the PIN that logged the token in
 * is remembered (as a hash) and a different one is refused as the token would.
 *
 * @throws {TokenError} `TOKEN_PIN_INCORRECT` on a wrong PIN (or a locked one).
 */
export function login(modulePath: string, session: Handle, tokenKey: string, pin: string): void {
  const known = loaded.get(modulePath);
  if (known === undefined) throw new TokenError("TOKEN_UNAVAILABLE", "The PKCS#11 module is not loaded.", { modulePath });
  const { CKU_USER } = pkcs11js();
  try {
    known.pkcs11.C_Login(session, CKU_USER, pin);
    known.pins.set(tokenKey, pinDigest(pin));
  } catch (cause) {
    const ckr = ckrOf(cause);
    if (ckr === "CKR_USER_ALREADY_LOGGED_IN") {
      const previous = known.pins.get(tokenKey);
      if (previous === undefined || previous === pinDigest(pin)) return;
      throw new TokenError("TOKEN_PIN_INCORRECT", "The token refused the PIN.", { token: tokenKey });
    }
    if (ckr === "CKR_PIN_INCORRECT" || ckr === "CKR_PIN_LOCKED" || ckr === "CKR_PIN_LEN_RANGE" || ckr === "CKR_PIN_INVALID") {
      throw new TokenError("TOKEN_PIN_INCORRECT", `The token refused the PIN (${ckr}).`, { token: tokenKey }, { cause });
    }
    throw new TokenError("TOKEN_UNAVAILABLE", "Login to the token failed.", { token: tokenKey }, { cause });
  }
}
