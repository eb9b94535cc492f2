/**
 * The reward chain's formats, shared by the oracle, the claim page and the scripts:
 *
 * - the EIP-712 domain of the RewardDistributor,
 *   `{ name: "SensorSeal Rewards", version: "1", chainId: reward chain, verifyingContract: distributor }`;
 * - the reward tree: an OpenZeppelin StandardMerkleTree over `["address","uint256"]` =
 *   (beneficiary, cumulative amount), built from {@link rewardLeaf} and {@link MerkleTree};
 * - the relayed claim a beneficiary signs,
 *   `Claim(address account,uint256 cumulative,address recipient,uint256 nonce,uint256 deadline)`.
 *
 * The oracle message, in the same domain, is in `oracle-message.ts`.
 *
 * @module
 */
import { getAddress, type Address, type Hex } from "viem";

import { bytesToHex, hexToBytes, type BytesLike } from "./bytes.js";
import { InvalidArgumentError } from "./errors.js";
import { TypedDataHasher, eip712DomainSeparator } from "./eip712.js";
import { keccak256 } from "./keccak.js";
import { signDigest } from "./keys.js";
import { MerkleTree, rewardLeaf, verifyMerkleProof, type StandardMerkleTreeData } from "./merkle.js";

/** EIP-712 domain name of the RewardDistributor. */
export const REWARD_DOMAIN_NAME = "SensorSeal Rewards";
/** EIP-712 domain version of the RewardDistributor. */
export const REWARD_DOMAIN_VERSION = "1";

/** EIP-712 domain of the RewardDistributor. */
export type RewardDomain = {
  readonly name: "SensorSeal Rewards";
  readonly version: "1";
  readonly chainId: number;
  readonly verifyingContract: Address;
};

/** Leaf encoding of a reward entry for `@openzeppelin/merkle-tree`'s StandardMerkleTree. */
export const REWARD_LEAF_ENCODING = ["address", "uint256"] as const;

/** The EIP-712 type string of a relayed claim. */
export const CLAIM_TYPE = "Claim(address account,uint256 cumulative,address recipient,uint256 nonce,uint256 deadline)";

