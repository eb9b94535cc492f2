// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IRewardToken} from "./IRewardToken.sol";

/// @title IRewardDistributor
/// @notice Pays SensorSeal rewards and data-sale shares on the reward chain. An M-of-N oracle committee, watching
/// the audit chain and the data market, posts the Merkle root of every contributor's cumulative entitlement per
/// token; an account then claims its due in a token: the reward token is minted, a settlement token is paid from
/// this contract's balance (the contributor pools the DataMarket sent it). Anyone relays an account's signed claim
/// to the address it names, and a batch claimer pays many accounts in one transaction. See docs/MARKET.md. A posted root pays only after
/// its challenge period, during which a guardian can veto it; epochs and audit-chain block ranges are contiguous.
/// @dev EIP-712 domain `{name: "SensorSeal Rewards", version: "1", chainId, verifyingContract: this}`.
/// - An oracle message is signed as `OracleMessage(uint256 sourceChainId,uint256 destinationChainId,address
///   distributor,uint64 epoch,bytes32 root,uint256 cumulativeTotal,uint64 fromBlock,uint64 toBlock,uint32
///   rulesVersion,uint32 oracleSetVersion,TokenTotal[] tokenTotals)TokenTotal(address token,uint256
///   cumulativeTotal)`, with secp256k1 keys (65-byte `r ‖ s ‖ v`, low-s).
/// - A reward leaf is the OpenZeppelin StandardMerkleTree leaf over `["address","address","uint256"]`:
///   `keccak256(bytes.concat(keccak256(abi.encode(account, token, cumulative))))`, with sorted-pair hashing.
/// - A relayed claim is signed by the account as `Claim(address account,address token,uint256 cumulative,address
///   recipient,uint256 nonce,uint256 deadline)`, by an EOA (ECDSA) or a contract wallet (ERC-1271).
interface IRewardDistributor {
    /// @notice What the oracle committee signs to post a root.
    /// @param sourceChainId The audit chain the rewards were computed from.
    /// @param destinationChainId The reward chain: this chain.
    /// @param distributor This distributor.
    /// @param epoch The epoch: the last posted one plus one.
    /// @param root The Merkle root of every account's cumulative entitlement in every token.
    /// @param cumulativeTotal The sum of every account's cumulative entitlement in the reward token; never decreases.
    /// @param fromBlock The first audit-chain block the epoch covers: the last posted epoch's `toBlock` plus one.
    /// @param toBlock The last audit-chain block the epoch covers.
    /// @param rulesVersion The version of the reward rules the ledger was computed with.
    /// @param oracleSetVersion The version of the oracle set whose members signed.
    /// @param tokenTotals Settlement tokens' cumulative totals, strictly ascending by token; a token left out keeps
    /// its last posted total.
    struct OracleMessage {
        uint256 sourceChainId;
        uint256 destinationChainId;
        address distributor;
        uint64 epoch;
        bytes32 root;
        uint256 cumulativeTotal;
        uint64 fromBlock;
        uint64 toBlock;
        uint32 rulesVersion;
        uint32 oracleSetVersion;
        TokenTotal[] tokenTotals;
    }

    /// @notice A settlement token's cumulative total in an oracle message.
    /// @param token The settlement token; never the reward token, never zero.
    /// @param cumulativeTotal The sum of every account's cumulative entitlement in it; never decreases.
    struct TokenTotal {
        address token;
        uint256 cumulativeTotal;
    }

    /// @notice One entry of a batched claim.
    /// @param account The account, which is paid.
    /// @param cumulative Its cumulative entitlement in the batch's token, as in its leaf.
    /// @param proof The Merkle proof of the leaf `(account, token, cumulative)` in the current root.
    struct BatchClaim {
        address account;
        uint256 cumulative;
        bytes32[] proof;
    }

    /// @notice A token's totals.
    /// @param totalPosted The last posted cumulative total, pending or not.
    /// @param activeTotal The cumulative total of the root claims are paid against.
    /// @param totalClaimed What claims paid out in the token.
    /// @param epochCap How much one posted root may raise the token's total.
    struct TokenState {
        uint256 totalPosted;
        uint256 activeTotal;
        uint256 totalClaimed;
        uint256 epochCap;
    }

