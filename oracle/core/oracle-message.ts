/**
 * The oracle message: what the oracle committee signs to post a reward root on the reward chain.
 *
 * `OracleMessage(uint256 sourceChainId,uint256 destinationChainId,address distributor,uint64 epoch,bytes32 root,
 * uint256 cumulativeTotal,uint64 fromBlock,uint64 toBlock,uint32 rulesVersion,uint32 oracleSetVersion,
 * TokenTotal[] tokenTotals)TokenTotal(address token,uint256 cumulativeTotal)` in the reward domain
 * `{ name: "SensorSeal Rewards", version: "1", chainId: reward chain, verifyingContract: distributor }`
 * (docs/MARKET.md §6). `cumulativeTotal` is the reward token's; `tokenTotals` the settlement tokens',
 * strictly ascending by token address.
 *
 * The EIP-712 `encodeData` of a message is the 320-byte `abi.encode` of its ten static fields followed by
 * `keccak256(concat(hashStruct(TokenTotal_i)))`; the digest hashes `typehash ‖ those 352 bytes`. Oracles sign with secp256k1 keys (65 bytes `r ‖ s ‖ v`, low-s), and
 * the distributor takes the signatures in strictly ascending order of signer address
 * ({@link sortOracleSignatures}).
 *
 * @module
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { getAddress, type Address, type Hex } from "viem";

import { bytesToHex, toBytes, type BytesLike } from "./bytes.js";
import { InvalidArgumentError, InvalidSignatureError, SensorSealError } from "./errors.js";
import { StaticStructEncoder, TypedDataDigester } from "./eip712.js";
import { keccak256 } from "./keccak.js";
import { deviceIdFromPublicKey, publicKeyFromPrivate, signDigest } from "./keys.js";
import { rewardDomain, rewardDomainSeparator, type RewardDomain, type TokenTotal } from "./reward.js";

/** An oracle message (uint256 and uint64 fields as bigints, uint32 fields as numbers, as viem types them). */
export type OracleMessage = {
  /** The audit chain the rewards were computed from. */
  sourceChainId: bigint;
  /** The reward chain. */
  destinationChainId: bigint;
  /** The RewardDistributor. */
  distributor: Address;
  /** The epoch, above the last posted one. */
  epoch: bigint;
  /** The reward tree's root. */
  root: Hex;
  /** The sum of every cumulative entitlement. */
  cumulativeTotal: bigint;
  /** The first audit-chain block covered. */
  fromBlock: bigint;
  /** The last audit-chain block covered. */
  toBlock: bigint;
  /** The reward rules version. */
  rulesVersion: number;
  /** The oracle set version whose members sign. */
  oracleSetVersion: number;
  /**
   * Settlement tokens' cumulative totals, strictly ascending by token address, never the reward token;
   * empty for none (a token left out keeps its last posted total on-chain).
   */
  tokenTotals: readonly TokenTotal[];
};

/** A {@link TokenTotal} in JSON form. */
export type TokenTotalJson = { token: Address; cumulativeTotal: string };

/** An {@link OracleMessage} in JSON form: bigints as decimal strings. */
export type OracleMessageJson = {
  sourceChainId: string;
  destinationChainId: string;
  distributor: Address;
  epoch: string;
  root: Hex;
  cumulativeTotal: string;
  fromBlock: string;
  toBlock: string;
  rulesVersion: number;
  oracleSetVersion: number;
  tokenTotals: TokenTotalJson[];
};

/** One oracle's signature over a message, with the oracle's address. */
export type OracleSignature = {
  signer: Address;
  signature: Hex;
};

/** An oracle message does not have the form the distributor takes. */
export class InvalidOracleMessageError extends SensorSealError {
  override name = "InvalidOracleMessageError" as const;
  declare readonly code: "INVALID_ORACLE_MESSAGE";
  constructor(field: string, reason: string) {
    super("INVALID_ORACLE_MESSAGE", `Invalid oracle message field "${field}": ${reason}.`, {
      details: { field, reason },
    });
  }
}

