/**
 * PKCS#11 URIs (RFC 7512) naming the token and key object of a device's secure element:
 *
 * ```
 * pkcs11:token=SensorSeal;object=device-1?module-path=/usr/lib/softhsm/libsofthsm2.so
 * ```
 *
 * Path attributes (`token`, `object`, `id`, `serial`, `manufacturer`, `model`, `type`, …) and query
 * attributes (`module-path`, `pin-source`, …) are percent-decoded. `pin-value` is refused: a PIN
 * never travels in a URI here, it comes from the environment.
 *
 * @module
 */
import { SensorSealError } from "../core/errors.js";

/** A PKCS#11 URI is malformed or lacks what the secure element needs. */
export class InvalidPkcs11UriError extends SensorSealError {
  override name = "InvalidPkcs11UriError" as const;
  declare readonly code: "INVALID_PKCS11_URI";
  constructor(uri: string, reason: string) {
    super("INVALID_PKCS11_URI", `Invalid PKCS#11 URI: ${reason}.`, { details: { uri: redact(uri), reason } });
  }
}

/** A parsed PKCS#11 URI: what selects the token and the object, and where the module is. */
export type Pkcs11Uri = {
  /** Token label (`token=`). */
  token: string;
  /** Key label (`object=`), the CKA_LABEL of the key pair. */
  object: string;
  /** Token serial number (`serial=`), if given. */
  serial?: string;
  /** PKCS#11 module (`module-path=`), if given. */
  modulePath?: string;
  /** Every path attribute, decoded. */
  path: Readonly<Record<string, string>>;
  /** Every query attribute, decoded. */
  query: Readonly<Record<string, string>>;
};

function redact(uri: string): string {
  return uri.replace(/(pin-value=)[^&;]*/gi, "$1***");
}

function decode(uri: string, value: string): string {
  if (/%(?![0-9a-fA-F]{2})/.test(value)) throw new InvalidPkcs11UriError(uri, "bad percent-encoding");
  return decodeURIComponent(value);
}

function attributes(uri: string, part: string, separator: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (part === "") return out;
  for (const pair of part.split(separator)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new InvalidPkcs11UriError(uri, `attribute "${pair}" is not name=value`);
    const name = pair.slice(0, eq).toLowerCase();
    if (Object.hasOwn(out, name)) throw new InvalidPkcs11UriError(uri, `attribute "${name}" given twice`);
    out[name] = decode(uri, pair.slice(eq + 1));
  }
  return out;
}

/**
 * Parses a PKCS#11 URI naming a key object in a token.
 *
 * @throws {InvalidPkcs11UriError} if it is not a `pkcs11:` URI, has no `token` or `object`, or carries a `pin-value`.
 * @example
 * ```ts
 * const uri = parsePkcs11Uri("pkcs11:token=SensorSeal;object=device%201?module-path=/usr/lib/softhsm/libsofthsm2.so");
 * uri.object; // "device 1"
 * uri.modulePath; // "/usr/lib/softhsm/libsofthsm2.so"
 * ```
 */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (typeof uri !== "string" || !uri.toLowerCase().startsWith("pkcs11:")) {
    throw new InvalidPkcs11UriError(String(uri), 'does not start with "pkcs11:"');
  }
  const rest = uri.slice("pkcs11:".length);
  const q = rest.indexOf("?");
  const path = attributes(uri, q < 0 ? rest : rest.slice(0, q), ";");
  const query = attributes(uri, q < 0 ? "" : rest.slice(q + 1), "&");
  if (Object.hasOwn(query, "pin-value") || Object.hasOwn(path, "pin-value")) {
    throw new InvalidPkcs11UriError(uri, "pin-value is not accepted: give the PIN through the environment");
  }
  const token = path.token;
  const object = path.object;
  if (token === undefined || token === "") throw new InvalidPkcs11UriError(uri, "no token= attribute");
  if (object === undefined || object === "") throw new InvalidPkcs11UriError(uri, "no object= attribute");
  return {
    token,
    object,
    ...(path.serial !== undefined ? { serial: path.serial } : {}),
    ...(query["module-path"] !== undefined ? { modulePath: query["module-path"] } : {}),
    path,
    query,
  };
}

/**
 * Formats a PKCS#11 URI for a token label, a key label and optionally a module path.
 *
 * @example
 * ```ts
 * formatPkcs11Uri({ token: "SensorSeal", object: "device 1" }); // "pkcs11:token=SensorSeal;object=device%201"
 * ```
 */
export function formatPkcs11Uri(parts: { token: string; object: string; modulePath?: string }): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const base = `pkcs11:token=${enc(parts.token)};object=${enc(parts.object)}`;
  return parts.modulePath === undefined ? base : `${base}?module-path=${encodeURI(parts.modulePath)}`;
}