    /// @notice A version of the oracle set.
    /// @param oracles The oracle addresses, in the order they were given.
    /// @param threshold How many of them must sign a message.
    /// @param expiresAt When the set stops being accepted: zero while it is the current set; once superseded, the
    /// rotation time plus {oracleSetGracePeriod}.
    struct OracleSet {
        address[] oracles;
        uint32 threshold;
        uint64 expiresAt;
    }

    /// @notice A posted root.
    /// @param root The Merkle root; zero for none.
    /// @param cumulativeTotal Its cumulative total.
    /// @param epoch Its epoch.
    /// @param toBlock The last audit-chain block its epoch covers.
    /// @param validAt When it starts paying: its posting time plus the challenge period then in force.
    struct PostedRoot {
        bytes32 root;
        uint256 cumulativeTotal;
        uint64 epoch;
        uint64 toBlock;
        uint64 validAt;
    }

    /// @notice Thrown when posting an epoch beyond the next one.
    /// @param epoch The epoch posted.
    /// @param expected The next epoch: the last posted one plus one.
    error RewardDistributorEpochGap(uint64 epoch, uint64 expected);

    /// @notice Thrown when an epoch's block range does not start right after the last posted one.
    /// @param fromBlock The first block posted.
    /// @param expected The last posted `toBlock` plus one.
    error RewardDistributorBlockRangeGap(uint64 fromBlock, uint256 expected);

    /// @notice Thrown when posting while the last posted root is still in its challenge period.
    /// @param epoch The pending epoch.
    /// @param validAt When it starts paying.
    error RewardDistributorRootPending(uint64 epoch, uint64 validAt);

    /// @notice Thrown when vetoing an epoch that is not the pending one.
    /// @param epoch The epoch given.
    error RewardDistributorNoPendingRoot(uint64 epoch);

    /// @notice Thrown when vetoing a root whose challenge period is over.
    /// @param epoch The epoch.
    /// @param validAt When its challenge period ended.
    error RewardDistributorChallengeOver(uint64 epoch, uint64 validAt);

    /// @notice Thrown when setting a challenge period above {MAX_CHALLENGE_PERIOD}.
    /// @param period The period given.
    /// @param max The maximum.
    error RewardDistributorChallengePeriodTooLong(uint64 period, uint64 max);

    /// @notice Thrown when `claim` is called by another account than the one claiming; others relay through
    /// {claimWithSignature}.
    /// @param caller The caller.
    /// @param account The account claimed for.
    error RewardDistributorUnauthorizedClaim(address caller, address account);

    /// @notice Thrown when constructing with the zero token.
    error RewardDistributorZeroToken();

    /// @notice Thrown when an oracle set has no oracle.
    error RewardDistributorEmptyOracleSet();

    /// @notice Thrown when an oracle set's threshold is zero or above its size.
    /// @param threshold The threshold.
    /// @param oracleCount The number of oracles.
    error RewardDistributorInvalidThreshold(uint256 threshold, uint256 oracleCount);

    /// @notice Thrown when an oracle set holds the zero address.
    error RewardDistributorZeroOracle();

    /// @notice Thrown when an oracle set holds an address twice.
    /// @param oracle The repeated address.
    error RewardDistributorDuplicateOracle(address oracle);

    /// @notice Thrown when an oracle message names another source chain than this distributor's.
    /// @param sourceChainId The message's source chain.
    /// @param expected This distributor's source chain.
    error RewardDistributorWrongSourceChain(uint256 sourceChainId, uint256 expected);

    /// @notice Thrown when an oracle message names another destination chain than this one.
    /// @param destinationChainId The message's destination chain.
    /// @param expected This chain's id.
    error RewardDistributorWrongDestinationChain(uint256 destinationChainId, uint256 expected);

    /// @notice Thrown when an oracle message names another distributor than this one.
    /// @param distributor The message's distributor.
    error RewardDistributorWrongDistributor(address distributor);

    /// @notice Thrown when an oracle message carries a zero root.
    error RewardDistributorZeroRoot();

    /// @notice Thrown when an oracle message's epoch is not above the last posted one.
    /// @param epoch The message's epoch.
    /// @param lastEpoch The last posted epoch.
    error RewardDistributorStaleEpoch(uint64 epoch, uint64 lastEpoch);