/** The EIP-712 type string of a token total, referenced by the oracle message. */
export const TOKEN_TOTAL_TYPE = "TokenTotal(address token,uint256 cumulativeTotal)";

/** The EIP-712 type string of an oracle message (its own type, then the referenced `TokenTotal`). */
export const ORACLE_MESSAGE_TYPE =
  "OracleMessage(uint256 sourceChainId,uint256 destinationChainId,address distributor,uint64 epoch,bytes32 root," +
  "uint256 cumulativeTotal,uint64 fromBlock,uint64 toBlock,uint32 rulesVersion,uint32 oracleSetVersion," +
  "TokenTotal[] tokenTotals)" +
  TOKEN_TOTAL_TYPE;

/** viem / wallet typed-data types of an oracle message. */
export const ORACLE_MESSAGE_TYPES = {
  OracleMessage: [
    { name: "sourceChainId", type: "uint256" },
    { name: "destinationChainId", type: "uint256" },
    { name: "distributor", type: "address" },
    { name: "epoch", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "cumulativeTotal", type: "uint256" },
    { name: "fromBlock", type: "uint64" },
    { name: "toBlock", type: "uint64" },
    { name: "rulesVersion", type: "uint32" },
    { name: "oracleSetVersion", type: "uint32" },
    { name: "tokenTotals", type: "TokenTotal[]" },
  ],
  TokenTotal: [
    { name: "token", type: "address" },
    { name: "cumulativeTotal", type: "uint256" },
  ],
} as const;

const TYPEHASH = keccak256(new TextEncoder().encode(ORACLE_MESSAGE_TYPE));
const TOKEN_TOTAL_TYPEHASH = keccak256(new TextEncoder().encode(TOKEN_TOTAL_TYPE));

/** `keccak256(TOKEN_TOTAL_TYPE)`. */
export const TOKEN_TOTAL_TYPEHASH_HEX: Hex = bytesToHex(TOKEN_TOTAL_TYPEHASH);

/** `keccak256(ORACLE_MESSAGE_TYPE)`. */
export const ORACLE_MESSAGE_TYPEHASH: Hex = bytesToHex(TYPEHASH);

const SECP256K1_HALF_N = secp256k1.Point.Fn.ORDER >> 1n;

// typehash ‖ encodeData(message) (12 × 32 bytes), reused: every call is synchronous.
const scratch = new StaticStructEncoder(TYPEHASH, 11, (field, reason) => new InvalidOracleMessageError(field, reason));
const totalScratch = new StaticStructEncoder(TOKEN_TOTAL_TYPEHASH, 2, (field, reason) => new InvalidOracleMessageError(field, reason));

/** `keccak256(concat(hashStruct(TokenTotal_i)))`, checking the order (strictly ascending token, none zero). */
function hashTokenTotals(totals: unknown): Uint8Array {
  if (totals === undefined) return keccak256(new Uint8Array(0));
  if (!Array.isArray(totals)) throw new InvalidOracleMessageError("tokenTotals", "must be an array");
  const hashes = new Uint8Array(32 * totals.length);
  let previous = 0n;
  totals.forEach((t: unknown, i) => {
    if (typeof t !== "object" || t === null) throw new InvalidOracleMessageError(`tokenTotals[${i}]`, "must be an object");
    const { token, cumulativeTotal } = t as Record<string, unknown>;
    totalScratch.writeHex(token, 44, 20, `tokenTotals[${i}].token`);
    totalScratch.writeUint(cumulativeTotal, 64, 256, `tokenTotals[${i}].cumulativeTotal`);
    const key = BigInt(token as string);
    if (key <= previous) throw new InvalidOracleMessageError(`tokenTotals[${i}].token`, "tokens must be non-zero and strictly ascending");
    previous = key;
    hashes.set(totalScratch.hashStruct(), 32 * i);
  });
  return keccak256(hashes);
}

