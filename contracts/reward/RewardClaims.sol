// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {IRewardToken} from "../interfaces/IRewardToken.sol";
import {RewardRoots} from "./RewardRoots.sol";

/// @title RewardClaims
/// @notice The RewardDistributor's claims: an account's cumulative entitlement per token, proved against the active
/// root, pays what it exceeds the amount already claimed; directly, relayed with the account's signature, or in a
/// batch. See {RewardDistributor} for the trust assumptions.
/// @dev Where the claimed amounts live, for gas (issue 13): the reward token's in the token itself, beside the
/// claimant's balance ({IRewardToken-mintClaim}), so a first claim paid to the claimant writes one fresh slot and
/// the reward token's supply is its total claimed; a settlement token's here, with its total claimed in its
/// token record. State is written before every settlement-token transfer.
abstract contract RewardClaims is RewardRoots, Nonces {
    /// @inheritdoc IRewardDistributor
    bytes32 public constant BATCH_CLAIMER_ROLE = keccak256("BATCH_CLAIMER_ROLE");

    bytes32 private constant CLAIM_TYPEHASH =
        keccak256(
            "Claim(address account,address token,uint256 cumulative,address recipient,uint256 nonce,uint256 deadline)"
        );

    // Settlement tokens only: the reward token's claimed amounts are in the token.
    mapping(address account => mapping(address token => uint256)) private _claimed;

    /// @inheritdoc IRewardDistributor
    function claim(
        address account,
        address token_,
        uint256 cumulative,
        bytes32[] calldata proof
    ) external whenNotPaused returns (uint256 amount) {
        if (msg.sender != account) revert RewardDistributorUnauthorizedClaim(msg.sender, account);
        return _claim(account, token_, cumulative, proof, account);
    }

    /// @inheritdoc IRewardDistributor
    function claimBatch(
        address token_,
        BatchClaim[] calldata claims
    ) external whenNotPaused onlyRole(BATCH_CLAIMER_ROLE) returns (uint256 paid) {
        bytes32 root = _currentRootForClaims();
        bool isReward = token_ == address(_token);
        for (uint256 i = 0; i < claims.length; ++i) {
            BatchClaim calldata c = claims[i];
            address account = c.account;
            uint256 cumulative = c.cumulative;
            _checkProof(c.proof, root, account, token_, cumulative);
            (uint256 amount, ) = isReward
                ? _payReward(account, account, cumulative)
                : _paySettlement(token_, account, account, cumulative);
            paid += amount;
        }
    }

    /// @inheritdoc IRewardDistributor
    /// @dev The nonce is consumed before the signature is checked; a failed check reverts and so consumes nothing.
    function claimWithSignature(
        address account,
        address token_,
        uint256 cumulative,
        bytes32[] calldata proof,
        address recipient,
        uint256 deadline,
        bytes calldata signature
    ) external whenNotPaused returns (uint256 amount) {
        if (block.timestamp > deadline) revert RewardDistributorExpiredSignature(deadline);
        // The digest is {claimDigest}, built in two parts: the whole argument list does not fit the stack.
        bytes memory head = abi.encode(CLAIM_TYPEHASH, account, token_, cumulative);
        uint256 nonce = _useNonce(account);
        bytes32 digest = _hashTypedDataV4(keccak256(bytes.concat(head, abi.encode(recipient, nonce, deadline))));
        if (!SignatureChecker.isValidSignatureNowCalldata(account, digest, signature)) {
            revert RewardDistributorInvalidClaimSignature(account);
        }
        return _claim(account, token_, cumulative, proof, recipient);
    }

    /// @inheritdoc IRewardDistributor
    function token() external view returns (IRewardToken) {
        return _token;
    }

    /// @inheritdoc IRewardDistributor
    function tokenState(address token_) external view returns (TokenState memory) {
        if (token_ == address(_token)) {
            return
                TokenState(
                    _lastPosted().cumulativeTotal,
                    _effectiveActive().cumulativeTotal,
                    _token.totalSupply(),
                    _epochCap
                );
        }
        TokenRecord storage r = _tokens[token_];
        return TokenState(_tokenPostedTotal(r), _tokenActiveTotalView(r), r.claimed, r.epochCap);
    }

    /// @inheritdoc IRewardDistributor
    function claimedOf(address account, address token_) external view returns (uint256) {
        if (token_ == address(_token)) return _token.claimedOf(account);
        return _claimed[account][token_];
    }

    /// @inheritdoc IRewardDistributor
    function unallocated(address token_) external view returns (uint256) {
        if (token_ == address(_token)) return 0;
        TokenRecord storage r = _tokens[token_];
        uint256 held = IERC20(token_).balanceOf(address(this)) + r.claimed;
        uint256 active = _tokenActiveTotalView(r);
        return held > active ? held - active : 0;
    }

    /// @inheritdoc IRewardDistributor
    /// @dev The reward token's supply: only claims mint it.
    function totalClaimed() external view returns (uint256) {
        return _token.totalSupply();
    }

    /// @inheritdoc IRewardDistributor
    function claimed(address account) external view returns (uint256) {
        return _token.claimedOf(account);
    }

    /// @inheritdoc IRewardDistributor
    function claimDigest(
        address account,
        address token_,
        uint256 cumulative,
        address recipient,
        uint256 nonce,
        uint256 deadline
    ) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(CLAIM_TYPEHASH, account, token_, cumulative, recipient, nonce, deadline))
            );
    }

    /// @inheritdoc IRewardDistributor
    function rewardLeaf(address account, address token_, uint256 cumulative) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, token_, cumulative))));
    }

    /// @inheritdoc IRewardDistributor
    function nonces(address owner) public view override(IRewardDistributor, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @dev Pays `recipient` what `account`'s entitlement in `token_` in the current root exceeds what it claimed.
    function _claim(
        address account,
        address token_,
        uint256 cumulative,
        bytes32[] calldata proof,
        address recipient
    ) private returns (uint256 amount) {
        if (recipient == address(0)) revert RewardDistributorZeroRecipient();
        _checkProof(proof, _currentRootForClaims(), account, token_, cumulative);
        uint256 already;
        (amount, already) = token_ == address(_token)
            ? _payReward(account, recipient, cumulative)
            : _paySettlement(token_, account, recipient, cumulative);
        if (amount == 0) revert RewardDistributorNothingToClaim(account, token_, cumulative, already);
    }

    /// @dev Mints the reward token for a proved entitlement: the token records the claimed amount and mints the
    /// difference; the supply (everything claimed) must stay within the active total. Pays nothing, and answers
    /// what was claimed, when the entitlement is not above it.
    function _payReward(
        address account,
        address recipient,
        uint256 cumulative
    ) private returns (uint256 amount, uint256 already) {
        uint256 supply;
        (already, supply) = _token.mintClaim(account, recipient, cumulative);
        if (cumulative <= already) return (0, already);
        if (supply > _activeRewardTotalCapped) {
            revert RewardDistributorExceedsPostedTotal(address(_token), supply, _active.cumulativeTotal);
        }
        amount = cumulative - already;
        emit Claimed(account, address(_token), recipient, amount, cumulative);
    }

    /// @dev Transfers a settlement token for a proved entitlement, after recording it and counting it against the
    /// token's active total (reverting above it). Pays nothing, and answers what was claimed, when the entitlement is
    /// not above it.
    function _paySettlement(
        address token_,
        address account,
        address recipient,
        uint256 cumulative
    ) private returns (uint256 amount, uint256 already) {
        already = _claimed[account][token_];
        if (cumulative <= already) return (0, already);
        amount = cumulative - already;
        _claimed[account][token_] = cumulative;
        TokenRecord storage r = _tokens[token_];
        uint256 newTotal = r.claimed + amount;
        uint256 posted = _tokenActiveTotal(r);
        r.claimed = newTotal;
        if (newTotal > posted) revert RewardDistributorExceedsPostedTotal(token_, newTotal, posted);
        emit Claimed(account, token_, recipient, amount, cumulative);
        SafeERC20.safeTransfer(IERC20(token_), recipient, amount);
    }

    /// @dev Activates a due root and returns the root claims are checked against; reverts when there is none.
    function _currentRootForClaims() private returns (bytes32 root) {
        _activateDueRoot();
        root = _active.root;
        if (root == bytes32(0)) revert RewardDistributorNoRoot();
    }

    /// @dev Reverts unless `proof` leads from the leaf `(account, token_, cumulative)` to `root`.
    function _checkProof(
        bytes32[] calldata proof,
        bytes32 root,
        address account,
        address token_,
        uint256 cumulative
    ) private pure {
        if (!MerkleProof.verifyCalldata(proof, root, rewardLeaf(account, token_, cumulative))) {
            revert RewardDistributorInvalidProof(account, token_, cumulative);
        }
    }
}
