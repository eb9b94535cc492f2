/**
 * Operator-attested provisioning (docs/PROVISIONING.md): the EIP-712 attestation an eSIM issuer
 * signs for a device key generated in its token, and the device's proof of possession over it.
 * The same bytes as `DeviceRegistry.attestationDigest` / `proofOfPossessionDigest` on-chain.
 *
 * - Domain: the registry's, `{ name: "SensorSeal Registry", version: "1", chainId, verifyingContract: registry }`.
 * - `DeviceAttestation(address issuer,uint8 scheme,bytes publicKey,bytes32 esimHash,address beneficiary,bytes32 metadataHash,uint64 validAfter,uint64 validUntil)`
 *   signed by the issuer (65-byte secp256k1 `r ‖ s ‖ v`, or ERC-1271 on-chain).
 * - `ProofOfPossession(bytes32 attestationHash)` signed by the device key in its scheme's format.
 * - `esimHash = keccak256(utf8("SensorSeal eSIM v1:" ‖ eSIM id))`: the id itself never leaves the issuer.
 *
 * @module
 */
import { getAddress, hashStruct, hashTypedData, recoverAddress, type Address, type Hex } from "viem";

import { bytesToHex, hexToBytes } from "./bytes.js";
import { SensorSealError } from "./errors.js";
import { keccak256 } from "./keccak.js";
import { deviceIdFromPublicKey, keySchemeId, verifyDeviceSignature, type KeyScheme } from "./keys.js";

/** The prefix hashed with an eSIM id: domain separation from any other hash of the same digits. */
export const ESIM_HASH_PREFIX = "SensorSeal eSIM v1:";

/** The registry's EIP-712 domain name and version. */
export const REGISTRY_DOMAIN_NAME = "SensorSeal Registry";
export const REGISTRY_DOMAIN_VERSION = "1";

/** EIP-712 types of the attestation and of the proof of possession. */
export const ATTESTATION_TYPES = {
  DeviceAttestation: [
    { name: "issuer", type: "address" },
    { name: "scheme", type: "uint8" },
    { name: "publicKey", type: "bytes" },
    { name: "esimHash", type: "bytes32" },
    { name: "beneficiary", type: "address" },
    { name: "metadataHash", type: "bytes32" },
    { name: "validAfter", type: "uint64" },
    { name: "validUntil", type: "uint64" },
  ],
} as const;
export const PROOF_OF_POSSESSION_TYPES = { ProofOfPossession: [{ name: "attestationHash", type: "bytes32" }] } as const;

/** The registry domain on one chain. */
export type RegistryDomain = { name: string; version: string; chainId: number; verifyingContract: Address };

/** An issuer's attestation of a device key (JSON-friendly: hex strings, decimal-safe bigints). */
export type DeviceAttestation = {
  issuer: Address;
  scheme: KeyScheme;
  /** 64 bytes `x ‖ y`. */
  publicKey: Hex;
  esimHash: Hex;
  beneficiary: Address;
  metadataHash: Hex;
  validAfter: bigint;
  validUntil: bigint;
};

/** Codes of {@link AttestationError}; the same refusals as the registry's custom errors. */
export type AttestationErrorCode =
  | "ATTESTATION_UNKNOWN_ISSUER"
  | "ATTESTATION_ISSUER_REVOKED"
  | "ATTESTATION_INVALID_SIGNATURE"
  | "ATTESTATION_NOT_VALID"
  | "ATTESTATION_INVALID_PROOF"
  | "ATTESTATION_MALFORMED";

/** An attestation or its proof of possession is refused. */
export class AttestationError extends SensorSealError {
  override name = "AttestationError" as const;
  declare readonly code: AttestationErrorCode;
  constructor(code: AttestationErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
  }
}

/**
 * The registry's EIP-712 domain.
 *
 * @example
 * ```ts
 * registryDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3").name; // "SensorSeal Registry"
 * ```
 */
export function registryDomain(chainId: number, registry: Address): RegistryDomain {
  return { name: REGISTRY_DOMAIN_NAME, version: REGISTRY_DOMAIN_VERSION, chainId, verifyingContract: getAddress(registry) };
}

/**
 * The hash of an eSIM identity as it appears in an attestation and on-chain.
 *
 * @example
 * ```ts
 * esimHash("89440000000000000001"); // "0x…" keccak256("SensorSeal eSIM v1:89440000000000000001")
 * ```
 */
export function esimHash(esimId: string): Hex {
  if (typeof esimId !== "string" || esimId.length === 0)
    throw new AttestationError("ATTESTATION_MALFORMED", "An eSIM id must be a non-empty string.");
  return bytesToHex(keccak256(new TextEncoder().encode(`${ESIM_HASH_PREFIX}${esimId}`)));
}

function message(a: DeviceAttestation) {
  return { ...a, scheme: keySchemeId(a.scheme) };
}

/**
 * The attestation's EIP-712 struct hash (what the proof of possession signs over).
 *
 * @example
 * ```ts
 * attestationHash(attestation); // "0x…32 bytes…"
 * ```
 */
export function attestationHash(a: DeviceAttestation): Hex {
  return hashStruct({ data: message(a), primaryType: "DeviceAttestation", types: ATTESTATION_TYPES });
}

/**
 * The digest the issuer signs; equals `DeviceRegistry.attestationDigest(attestation)`.
 *
 * @example
 * ```ts
 * const digest = attestationDigest(registryDomain(31337, registry), attestation);
 * ```
 */
export function attestationDigest(domain: RegistryDomain, a: DeviceAttestation): Hex {
  return hashTypedData({ domain, types: ATTESTATION_TYPES, primaryType: "DeviceAttestation", message: message(a) });
}