/** Writes abi.encode(message) into the scratch. */
function encodeIntoScratch(m: OracleMessage): void {
  if (typeof m !== "object" || m === null) throw new InvalidOracleMessageError("$", "must be an object");
  scratch.writeUint(m.sourceChainId, 32, 256, "sourceChainId");
  scratch.writeUint(m.destinationChainId, 64, 256, "destinationChainId");
  scratch.writeHex(m.distributor, 108, 20, "distributor");
  scratch.writeUint(m.epoch, 128, 64, "epoch");
  scratch.writeHex(m.root, 160, 32, "root");
  scratch.writeUint(m.cumulativeTotal, 192, 256, "cumulativeTotal");
  scratch.writeUint(m.fromBlock, 224, 64, "fromBlock");
  scratch.writeUint(m.toBlock, 256, 64, "toBlock");
  scratch.writeUint32(m.rulesVersion, 288, "rulesVersion");
  scratch.writeUint32(m.oracleSetVersion, 320, "oracleSetVersion");
  scratch.encoded.set(hashTokenTotals(m.tokenTotals), 320);
}

/**
 * The message's EIP-712 `encodeData`: `abi.encode` of its ten static fields, then the hash of its
 * token totals (352 bytes).
 *
 * @throws {InvalidOracleMessageError}
 * @example
 * ```ts
 * encodeOracleMessage({ sourceChainId: 31337n, destinationChainId: 31338n,
 *   distributor: "0x5FbDB2315678afecb367f032d93F642f64180aa3", epoch: 1n, root: `0x${"11".repeat(32)}`,
 *   cumulativeTotal: 10n ** 18n, fromBlock: 1n, toBlock: 100n, rulesVersion: 1, oracleSetVersion: 1 }).length; // 352
 * ```
 */
export function encodeOracleMessage(message: OracleMessage): Uint8Array {
  encodeIntoScratch(message);
  return scratch.encoded.slice();
}

/**
 * Computes EIP-712 digests of oracle messages for one distributor, with the domain separator
 * computed once. `digest` equals viem's `hashTypedData(oracleMessageTypedData(domain, message))`
 * and the distributor's `oracleMessageDigest(message)`.
 *
 * @example
 * ```ts
 * const digester = new OracleMessageDigester(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * digester.digest({ sourceChainId: 31337n, destinationChainId: 31338n,
 *   distributor: "0x5FbDB2315678afecb367f032d93F642f64180aa3", epoch: 1n, root: `0x${"11".repeat(32)}`,
 *   cumulativeTotal: 10n ** 18n, fromBlock: 1n, toBlock: 100n, rulesVersion: 1, oracleSetVersion: 1 }); // 32 bytes
 * ```
 */
export class OracleMessageDigester extends TypedDataDigester<OracleMessage> {
  readonly distributor: Address;

  /** @throws {InvalidArgumentError} on a bad chain id or address. */
  constructor(chainId: number, distributor: Address) {
    super(chainId, rewardDomainSeparator(chainId, distributor));
    this.distributor = getAddress(distributor);
  }

  /** The EIP-712 domain of this digester. */
  get domain(): RewardDomain {
    return rewardDomain(this.chainId, this.distributor);
  }

  /** @throws {InvalidOracleMessageError} */
  protected hashStruct(message: OracleMessage): Uint8Array {
    encodeIntoScratch(message);
    return scratch.hashStruct();
  }