    /// @notice Thrown when an oracle message's cumulative total is below the last posted one.
    /// @param cumulativeTotal The message's cumulative total.
    /// @param previousTotal The last posted cumulative total.
    error RewardDistributorDecreasingTotal(uint256 cumulativeTotal, uint256 previousTotal);

    /// @notice Thrown when an oracle message raises the cumulative total by more than the epoch cap.
    /// @param increase The raise over the last posted cumulative total.
    /// @param cap The epoch cap.
    error RewardDistributorEpochCapExceeded(uint256 increase, uint256 cap);

    /// @notice Thrown when an oracle message's audit-chain block range ends before it starts.
    /// @param fromBlock The first block.
    /// @param toBlock The last block.
    error RewardDistributorInvalidBlockRange(uint64 fromBlock, uint64 toBlock);

    /// @notice Thrown when an oracle message names an oracle set version that never existed.
    /// @param oracleSetVersion The version.
    error RewardDistributorUnknownOracleSet(uint32 oracleSetVersion);

    /// @notice Thrown when an oracle message names a superseded oracle set whose grace period is over.
    /// @param oracleSetVersion The version.
    /// @param expiredAt When it expired.
    error RewardDistributorOracleSetExpired(uint32 oracleSetVersion, uint64 expiredAt);

    /// @notice Thrown when an oracle message carries fewer signatures than its oracle set's threshold.
    /// @param count The number of signatures.
    /// @param threshold The threshold.
    error RewardDistributorInsufficientSignatures(uint256 count, uint256 threshold);

    /// @notice Thrown when an oracle signature is malformed: not 65 bytes, high-s, or recovering no key.
    /// @param index The position of the signature.
    error RewardDistributorInvalidSignature(uint256 index);

    /// @notice Thrown when an oracle signature recovers an address outside the named oracle set (which is what a
    /// signature over another message, chain or distributor recovers).
    /// @param oracleSetVersion The version of the named set.
    /// @param signer The recovered address.
    error RewardDistributorUnknownSigner(uint32 oracleSetVersion, address signer);

    /// @notice Thrown when oracle signers are not in strictly ascending order, which includes a repeated signer.
    /// @param previous The signer before.
    /// @param signer The signer that is not above it.
    error RewardDistributorUnsortedSigners(address previous, address signer);

    /// @notice Thrown when claiming before any root was posted.
    error RewardDistributorNoRoot();

    /// @notice Thrown when a claim's proof does not lead from its leaf to the current root.
    /// @param account The account.
    /// @param token The token.
    /// @param cumulative The claimed cumulative amount.
    error RewardDistributorInvalidProof(address account, address token, uint256 cumulative);

    /// @notice Thrown when a claim's cumulative amount is not above what the account already claimed.
    /// @param account The account.
    /// @param token The token.
    /// @param cumulative The claimed cumulative amount.
    /// @param claimed What the account already claimed.
    error RewardDistributorNothingToClaim(address account, address token, uint256 cumulative, uint256 claimed);

    /// @notice Thrown when paying a claim would take a token's total claimed above its active posted total, which
    /// only a root whose leaves add up to more than its totals can cause.
    /// @param token The token.
    /// @param totalClaimed The total claimed, with the claim.
    /// @param totalPosted The active posted cumulative total.
    error RewardDistributorExceedsPostedTotal(address token, uint256 totalClaimed, uint256 totalPosted);

    /// @notice Thrown when an oracle message lists the zero address or the reward token among settlement tokens.
    /// @param token The token.
    error RewardDistributorInvalidToken(address token);

    /// @notice Thrown when an oracle message's settlement tokens are not in strictly ascending order.
    /// @param previous The token before.
    /// @param token The token that is not above it.
    error RewardDistributorUnsortedTokens(address previous, address token);

    /// @notice Thrown when an oracle message lowers a settlement token's cumulative total.
    /// @param token The token.
    /// @param cumulativeTotal The message's total.
    /// @param previousTotal The active total.
    error RewardDistributorDecreasingTokenTotal(address token, uint256 cumulativeTotal, uint256 previousTotal);

    /// @notice Thrown when an oracle message raises a settlement token's total by more than its epoch cap.
    /// @param token The token.
    /// @param increase The raise.
    /// @param cap The token's epoch cap.
    error RewardDistributorTokenEpochCapExceeded(address token, uint256 increase, uint256 cap);

