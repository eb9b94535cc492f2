// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";

import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {IRewardToken} from "../interfaces/IRewardToken.sol";
import {OracleSets} from "./OracleSets.sol";
import {RewardClaims} from "./RewardClaims.sol";
import {RewardRoots} from "./RewardRoots.sol";

/// @title RewardDistributor
/// @notice Takes reward roots signed by an M-of-N oracle committee and pays contributors' cumulative claims per
/// token: the reward token by minting it, settlement tokens (the data market's contributor pools) from this
/// contract's balance.
/// @dev Trust assumptions:
/// - The oracle committee is trusted, as a threshold, for the reward ledger: M members of the named set can post any
///   root. What the contract bounds regardless: the root is bound to this distributor on this chain and to the
///   configured source chain; epochs and audit-chain block ranges are contiguous, so a message is posted at most once,
///   never after a newer one, and no jump can exhaust the epoch or block numbers; the cumulative total never decreases
///   and rises by at most the epoch cap per post; and claims never pay out more in total than the active cumulative
///   total, whatever the root's leaves add up to.
/// - A posted root pays nothing during its challenge period, in which any guardian (GUARDIAN_ROLE) can veto it; a
///   vetoed root leaves no trace in the state but its events. So a malicious root — one that redistributes the
///   unclaimed backlog, or jumps the block range — pays nothing if one guardian is live during the period. A guardian
///   can only veto, never post or pay, so a dishonest one costs liveness, not funds. Without a live guardian the bound
///   is the epoch cap and the active total. See docs/TRUST-MODEL.md.
/// - Oracle keys are EOAs (secp256k1). Signatures are checked in one pass over strictly ascending signers, which
///   also rejects a signer counted twice; every signature given must be valid, and at least the threshold of them.
/// - The admin (DEFAULT_ADMIN_ROLE) is trusted to rotate the oracle set, set the epoch cap and grant roles. A
///   rotation keeps the superseded set valid for {oracleSetGracePeriod} seconds and expires every older one at once,
///   so at most two sets are accepted at any time.
/// - The pauser (PAUSER_ROLE) can stop posting and claiming, not redirect anything.
/// - Only the newest root counts: a proof against an older root no longer pays. Claims are cumulative, so a newer
///   root never takes back what was claimed and never pays twice for the same entitlement.
/// - A direct claim is made by the account itself and pays it; a relayed claim, submitted by anyone, pays the
///   recipient the account signed for, with a per-account nonce ({Nonces}) and a deadline. So a relayed claim cannot
///   be front-run into paying another address. A signature over a used nonce no longer matches and
///   fails as an invalid signature, as ERC-2612 permits do.
/// - Settlement tokens: a root never promises more of a token than this contract holds plus has paid out of it, a
///   token's total rises by at most its epoch cap (zero, i.e. never, until the admin sets one), and claims never pay
///   more than the token's active total. A settlement token is trusted to be a plain ERC-20 (no fee on transfer, no
///   rebasing); state is written before every transfer, so a re-entering token finds nothing more to pay.
/// - A batch claimer (BATCH_CLAIMER_ROLE) pays accounts to themselves; it is trusted not to front-run relayed claims.
/// - {multicall} (OpenZeppelin's, delegatecalls to this contract) keeps `msg.sender`, so an account claims several
///   tokens in one transaction with no new trust: there is no ERC-2771 context to spoof.
/// - Layout, one concern per contract: {OracleSets} (versioned oracle sets, M-of-N check), {RewardRoots} (posting,
///   veto, activation, caps), {RewardClaims} (claims and their accounting); this contract composes them, with the
///   constructor and pausing.
contract RewardDistributor is RewardClaims, Multicall {
    /// @inheritdoc IRewardDistributor
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @param token_ The reward token, which must bind this distributor as its minter
    /// (see {IRewardToken-setDistributor}).
    /// @param sourceChainId_ The audit chain the oracle messages come from.
    /// @param admin The account granted DEFAULT_ADMIN_ROLE: rotates oracle sets, sets the epoch cap, grants roles.
    /// @param oracles The first oracle set (version 1).
    /// @param threshold Its threshold.
    /// @param epochCap_ How much one posted root may raise the cumulative total.
    /// @param oracleSetGracePeriod_ How long a superseded oracle set stays accepted after a rotation, in seconds.
    /// @param challengePeriod_ How long a posted root waits before it pays, in seconds; a guardian may veto it meanwhile.
    constructor(
        IRewardToken token_,
        uint256 sourceChainId_,
        address admin,
        address[] memory oracles,
        uint32 threshold,
        uint256 epochCap_,
        uint64 oracleSetGracePeriod_,
        uint64 challengePeriod_
    )
        OracleSets(oracleSetGracePeriod_)
        EIP712("SensorSeal Rewards", "1")
        RewardRoots(token_, sourceChainId_)
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _installOracleSet(oracles, threshold);
        _setEpochCap(epochCap_);
        _setChallengePeriod(challengePeriod_);
    }

    /// @inheritdoc IRewardDistributor
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IRewardDistributor
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }
}