  /**
   * Throws unless the message names this digester's chain and distributor: a message signed for
   * another domain, or naming another one, is rejected on-chain anyway.
   *
   * @throws {InvalidOracleMessageError}
   * @example
   * ```ts
   * new OracleMessageDigester(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3").checkDestination({
   *   sourceChainId: 31337n, destinationChainId: 31338n, distributor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   epoch: 1n, root: `0x${"11".repeat(32)}`, cumulativeTotal: 1n, fromBlock: 1n, toBlock: 1n, rulesVersion: 1,
   *   oracleSetVersion: 1 }); // no error
   * ```
   */
  checkDestination(message: OracleMessage): void {
    if (message.destinationChainId !== BigInt(this.chainId))
      throw new InvalidOracleMessageError("destinationChainId", `must be ${this.chainId}, the signing domain's chain`);
    if (typeof message.distributor !== "string" || message.distributor.toLowerCase() !== this.distributor.toLowerCase())
      throw new InvalidOracleMessageError("distributor", `must be ${this.distributor}, the signing domain's contract`);
  }
}

/**
 * Typed data of an oracle message for viem (`hashTypedData`, `signTypedData`, `verifyTypedData`).
 *
 * @example
 * ```ts
 * import { hashTypedData } from "viem";
 * import { rewardDomain } from "./reward.js";
 * const domain = rewardDomain(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * hashTypedData(oracleMessageTypedData(domain, { sourceChainId: 31337n, destinationChainId: 31338n,
 *   distributor: "0x5FbDB2315678afecb367f032d93F642f64180aa3", epoch: 1n, root: `0x${"11".repeat(32)}`,
 *   cumulativeTotal: 1n, fromBlock: 1n, toBlock: 1n, rulesVersion: 1, oracleSetVersion: 1 }));
 * ```
 */
export function oracleMessageTypedData(domain: RewardDomain, message: OracleMessage) {
  return {
    domain,
    types: ORACLE_MESSAGE_TYPES,
    primaryType: "OracleMessage",
    message: { ...message, tokenTotals: message.tokenTotals ?? [] },
  } as const;
}

/**
 * The Ethereum address of an oracle's secp256k1 private key.
 *
 * @throws {InvalidKeyError}
 * @example
 * ```ts
 * oracleAddress("0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba");
 * // "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc" (Hardhat's account #5)
 * ```
 */
export function oracleAddress(privateKey: BytesLike): Address {
  return deviceIdFromPublicKey(publicKeyFromPrivate("secp256k1", privateKey));
}

/**
 * Signs an oracle message with an oracle's secp256k1 key: 65 bytes `r ‖ s ‖ v`, low-s, with the
 * signer's address. Refuses a message that names another chain or distributor than the digester's.
 *
 * @throws {InvalidOracleMessageError | InvalidKeyError}
 * @example
 * ```ts
 * const digester = new OracleMessageDigester(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * signOracleMessage("0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba", digester, {
 *   sourceChainId: 31337n, destinationChainId: 31338n, distributor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
 *   epoch: 1n, root: `0x${"11".repeat(32)}`, cumulativeTotal: 1n, fromBlock: 1n, toBlock: 1n, rulesVersion: 1,
 *   oracleSetVersion: 1 });
 * // { signer: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", signature: "0x…" }
 * ```
 */
export function signOracleMessage(privateKey: BytesLike, digester: OracleMessageDigester, message: OracleMessage): OracleSignature {
  digester.checkDestination(message);
  const signature = signDigest("secp256k1", privateKey, digester.digest(message));
  return { signer: oracleAddress(privateKey), signature: bytesToHex(signature) };
}

/**
 * The address a 65-byte oracle signature recovers for a digest, with the distributor's checks
 * (OZ `ECDSA`): exact length, `v` ∈ {27, 28}, `r` and `s` in range, low-s.
 *
 * @throws {InvalidSignatureError} if the signature is malformed or recovers no key.
 * @throws {InvalidArgumentError} if the digest is not 32 bytes.
 * @example
 * ```ts
 * const digester = new OracleMessageDigester(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * const message = { sourceChainId: 31337n, destinationChainId: 31338n,
 *   distributor: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const, epoch: 1n, root: `0x${"11".repeat(32)}` as const,
 *   cumulativeTotal: 1n, fromBlock: 1n, toBlock: 1n, rulesVersion: 1, oracleSetVersion: 1 };
 * const { signature } = signOracleMessage("0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
 *   digester, message);
 * recoverOracleSigner(digester.digest(message), signature); // "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
 * ```
 */