    /// @notice Thrown when an oracle message promises more of a settlement token than this contract holds plus has
    /// already paid out of it: contributors are never promised more than the pools paid in.
    /// @param token The token.
    /// @param cumulativeTotal The message's total.
    /// @param available Balance plus total claimed.
    error RewardDistributorUnderfunded(address token, uint256 cumulativeTotal, uint256 available);

    /// @notice Thrown when a claim would pay the zero address.
    error RewardDistributorZeroRecipient();

    /// @notice Thrown when a relayed claim is submitted after its deadline.
    /// @param deadline The deadline.
    error RewardDistributorExpiredSignature(uint256 deadline);

    /// @notice Thrown when a relayed claim's signature is not the account's over the claim and its current nonce.
    /// @param account The account.
    error RewardDistributorInvalidClaimSignature(address account);

    /// @notice Emitted when an oracle set version is installed, at deployment or by a rotation.
    /// @param version The new version: 1, 2, 3…
    /// @param oracles The oracles.
    /// @param threshold How many of them must sign.
    event OracleSetRotated(uint32 indexed version, address[] oracles, uint32 threshold);

    /// @notice Emitted when a rotation gives the superseded oracle set an expiry.
    /// @param version The superseded version.
    /// @param expiresAt When it stops being accepted.
    event OracleSetExpirySet(uint32 indexed version, uint64 expiresAt);

    /// @notice Emitted when the reward token's epoch cap changes.
    /// @param cap The new cap.
    event EpochCapUpdated(uint256 cap);

    /// @notice Emitted when a settlement token's epoch cap changes.
    /// @param token The token.
    /// @param cap The new cap.
    event TokenEpochCapUpdated(address indexed token, uint256 cap);

    /// @notice Emitted with {RootPosted}, once per settlement token the message lists.
    /// @param epoch The epoch.
    /// @param token The settlement token.
    /// @param cumulativeTotal Its new cumulative total.
    event TokenTotalPosted(uint64 indexed epoch, address indexed token, uint256 cumulativeTotal);

    /// @notice Emitted when the challenge period changes.
    /// @param period The new period, in seconds.
    event ChallengePeriodUpdated(uint64 period);

    /// @notice Emitted when a posted root's challenge period is over and it becomes the root claims are paid against.
    /// @param epoch The epoch.
    /// @param root The root.
    event RootActivated(uint64 indexed epoch, bytes32 indexed root);

    /// @notice Emitted when a guardian vetoes a pending root; the last posted epoch falls back to the active one.
    /// @param epoch The vetoed epoch.
    /// @param root The vetoed root.
    /// @param guardian The guardian.
    event RootVetoed(uint64 indexed epoch, bytes32 indexed root, address indexed guardian);

    /// @notice Emitted when an oracle message is accepted; its root pays once its challenge period is over.
    /// @param epoch The epoch.
    /// @param root The new root.
    /// @param cumulativeTotal The new cumulative total.
    /// @param fromBlock The first audit-chain block covered.
    /// @param toBlock The last audit-chain block covered.
    /// @param rulesVersion The reward rules version.
    /// @param oracleSetVersion The oracle set that signed.
    event RootPosted(
        uint64 indexed epoch,
        bytes32 indexed root,
        uint256 cumulativeTotal,
        uint64 fromBlock,
        uint64 toBlock,
        uint32 rulesVersion,
        uint32 indexed oracleSetVersion
    );

    /// @notice Emitted when a claim is paid.
    /// @param account The account whose entitlement was claimed.
    /// @param token The token paid.
    /// @param recipient Who received the tokens: the account, or the address it named in a relayed claim.
    /// @param amount The amount paid.
    /// @param cumulative The account's cumulative claimed amount in the token, now.
    event Claimed(
        address indexed account,
        address indexed token,
        address indexed recipient,
        uint256 amount,
        uint256 cumulative
    );

    /// @notice The role allowed to pause and unpause posting and claiming.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice The role allowed to veto a pending root.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice The role allowed to pay many accounts their claims in one transaction ({claimBatch}).
    function BATCH_CLAIMER_ROLE() external view returns (bytes32);