/** viem / wallet typed-data types of a relayed claim. */
export const CLAIM_TYPES = {
  Claim: [
    { name: "account", type: "address" },
    { name: "cumulative", type: "uint256" },
    { name: "recipient", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** A relayed claim, as the beneficiary signs it. */
export type Claim = {
  /** The beneficiary whose entitlement is claimed (and who signs). */
  account: Address;
  /** The beneficiary's cumulative entitlement, as in its leaf. */
  cumulative: bigint;
  /** Who receives the tokens. */
  recipient: Address;
  /** The beneficiary's current nonce on the distributor (`nonces(account)`). */
  nonce: bigint;
  /** The last second (unix time) at which the claim can be submitted. */
  deadline: bigint;
};

/** One beneficiary's cumulative entitlement. */
export type RewardEntry = {
  account: Address;
  cumulative: bigint;
};

const utf8 = new TextEncoder();
const CLAIM_TYPEHASH_BYTES = keccak256(utf8.encode(CLAIM_TYPE));

/** `keccak256(CLAIM_TYPE)`. */
export const CLAIM_TYPEHASH: Hex = bytesToHex(CLAIM_TYPEHASH_BYTES);

const UINT256_MAX = (1n << 256n) - 1n;

/** Writes `value` big-endian into the 32 bytes of `out` at `offset` (which must be zero-filled). */
function writeUint256(out: Uint8Array, offset: number, value: unknown, field: string): void {
  if (typeof value !== "bigint" || value < 0n || value > UINT256_MAX) throw new InvalidArgumentError(field, "must be a uint256 bigint");
  let x = value;
  for (let i = offset + 31; i >= offset && x > 0n; i--, x >>= 8n) out[i] = Number(x & 0xffn);
}

/** Writes an address into the 32-byte word of `out` at `offset`. */
function writeAddress(out: Uint8Array, offset: number, value: unknown, field: string): void {
  let bytes: Uint8Array;
  try {
    bytes = hexToBytes(value as string, 20);
  } catch {
    throw new InvalidArgumentError(field, "must be a 20-byte 0x address");
  }
  out.set(bytes, offset + 12);
}

/**
 * The EIP-712 domain of the RewardDistributor at `distributor` on chain `chainId`.
 *
 * @example
 * ```ts
 * rewardDomain(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * // { name: "SensorSeal Rewards", version: "1", chainId: 31338, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }
 * ```
 */
export function rewardDomain(chainId: number, distributor: Address): RewardDomain {
  return { name: REWARD_DOMAIN_NAME, version: REWARD_DOMAIN_VERSION, chainId, verifyingContract: distributor };
}

/**
 * The EIP-712 domain separator of the RewardDistributor at `distributor` on chain `chainId`.
 *
 * @throws {InvalidArgumentError} on a bad chain id or address.
 * @example
 * ```ts
 * rewardDomainSeparator(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3"); // 32 bytes
 * ```
 */
export function rewardDomainSeparator(chainId: number | bigint, distributor: Address): Uint8Array {
  return eip712DomainSeparator(REWARD_DOMAIN_NAME, REWARD_DOMAIN_VERSION, chainId, distributor);
}

/**
 * The EIP-712 digest a beneficiary signs for a relayed claim; equal to viem's
 * `hashTypedData(claimTypedData(domain, claim))` and to the distributor's `claimDigest`.
 *
 * @throws {InvalidArgumentError}
 * @example
 * ```ts
 * const domain = rewardDomain(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * claimDigest(domain, { account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", cumulative: 10n ** 18n,
 *   recipient: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", nonce: 0n, deadline: 1_900_000_000n }); // 32 bytes
 * ```
 */
export function claimDigest(domain: RewardDomain, claim: Claim): Uint8Array {
  if (typeof claim !== "object" || claim === null) throw new InvalidArgumentError("claim", "must be an object");
  const enc = new Uint8Array(192);
  enc.set(CLAIM_TYPEHASH_BYTES, 0);
  writeAddress(enc, 32, claim.account, "account");
  writeUint256(enc, 64, claim.cumulative, "cumulative");
  writeAddress(enc, 96, claim.recipient, "recipient");
  writeUint256(enc, 128, claim.nonce, "nonce");
  writeUint256(enc, 160, claim.deadline, "deadline");
  return new TypedDataHasher(rewardDomainSeparator(domain.chainId, domain.verifyingContract)).digest(keccak256(enc));
}

/**
 * Typed data of a relayed claim for viem (`signTypedData`, `hashTypedData`) and EIP-1193 wallets.
 *
 * @example
 * ```ts
 * import { hashTypedData } from "viem";
 * const domain = rewardDomain(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * hashTypedData(claimTypedData(domain, { account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", cumulative: 5n,
 *   recipient: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", nonce: 0n, deadline: 1_900_000_000n }));
 * ```
 */
export function claimTypedData(domain: RewardDomain, claim: Claim) {
  return { domain, types: CLAIM_TYPES, primaryType: "Claim", message: claim } as const;
}

/**
 * Signs a relayed claim with the beneficiary's secp256k1 key (an EOA): 65 bytes `r ‖ s ‖ v`, low-s.
 * A contract wallet signs through its own means (ERC-1271) over {@link claimDigest}.
 *
 * @throws {InvalidKeyError | InvalidArgumentError}
 * @example
 * ```ts
 * import { generatePrivateKey } from "./keys.js";
 * const domain = rewardDomain(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * signClaim(generatePrivateKey("secp256k1"), domain, { account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
 *   cumulative: 5n, recipient: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", nonce: 0n, deadline: 1_900_000_000n });
 * // "0x…" (65 bytes)
 * ```
 */
export function signClaim(privateKey: BytesLike, domain: RewardDomain, claim: Claim): Hex {
  return bytesToHex(signDigest("secp256k1", privateKey, claimDigest(domain, claim)));
}

/**
 * Checks a reward proof: `(account, cumulative)`'s leaf leads to `root`. Malformed input gives `false`.
 *
 * @example
 * ```ts
 * const tree = buildRewardTree([{ account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", cumulative: 5n },
 *   { account: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", cumulative: 7n }]);
 * verifyRewardProof(tree.root, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 5n,
 *   tree.proof("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")); // true
 * ```
 */
export function verifyRewardProof(root: BytesLike, account: Address, cumulative: bigint, proof: readonly BytesLike[]): boolean {
  let leaf: Uint8Array;
  try {
    leaf = rewardLeaf(account, cumulative);
  } catch {
    return false;
  }
  return verifyMerkleProof(leaf, proof, root);
}

/** A reward tree: every beneficiary's cumulative entitlement, with its root, total and proofs. */
export type RewardTree = {
  /** The Merkle tree (OZ StandardMerkleTree layout). */
  readonly tree: MerkleTree;
  /** The root to post. */
  readonly root: Hex;
  /** The sum of every entitlement: the oracle message's `cumulativeTotal`. */
  readonly total: bigint;
  /** The entries, in input order, accounts checksummed. */
  readonly entries: readonly RewardEntry[];
  /** The entry of an account, or undefined. */
  entry(account: Address): RewardEntry | undefined;
  /** The proof of an account's entry. @throws {InvalidArgumentError} if the account has no entry. */
  proof(account: Address): Hex[];
  /** OZ's `StandardMerkleTree#dump()` (values as `[address, decimal string]`), for `StandardMerkleTree.load`. */
  dump(): StandardMerkleTreeData<[Address, string]>;
};

/**
 * Builds the reward tree of cumulative entitlements. The root does not depend on the entries'
 * order (leaves are sorted, as StandardMerkleTree does), so oracles that agree on the ledger agree
 * on the root.
 *
 * @throws {InvalidArgumentError} on no entry, a repeated account, a bad amount or a total above uint256.
 * @throws {InvalidHexError} on a bad address.
 * @example
 * ```ts
 * const tree = buildRewardTree([
 *   { account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", cumulative: 10n ** 18n },
 *   { account: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", cumulative: 2500n },
 * ]);
 * tree.root; // the same as StandardMerkleTree.of(values, ["address","uint256"]).root
 * tree.total; // 1000000000000002500n
 * tree.proof("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"); // ["0x…"]
 * ```
 */
export function buildRewardTree(entries: readonly RewardEntry[]): RewardTree {
  if (!Array.isArray(entries) || entries.length === 0) throw new InvalidArgumentError("entries", "must be a non-empty array");
  const n = entries.length;
  const packed = new Uint8Array(n * 32);
  const index = new Map<string, number>();
  const normalized: RewardEntry[] = new Array(n);
  let total = 0n;
  for (let i = 0; i < n; i++) {
    const { account, cumulative } = entries[i];
    packed.set(rewardLeaf(account, cumulative), i * 32); // validates both
    const key = account.toLowerCase();
    if (index.has(key)) throw new InvalidArgumentError("entries", `account ${getAddress(account)} appears twice`);
    index.set(key, i);
    normalized[i] = { account: getAddress(account), cumulative };
    total += cumulative;
  }
  if (total > UINT256_MAX) throw new InvalidArgumentError("entries", "total above uint256");
  const tree = MerkleTree.fromPackedLeaves(packed);
  return {
    tree,
    root: tree.root,
    total,
    entries: normalized,
    entry(account) {
      const i = index.get(account.toLowerCase());
      return i === undefined ? undefined : normalized[i];
    },
    proof(account) {
      const i = index.get(account.toLowerCase());
      if (i === undefined) throw new InvalidArgumentError("account", `${account} has no entry`);
      return tree.getProof(tree.treeIndexOf(i));
    },
    dump() {
      return tree.dump(
        normalized.map((e): [Address, string] => [e.account, e.cumulative.toString()]),
        REWARD_LEAF_ENCODING,
      );
    },
  };
}