export function recoverOracleSigner(digest: BytesLike, signature: BytesLike): Address {
  let msg: Uint8Array;
  try {
    msg = toBytes(digest, 32, "digest");
  } catch {
    throw new InvalidArgumentError("digest", "must be 32 bytes");
  }
  let sig: Uint8Array;
  try {
    sig = toBytes(signature, 65, "signature");
  } catch (cause) {
    throw new InvalidSignatureError("must be 65 bytes r ‖ s ‖ v", { cause });
  }
  const v = sig[64];
  if (v !== 27 && v !== 28) throw new InvalidSignatureError("v must be 27 or 28");
  const s = BigInt(bytesToHex(sig.subarray(32, 64)));
  if (s > SECP256K1_HALF_N) throw new InvalidSignatureError("s must be in the lower half of the order (low-s)");
  try {
    const point = secp256k1.Signature.fromBytes(sig.subarray(0, 64), "compact")
      .addRecoveryBit(v - 27)
      .recoverPublicKey(msg);
    return deviceIdFromPublicKey(point.toBytes(false).subarray(1));
  } catch (cause) {
    throw new InvalidSignatureError("recovers no public key", { cause });
  }
}

/**
 * The signatures in the order the distributor takes them: strictly ascending signer address.
 *
 * @throws {InvalidArgumentError} if a signer appears twice or is not an address.
 * @example
 * ```ts
 * sortOracleSignatures([
 *   { signer: "0x976EA74026E726554dB657fA54763abd0C3a0aa9", signature: "0xbb" },
 *   { signer: "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955", signature: "0xaa" },
 * ]); // ["0xaa", "0xbb"]
 * ```
 */
export function sortOracleSignatures(signatures: readonly OracleSignature[]): Hex[] {
  const keyed = signatures.map((s) => {
    if (typeof s.signer !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(s.signer))
      throw new InvalidArgumentError("signer", `${String(s.signer)} is not an address`);
    return { key: BigInt(s.signer), signature: s.signature };
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 1; i < keyed.length; i++)
    if (keyed[i].key === keyed[i - 1].key)
      throw new InvalidArgumentError(
        "signatures",
        `signer ${getAddress(`0x${keyed[i].key.toString(16).padStart(40, "0")}`)} appears twice`,
      );
  return keyed.map((k) => k.signature);
}

/**
 * An oracle message in JSON form (bigints as decimal strings, distributor checksummed, root lowercase).
 *
 * @throws {InvalidOracleMessageError}
 * @example
 * ```ts
 * oracleMessageToJson({ sourceChainId: 31337n, destinationChainId: 31338n,
 *   distributor: "0x5fbdb2315678afecb367f032d93f642f64180aa3", epoch: 1n, root: `0x${"AB".repeat(32)}`,
 *   cumulativeTotal: 5n, fromBlock: 1n, toBlock: 9n, rulesVersion: 1, oracleSetVersion: 1 }).cumulativeTotal; // "5"
 * ```
 */
export function oracleMessageToJson(message: OracleMessage): OracleMessageJson {
  encodeIntoScratch(message); // validates every field
  return {
    sourceChainId: message.sourceChainId.toString(),
    destinationChainId: message.destinationChainId.toString(),
    distributor: getAddress(message.distributor),
    epoch: message.epoch.toString(),
    root: message.root.toLowerCase() as Hex,
    cumulativeTotal: message.cumulativeTotal.toString(),
    fromBlock: message.fromBlock.toString(),
    toBlock: message.toBlock.toString(),
    rulesVersion: message.rulesVersion,
    oracleSetVersion: message.oracleSetVersion,
    tokenTotals: (message.tokenTotals ?? []).map((t) => ({ token: getAddress(t.token), cumulativeTotal: t.cumulativeTotal.toString() })),
  };
}

const JSON_KEYS = [
  "sourceChainId",
  "destinationChainId",
  "distributor",
  "epoch",
  "root",
  "cumulativeTotal",
  "fromBlock",
  "toBlock",
  "rulesVersion",
  "oracleSetVersion",
  "tokenTotals",
] as const;
const DECIMAL_RE = /^(0|[1-9][0-9]{0,77})$/;

function parseDecimal(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !DECIMAL_RE.test(value))
    throw new InvalidOracleMessageError(field, "must be a decimal string without leading zeros");
  return BigInt(value);
}