    /// @notice The longest challenge period, in seconds.
    function MAX_CHALLENGE_PERIOD() external view returns (uint64);

    /// @notice Posts a new root signed by at least the threshold of the named oracle set. It is pending for the
    /// challenge period, then becomes the only root claims are checked against.
    /// @dev Anyone can post: the signatures are the authorization. Reverts when paused, and while the last posted
    /// root is still pending.
    /// @param message The oracle message: this distributor on this chain, from its source chain; a non-zero root; the
    /// epoch after the last; a block range starting right after the last; a cumulative total not below the last and
    /// not above it by more than the epoch cap; a current oracle set, or the previous one within its grace period.
    /// @param signatures The 65-byte signatures of distinct members of the named set over {oracleMessageDigest}, in
    /// strictly ascending order of signer address; at least the set's threshold of them, all valid.
    function postRoot(OracleMessage calldata message, bytes[] calldata signatures) external;

    /// @notice Pays `account` what its cumulative entitlement in `token` in the current root exceeds what it
    /// already claimed: minted for the reward token, transferred from this contract's balance for a settlement token.
    /// @dev Only `account` itself, so that a relayed {claimWithSignature} cannot be front-run into paying the account
    /// instead of the recipient it signed for. Reverts when paused.
    /// @param account The account.
    /// @param token_ The token.
    /// @param cumulative The account's cumulative entitlement in the token, as in its leaf.
    /// @param proof The Merkle proof of the leaf `(account, token, cumulative)` in the current root.
    /// @return amount The amount paid: `cumulative - claimedOf(account, token)` before the call.
    function claim(
        address account,
        address token_,
        uint256 cumulative,
        bytes32[] calldata proof
    ) external returns (uint256 amount);

    /// @notice Pays many accounts their claims in one token, each to itself, in one transaction.
    /// @dev Only a batch claimer (a relayer paying gas for contributors; trusted not to front-run relayed claims,
    /// which a batch would turn into payments to the account itself). An entry with nothing left to claim is
    /// skipped; a bad proof reverts the batch. Reverts when paused.
    /// @param token_ The token.
    /// @param claims The entries.
    /// @return paid The total paid.
    function claimBatch(address token_, BatchClaim[] calldata claims) external returns (uint256 paid);

    /// @notice Pays an account's claim to the address it names, relayed by anyone, who pays the gas.
    /// @dev The account signs {claimDigest} over its current nonce, which the call consumes. Reverts when paused.
    /// @param account The account.
    /// @param token_ The token.
    /// @param cumulative The account's cumulative entitlement in the token, as in its leaf.
    /// @param proof The Merkle proof of the leaf `(account, token, cumulative)` in the current root.
    /// @param recipient Who receives the tokens; not zero.
    /// @param deadline The last second at which the claim can be submitted.
    /// @param signature The account's signature: ECDSA for an EOA, ERC-1271 for a contract.
    /// @return amount The amount paid.
    function claimWithSignature(
        address account,
        address token_,
        uint256 cumulative,
        bytes32[] calldata proof,
        address recipient,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 amount);

    /// @notice Vetoes the pending root: it never pays, and the next post is its epoch again.
    /// @dev Only a guardian, before the root's challenge period is over. Works while paused.
    /// @param epoch The pending epoch.
    function vetoRoot(uint64 epoch) external;

    /// @notice Sets the challenge period of roots posted from now on.
    /// @dev Only the admin. At most {MAX_CHALLENGE_PERIOD}.
    /// @param period The period, in seconds.
    function setChallengePeriod(uint64 period) external;

    /// @notice Returns the challenge period, in seconds.
    function challengePeriod() external view returns (uint64);

    /// @notice Returns the root still in its challenge period; all zero when none.
    function pendingRoot() external view returns (PostedRoot memory);

    /// @notice Returns the last audit-chain block covered by the last posted epoch, pending or not.
    function lastToBlock() external view returns (uint64);

    /// @notice Returns the cumulative total of the root claims are paid against, which bounds the total claimed.
    function activeTotal() external view returns (uint256);

