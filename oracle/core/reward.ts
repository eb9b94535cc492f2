/**
 * The reward chain's formats, shared by the oracle, the claim page and the scripts:
 *
 * - the EIP-712 domain of the RewardDistributor,
 *   `{ name: "SensorSeal Rewards", version: "1", chainId: reward chain, verifyingContract: distributor }`;
 * - the reward tree: an OpenZeppelin StandardMerkleTree over `["address","address","uint256"]` =
 *   (account, token, cumulative amount), one leaf per account and token (the reward token, minted, and the
 *   market's settlement tokens, paid from the distributor's balance; docs/MARKET.md §5), built from
 *   {@link rewardLeaf} and {@link MerkleTree};
 * - the relayed claim a beneficiary signs,
 *   `Claim(address account,address token,uint256 cumulative,address recipient,uint256 nonce,uint256 deadline)`.
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
export const REWARD_LEAF_ENCODING = ["address", "address", "uint256"] as const;

/** The EIP-712 type string of a relayed claim. */
export const CLAIM_TYPE = "Claim(address account,address token,uint256 cumulative,address recipient,uint256 nonce,uint256 deadline)";

/** viem / wallet typed-data types of a relayed claim. */
export const CLAIM_TYPES = {
  Claim: [
    { name: "account", type: "address" },
    { name: "token", type: "address" },
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
  /** The token claimed: the reward token or a settlement token. */
  token: Address;
  /** The beneficiary's cumulative entitlement in that token, as in its leaf. */
  cumulative: bigint;
  /** Who receives the tokens. */
  recipient: Address;
  /** The beneficiary's current nonce on the distributor (`nonces(account)`). */
  nonce: bigint;
  /** The last second (unix time) at which the claim can be submitted. */
  deadline: bigint;
};

/** One beneficiary's cumulative entitlement in one token. */
export type RewardEntry = {
  account: Address;
  token: Address;
  cumulative: bigint;
};

/** A token's cumulative total over every account (what the oracle message binds). */
export type TokenTotal = {
  token: Address;
  cumulativeTotal: bigint;
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
 * claimDigest(domain, { account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", cumulative: 10n ** 18n,
 *   recipient: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", nonce: 0n, deadline: 1_900_000_000n }); // 32 bytes
 * ```
 */
export function claimDigest(domain: RewardDomain, claim: Claim): Uint8Array {
  if (typeof claim !== "object" || claim === null) throw new InvalidArgumentError("claim", "must be an object");
  const enc = new Uint8Array(224);
  enc.set(CLAIM_TYPEHASH_BYTES, 0);
  writeAddress(enc, 32, claim.account, "account");
  writeAddress(enc, 64, claim.token, "token");
  writeUint256(enc, 96, claim.cumulative, "cumulative");
  writeAddress(enc, 128, claim.recipient, "recipient");
  writeUint256(enc, 160, claim.nonce, "nonce");
  writeUint256(enc, 192, claim.deadline, "deadline");
  return new TypedDataHasher(rewardDomainSeparator(domain.chainId, domain.verifyingContract)).digest(keccak256(enc));
}

/**
 * Typed data of a relayed claim for viem (`signTypedData`, `hashTypedData`) and EIP-1193 wallets.
 *
 * @example
 * ```ts
 * import { hashTypedData } from "viem";
 * const domain = rewardDomain(31338, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * hashTypedData(claimTypedData(domain, { account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", cumulative: 5n,
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
 *   token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", cumulative: 5n, recipient: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", nonce: 0n, deadline: 1_900_000_000n });
 * // "0x…" (65 bytes)
 * ```
 */
export function signClaim(privateKey: BytesLike, domain: RewardDomain, claim: Claim): Hex {
  return bytesToHex(signDigest("secp256k1", privateKey, claimDigest(domain, claim)));
}

/**
 * Checks a reward proof: `(account, token, cumulative)`'s leaf leads to `root`. Malformed input gives `false`.
 *
 * @example
 * ```ts
 * const token = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
 * const tree = buildRewardTree([{ account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", token, cumulative: 5n },
 *   { account: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", token, cumulative: 7n }]);
 * verifyRewardProof(tree.root, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", token, 5n,
 *   tree.proof("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", token)); // true
 * ```
 */
export function verifyRewardProof(
  root: BytesLike,
  account: Address,
  token: Address,
  cumulative: bigint,
  proof: readonly BytesLike[],
): boolean {
  let leaf: Uint8Array;
  try {
    leaf = rewardLeaf(account, token, cumulative);
  } catch {
    return false;
  }
  return verifyMerkleProof(leaf, proof, root);
}

/** A reward tree: every (account, token) cumulative entitlement, with its root, per-token totals and proofs. */
export type RewardTree = {
  /** The Merkle tree (OZ StandardMerkleTree layout). */
  readonly tree: MerkleTree;
  /** The root to post. */
  readonly root: Hex;
  /** Every token's cumulative total, strictly ascending by token address (checksummed). */
  readonly totals: readonly TokenTotal[];
  /** The entries, in input order, addresses checksummed. */
  readonly entries: readonly RewardEntry[];
  /** A token's cumulative total over every account; 0n for a token without entries. */
  totalOf(token: Address): bigint;
  /** The entry of an account in a token, or undefined. */
  entry(account: Address, token: Address): RewardEntry | undefined;
  /** Every entry of an account, one per token, ascending by token address. */
  entriesOf(account: Address): RewardEntry[];
  /** The proof of an account's entry in a token. @throws {InvalidArgumentError} if there is none. */
  proof(account: Address, token: Address): Hex[];
  /** OZ's `StandardMerkleTree#dump()` (values as `[account, token, decimal string]`), for `StandardMerkleTree.load`. */
  dump(): StandardMerkleTreeData<[Address, Address, string]>;
};

const pairKey = (account: string, token: string) => `${account.toLowerCase()}:${token.toLowerCase()}`;
const byAddress = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

/**
 * Builds the reward tree of cumulative entitlements, one leaf per (account, token). The root does not
 * depend on the entries' order (leaves are sorted, as StandardMerkleTree does), so oracles that agree on
 * the ledger agree on the root.
 *
 * @throws {InvalidArgumentError} on no entry, a repeated (account, token), a bad amount or a token total above uint256.
 * @throws {InvalidHexError} on a bad address.
 * @example
 * ```ts
 * const token = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
 * const tree = buildRewardTree([
 *   { account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", token, cumulative: 10n ** 18n },
 *   { account: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", token, cumulative: 2500n },
 * ]);
 * tree.root; // the same as StandardMerkleTree.of(values, ["address","address","uint256"]).root
 * tree.totalOf(token); // 1000000000000002500n
 * tree.proof("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", token); // ["0x…"]
 * ```
 */
export function buildRewardTree(entries: readonly RewardEntry[]): RewardTree {
  if (!Array.isArray(entries) || entries.length === 0) throw new InvalidArgumentError("entries", "must be a non-empty array");
  const n = entries.length;
  const packed = new Uint8Array(n * 32);
  const index = new Map<string, number>();
  const byAccount = new Map<string, number[]>();
  const normalized: RewardEntry[] = new Array(n);
  const totals = new Map<Address, bigint>();
  for (let i = 0; i < n; i++) {
    const { account, token, cumulative } = entries[i];
    packed.set(rewardLeaf(account, token, cumulative), i * 32); // validates all three
    const key = pairKey(account, token);
    if (index.has(key))
      throw new InvalidArgumentError("entries", `account ${getAddress(account)} appears twice for token ${getAddress(token)}`);
    index.set(key, i);
    const e: RewardEntry = { account: getAddress(account), token: getAddress(token), cumulative };
    normalized[i] = e;
    const own = byAccount.get(account.toLowerCase()) ?? [];
    own.push(i);
    byAccount.set(account.toLowerCase(), own);
    totals.set(e.token, (totals.get(e.token) ?? 0n) + cumulative);
  }
  for (const [token, total] of totals)
    if (total > UINT256_MAX) throw new InvalidArgumentError("entries", `total of token ${token} above uint256`);
  const sortedTotals = [...totals]
    .sort(([a], [b]) => byAddress(a, b))
    .map(([token, cumulativeTotal]): TokenTotal => ({ token, cumulativeTotal }));
  const tree = MerkleTree.fromPackedLeaves(packed);
  return {
    tree,
    root: tree.root,
    totals: sortedTotals,
    entries: normalized,
    totalOf(token) {
      return totals.get(getAddress(token)) ?? 0n;
    },
    entry(account, token) {
      const i = index.get(pairKey(account, token));
      return i === undefined ? undefined : normalized[i];
    },
    entriesOf(account) {
      return (byAccount.get(account.toLowerCase()) ?? []).map((i) => normalized[i]).sort((a, b) => byAddress(a.token, b.token));
    },
    proof(account, token) {
      const i = index.get(pairKey(account, token));
      if (i === undefined) throw new InvalidArgumentError("account", `${account} has no entry for token ${token}`);
      return tree.getProof(tree.treeIndexOf(i));
    },
    dump() {
      return tree.dump(
        normalized.map((e): [Address, Address, string] => [e.account, e.token, e.cumulative.toString()]),
        REWARD_LEAF_ENCODING,
      );
    },
  };
}