/** Parses the JSON token totals (absent: none) with checksummed tokens and canonical decimals. */
function parseTokenTotals(value: unknown): TokenTotal[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidOracleMessageError("tokenTotals", "must be an array");
  return value.map((t: unknown, i): TokenTotal => {
    if (typeof t !== "object" || t === null || Array.isArray(t))
      throw new InvalidOracleMessageError(`tokenTotals[${i}]`, "must be an object");
    const { token, cumulativeTotal, ...rest } = t as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new InvalidOracleMessageError(`tokenTotals[${i}]`, "unknown field");
    if (typeof token !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(token) || getAddress(token) !== token)
      throw new InvalidOracleMessageError(`tokenTotals[${i}].token`, "must be a checksummed address");
    return { token: token as Address, cumulativeTotal: parseDecimal(cumulativeTotal, `tokenTotals[${i}].cumulativeTotal`) };
  });
}

/**
 * Parses an {@link OracleMessageJson} strictly: exact keys, checksummed distributor, lowercase root,
 * canonical decimals in range (the form {@link oracleMessageToJson} makes).
 *
 * @throws {InvalidOracleMessageError}
 * @example
 * ```ts
 * oracleMessageFromJson({ sourceChainId: "31337", destinationChainId: "31338",
 *   distributor: "0x5FbDB2315678afecb367f032d93F642f64180aa3", epoch: "1", root: `0x${"ab".repeat(32)}`,
 *   cumulativeTotal: "5", fromBlock: "1", toBlock: "9", rulesVersion: 1, oracleSetVersion: 1 }).epoch; // 1n
 * ```
 */
export function oracleMessageFromJson(json: unknown): OracleMessage {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new InvalidOracleMessageError("$", "must be an object");
  const o = json as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!(JSON_KEYS as readonly string[]).includes(key)) throw new InvalidOracleMessageError(key, "unknown field");
  const { distributor, root } = o;
  if (typeof distributor !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(distributor) || getAddress(distributor) !== distributor)
    throw new InvalidOracleMessageError("distributor", "must be a checksummed address");
  if (typeof root !== "string" || !/^0x[0-9a-f]{64}$/.test(root))
    throw new InvalidOracleMessageError("root", "must be 32 bytes of lowercase 0x hex");
  const message: OracleMessage = {
    sourceChainId: parseDecimal(o.sourceChainId, "sourceChainId"),
    destinationChainId: parseDecimal(o.destinationChainId, "destinationChainId"),
    distributor: distributor as Address,
    epoch: parseDecimal(o.epoch, "epoch"),
    root: root as Hex,
    cumulativeTotal: parseDecimal(o.cumulativeTotal, "cumulativeTotal"),
    fromBlock: parseDecimal(o.fromBlock, "fromBlock"),
    toBlock: parseDecimal(o.toBlock, "toBlock"),
    rulesVersion: o.rulesVersion as number,
    oracleSetVersion: o.oracleSetVersion as number,
    tokenTotals: parseTokenTotals(o.tokenTotals),
  };
  encodeIntoScratch(message); // ranges and token order
  return message;
}