    /// @notice Installs a new oracle set as the current one. The superseded set stays accepted for
    /// {oracleSetGracePeriod} more seconds, so messages already signed by it can still be posted; every older set
    /// expires now.
    /// @dev Only the admin.
    /// @param oracles The oracles: not empty, no zero address, no duplicate; any order.
    /// @param threshold How many must sign: from 1 to the number of oracles.
    /// @return version The new version.
    function rotateOracleSet(address[] calldata oracles, uint32 threshold) external returns (uint32 version);

    /// @notice Sets the reward token's epoch cap: how much one posted root may raise its cumulative total.
    /// @dev Only the admin.
    /// @param cap The new cap.
    function setEpochCap(uint256 cap) external;

    /// @notice Sets a settlement token's epoch cap: how much one posted root may raise its cumulative total. Zero
    /// (the default) keeps the token out of posted roots.
    /// @dev Only the admin.
    /// @param token_ The settlement token.
    /// @param cap The new cap.
    function setTokenEpochCap(address token_, uint256 cap) external;

    /// @notice Stops posting and claiming.
    /// @dev Only the pauser.
    function pause() external;

    /// @notice Resumes posting and claiming.
    /// @dev Only the pauser.
    function unpause() external;

    /// @notice The reward token, minted on claims.
    function token() external view returns (IRewardToken);

    /// @notice A token's totals (the reward token's or a settlement token's).
    /// @param token_ The token.
    function tokenState(address token_) external view returns (TokenState memory);

    /// @notice The cumulative amount an account has claimed in a token.
    /// @param account The account.
    /// @param token_ The token.
    function claimedOf(address account, address token_) external view returns (uint256);

    /// @notice A settlement token's balance here that no active posted total promises: `balance + totalClaimed -
    /// activeTotal` (the unallocated remainder of contributor pools, plus anything sent here directly).
    /// @param token_ The settlement token.
    function unallocated(address token_) external view returns (uint256);

    /// @notice The audit chain this distributor takes oracle messages from.
    function sourceChainId() external view returns (uint256);

    /// @notice How long, in seconds, a superseded oracle set stays accepted after a rotation.
    function oracleSetGracePeriod() external view returns (uint64);

    /// @notice How much one posted root may raise the reward token's cumulative total.
    function epochCap() external view returns (uint256);

    /// @notice The root claims are checked against: the last one whose challenge period is over; zero before.
    function currentRoot() external view returns (bytes32);

    /// @notice The last posted epoch, pending or not; zero before the first post.
    function lastEpoch() external view returns (uint64);

    /// @notice The reward token's last posted cumulative total, pending or not.
    function totalPosted() external view returns (uint256);

    /// @notice The total of the reward token paid out by claims.
    function totalClaimed() external view returns (uint256);

    /// @notice The cumulative amount of the reward token an account has claimed.
    /// @param account The account.
    function claimed(address account) external view returns (uint256);

    /// @notice The current oracle set version.
    function oracleSetVersion() external view returns (uint32);

    /// @notice Returns an oracle set version; empty for an unknown version.
    /// @param version The version.
    function getOracleSet(uint32 version) external view returns (OracleSet memory);

    /// @notice Returns whether an address is a member of an oracle set version.
    /// @param version The version.
    /// @param account The address.
    function isOracle(uint32 version, address account) external view returns (bool);

    /// @notice Returns the EIP-712 digest the oracles sign for a message.
    /// @param message The message.
    function oracleMessageDigest(OracleMessage calldata message) external view returns (bytes32);

    /// @notice Returns the EIP-712 digest an account signs for a relayed claim.
    /// @param account The account.
    /// @param token_ The token.
    /// @param cumulative The cumulative amount.
    /// @param recipient The recipient.
    /// @param nonce The account's nonce (see {nonces}).
    /// @param deadline The deadline.
    function claimDigest(
        address account,
        address token_,
        uint256 cumulative,
        address recipient,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32);

    /// @notice Returns the Merkle leaf of an entitlement: `keccak256(bytes.concat(keccak256(abi.encode(account,
    /// token, cumulative))))`.
    /// @param account The account.
    /// @param token_ The token.
    /// @param cumulative The cumulative amount.
    function rewardLeaf(address account, address token_, uint256 cumulative) external pure returns (bytes32);

    /// @notice Returns the next nonce of an account's relayed claims.
    /// @param owner The account.
    function nonces(address owner) external view returns (uint256);
}