/**
 * The digest the device key signs as its proof of possession; equals `DeviceRegistry.proofOfPossessionDigest(attestation)`.
 *
 * @example
 * ```ts
 * const pop = await element.sign(hexToBytes(proofOfPossessionDigest(domain, attestation)));
 * ```
 */
export function proofOfPossessionDigest(domain: RegistryDomain, a: DeviceAttestation): Hex {
  return hashTypedData({
    domain,
    types: PROOF_OF_POSSESSION_TYPES,
    primaryType: "ProofOfPossession",
    message: { attestationHash: attestationHash(a) },
  });
}

/** What the checker knows of an issuer (from the registry index): when it was added and revoked, in seconds. */
export type IssuerRecord = { addedAt: number; revokedAt: number };

/** Parameters of {@link checkAttestation}. */
export type CheckAttestationParameters = {
  domain: RegistryDomain;
  attestation: DeviceAttestation;
  issuerSignature: Hex;
  proofOfPossession: Hex;
  /** The time to judge the validity window at, in seconds. */
  now: number;
  /** The issuer's record, or undefined for an unknown issuer. */
  issuer: IssuerRecord | undefined;
};

/**
 * Checks an attestation and its proof of possession as the registry will, before spending gas:
 * known and unrevoked issuer, validity window, issuer signature (EOA), proof by the attested key.
 * Resolves to the device id.
 *
 * @throws {AttestationError} with the code of the first refusal.
 * @example
 * ```ts
 * const device = await checkAttestation({ domain, attestation, issuerSignature, proofOfPossession, now: Date.now() / 1000, issuer: { addedAt: 1, revokedAt: 0 } });
 * ```
 */
export async function checkAttestation(p: CheckAttestationParameters): Promise<Address> {
  const a = p.attestation;
  let device: Address;
  try {
    device = deviceIdFromPublicKey(a.publicKey);
  } catch {
    throw new AttestationError("ATTESTATION_MALFORMED", "The attested public key is not 64 bytes.");
  }
  if (p.issuer === undefined || p.issuer.addedAt === 0)
    throw new AttestationError("ATTESTATION_UNKNOWN_ISSUER", `Issuer ${a.issuer} is not recorded.`, { issuer: a.issuer });
  if (p.issuer.revokedAt !== 0) {
    throw new AttestationError("ATTESTATION_ISSUER_REVOKED", `Issuer ${a.issuer} is revoked.`, {
      issuer: a.issuer,
      revokedAt: p.issuer.revokedAt,
    });
  }
  if (BigInt(Math.floor(p.now)) < a.validAfter || BigInt(Math.floor(p.now)) > a.validUntil) {
    throw new AttestationError("ATTESTATION_NOT_VALID", "The attestation is outside its validity window.", {
      validAfter: a.validAfter.toString(),
      validUntil: a.validUntil.toString(),
    });
  }
  const signer = await recoverAddress({ hash: attestationDigest(p.domain, a), signature: p.issuerSignature }).catch(() => undefined);
  if (signer === undefined || signer.toLowerCase() !== a.issuer.toLowerCase()) {
    throw new AttestationError("ATTESTATION_INVALID_SIGNATURE", `The attestation is not signed by issuer ${a.issuer}.`, {
      issuer: a.issuer,
    });
  }
  const possessed = verifyDeviceSignature({
    scheme: a.scheme,
    publicKey: a.publicKey,
    digest: hexToBytes(proofOfPossessionDigest(p.domain, a)),
    signature: p.proofOfPossession,
  });
  if (!possessed)
    throw new AttestationError("ATTESTATION_INVALID_PROOF", `The proof of possession is not signed by device ${device}.`, { device });
  return device;
}

/** An attestation as JSON (bigints as decimal strings). */
export type DeviceAttestationJson = Omit<DeviceAttestation, "validAfter" | "validUntil"> & { validAfter: string; validUntil: string };

/** {@link DeviceAttestation} → JSON. */
export function attestationToJson(a: DeviceAttestation): DeviceAttestationJson {
  return { ...a, validAfter: a.validAfter.toString(), validUntil: a.validUntil.toString() };
}

/**
 * JSON → {@link DeviceAttestation}, checking every field's shape.
 *
 * @throws {AttestationError} `ATTESTATION_MALFORMED`.
 */
export function attestationFromJson(json: unknown): DeviceAttestation {
  const o = json as Partial<DeviceAttestationJson> | null;
  const hex = (v: unknown, bytes: number) => typeof v === "string" && new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`).test(v);
  const uint = (v: unknown) => typeof v === "string" && /^[0-9]{1,20}$/.test(v) && BigInt(v) < 1n << 64n;
  if (
    typeof o !== "object" ||
    o === null ||
    !hex(o.issuer, 20) ||
    (o.scheme !== "secp256k1" && o.scheme !== "p256") ||
    !hex(o.publicKey, 64) ||
    !hex(o.esimHash, 32) ||
    !hex(o.beneficiary, 20) ||
    !hex(o.metadataHash, 32) ||
    !uint(o.validAfter) ||
    !uint(o.validUntil)
  ) {
    throw new AttestationError("ATTESTATION_MALFORMED", "The attestation is not well-formed.");
  }
  return {
    issuer: getAddress(o.issuer!),
    scheme: o.scheme,
    publicKey: o.publicKey!.toLowerCase() as Hex,
    esimHash: o.esimHash!.toLowerCase() as Hex,
    beneficiary: getAddress(o.beneficiary!),
    metadataHash: o.metadataHash!.toLowerCase() as Hex,
    validAfter: BigInt(o.validAfter!),
    validUntil: BigInt(o.validUntil!),
  };
}
