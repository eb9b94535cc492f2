// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {IRewardToken} from "../interfaces/IRewardToken.sol";
import {OracleSets} from "./OracleSets.sol";

/// @title RewardRoots
/// @notice The RewardDistributor's root posting: accepts oracle messages signed by an accepted oracle set, keeps
/// epochs and audit-chain block ranges contiguous, bounds each token's total by its epoch cap (and a settlement
/// token's by what it holds), holds a posted root for its challenge period (guardians veto), then activates it. See
/// {RewardDistributor} for the trust assumptions.
/// @dev Activation is lazy: the pending root becomes the active one on the next post or claim after its challenge
/// period, and views count it as active from then on.
abstract contract RewardRoots is IRewardDistributor, OracleSets, EIP712, Pausable {
    /// @dev A settlement token's totals. `posted` was set by post `postId`; while that post is pending or was vetoed,
    /// the active total is `previous` (lazy: nothing iterates tokens when a root activates or is vetoed).
    struct TokenRecord {
        uint256 posted;
        uint256 previous;
        uint256 claimed;
        uint256 epochCap;
        uint64 postId;
    }

    /// @inheritdoc IRewardDistributor
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @inheritdoc IRewardDistributor
    uint64 public constant MAX_CHALLENGE_PERIOD = 7 days;

    bytes32 private constant ORACLE_MESSAGE_TYPEHASH =
        keccak256(
            "OracleMessage(uint256 sourceChainId,uint256 destinationChainId,address distributor,uint64 epoch,"
            "bytes32 root,uint256 cumulativeTotal,uint64 fromBlock,uint64 toBlock,uint32 rulesVersion,"
            "uint32 oracleSetVersion,TokenTotal[] tokenTotals)TokenTotal(address token,uint256 cumulativeTotal)"
        );

    bytes32 private constant TOKEN_TOTAL_TYPEHASH = keccak256("TokenTotal(address token,uint256 cumulativeTotal)");

    /// @dev The reward token, minted on claims.
    IRewardToken internal immutable _token;
    uint256 private immutable _sourceChainId;

    // What every claim reads, in one slot (declared first, so it also shares the slot of Pausable's flag just
    // before it): whether a root is pending and when it starts paying, and the active reward total capped at
    // 2^128 - 1. The token's supply never exceeds that cap, so comparing a supply with the capped total answers as
    // with the full one. Copies of `_pending` and `_active`, kept in step by {_activateDueRoot}, {postRoot} and
    // {vetoRoot}; they save a claim two cold reads (issue 13's claim gas target).
    bool private _hasPending;
    uint64 private _pendingValidAt;
    uint128 internal _activeRewardTotalCapped;

    // The root claims are paid against, and the one in its challenge period (zero root: none).
    PostedRoot internal _active;
    PostedRoot private _pending;
    uint64 private _challengePeriod;
    // Every accepted post, vetoed or not, numbered from 1; the pending root, if any, is the last.
    uint64 private _postCount;
    uint256 internal _epochCap;
    mapping(address token => TokenRecord) internal _tokens;
    mapping(uint64 postId => bool) private _vetoed;

    /// @param token_ The reward token.
    /// @param sourceChainId_ The audit chain the oracle messages come from.
    constructor(IRewardToken token_, uint256 sourceChainId_) {
        if (address(token_) == address(0)) revert RewardDistributorZeroToken();
        _token = token_;
        _sourceChainId = sourceChainId_;
    }

    /// @inheritdoc IRewardDistributor
    function postRoot(OracleMessage calldata message, bytes[] calldata signatures) external whenNotPaused {
        if (message.sourceChainId != _sourceChainId) {
            revert RewardDistributorWrongSourceChain(message.sourceChainId, _sourceChainId);
        }
        if (message.destinationChainId != block.chainid) {
            revert RewardDistributorWrongDestinationChain(message.destinationChainId, block.chainid);
        }
        if (message.distributor != address(this)) revert RewardDistributorWrongDistributor(message.distributor);
        if (message.root == bytes32(0)) revert RewardDistributorZeroRoot();
        if (message.fromBlock > message.toBlock) {
            revert RewardDistributorInvalidBlockRange(message.fromBlock, message.toBlock);
        }
        _activateDueRoot();
        PostedRoot storage pending = _pending;
        if (pending.root != bytes32(0)) revert RewardDistributorRootPending(pending.epoch, pending.validAt);
        PostedRoot storage last = _active;
        _checkContiguous(message, last.epoch, last.toBlock);
        uint256 previousTotal = last.cumulativeTotal;
        if (message.cumulativeTotal < previousTotal) {
            revert RewardDistributorDecreasingTotal(message.cumulativeTotal, previousTotal);
        }
        uint256 increase = message.cumulativeTotal - previousTotal;
        if (increase > _epochCap) revert RewardDistributorEpochCapExceeded(increase, _epochCap);
        _checkOracleSignatures(message.oracleSetVersion, oracleMessageDigest(message), signatures);

        uint64 postId = ++_postCount;
        _postTokenTotals(message, postId);
        uint64 validAt = uint64(block.timestamp) + _challengePeriod;
        _pending = PostedRoot({
            root: message.root,
            cumulativeTotal: message.cumulativeTotal,
            epoch: message.epoch,
            toBlock: message.toBlock,
            validAt: validAt
        });
        _hasPending = true;
        _pendingValidAt = validAt;
        emit RootPosted(
            message.epoch,
            message.root,
            message.cumulativeTotal,
            message.fromBlock,
            message.toBlock,
            message.rulesVersion,
            message.oracleSetVersion
        );
        _activateDueRoot();
    }

    /// @inheritdoc IRewardDistributor
    function vetoRoot(uint64 epoch) external onlyRole(GUARDIAN_ROLE) {
        PostedRoot memory pending = _pending;
        // Whether or not a due root was already made active, vetoing it answers the same.
        if (pending.root != bytes32(0) && pending.epoch == epoch) {
            if (block.timestamp >= pending.validAt) revert RewardDistributorChallengeOver(epoch, pending.validAt);
            delete _pending;
            _hasPending = false;
            _pendingValidAt = 0;
            _vetoed[_postCount] = true;
            emit RootVetoed(epoch, pending.root, msg.sender);
            return;
        }
        PostedRoot storage active = _active;
        if (active.root != bytes32(0) && active.epoch == epoch) {
            revert RewardDistributorChallengeOver(epoch, active.validAt);
        }
        revert RewardDistributorNoPendingRoot(epoch);
    }

    /// @inheritdoc IRewardDistributor
    function setEpochCap(uint256 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setEpochCap(cap);
    }

    /// @inheritdoc IRewardDistributor
    function setTokenEpochCap(address token_, uint256 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (token_ == address(0) || token_ == address(_token)) revert RewardDistributorInvalidToken(token_);
        _tokens[token_].epochCap = cap;
        emit TokenEpochCapUpdated(token_, cap);
    }

    /// @inheritdoc IRewardDistributor
    function setChallengePeriod(uint64 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setChallengePeriod(period);
    }

    /// @inheritdoc IRewardDistributor
    function sourceChainId() external view returns (uint256) {
        return _sourceChainId;
    }

    /// @inheritdoc IRewardDistributor
    function epochCap() external view returns (uint256) {
        return _epochCap;
    }

    /// @inheritdoc IRewardDistributor
    function currentRoot() external view returns (bytes32) {
        return _effectiveActive().root;
    }

    /// @inheritdoc IRewardDistributor
    function lastEpoch() external view returns (uint64) {
        return _lastPosted().epoch;
    }

    /// @inheritdoc IRewardDistributor
    function totalPosted() external view returns (uint256) {
        return _lastPosted().cumulativeTotal;
    }

    /// @inheritdoc IRewardDistributor
    function lastToBlock() external view returns (uint64) {
        return _lastPosted().toBlock;
    }

    /// @inheritdoc IRewardDistributor
    function activeTotal() external view returns (uint256) {
        return _effectiveActive().cumulativeTotal;
    }

    /// @inheritdoc IRewardDistributor
    function pendingRoot() external view returns (PostedRoot memory) {
        PostedRoot storage pending = _pending;
        if (pending.root != bytes32(0) && block.timestamp >= pending.validAt) return PostedRoot(0, 0, 0, 0, 0);
        return pending;
    }

    /// @inheritdoc IRewardDistributor
    function challengePeriod() external view returns (uint64) {
        return _challengePeriod;
    }

    /// @inheritdoc IRewardDistributor
    function oracleMessageDigest(OracleMessage calldata message) public view returns (bytes32) {
        TokenTotal[] calldata totals = message.tokenTotals;
        bytes32[] memory hashes = new bytes32[](totals.length);
        for (uint256 i = 0; i < totals.length; ++i) {
            hashes[i] = keccak256(abi.encode(TOKEN_TOTAL_TYPEHASH, totals[i].token, totals[i].cumulativeTotal));
        }
        // encodeData: the ten static fields as abi.encode words, then the array as keccak256 of its struct hashes.
        bytes memory head = abi.encode(
            ORACLE_MESSAGE_TYPEHASH,
            message.sourceChainId,
            message.destinationChainId,
            message.distributor,
            message.epoch,
            message.root,
            message.cumulativeTotal
        );
        bytes memory tail = abi.encode(
            message.fromBlock,
            message.toBlock,
            message.rulesVersion,
            message.oracleSetVersion,
            keccak256(abi.encodePacked(hashes))
        );
        return _hashTypedDataV4(keccak256(bytes.concat(head, tail)));
    }

    /// @dev Makes the pending root the active one once its challenge period is over.
    function _activateDueRoot() internal {
        if (!_hasPending || block.timestamp < _pendingValidAt) return;
        PostedRoot storage active = _active;
        _active = _pending;
        delete _pending;
        uint256 total = active.cumulativeTotal;
        _hasPending = false;
        _pendingValidAt = 0;
        _activeRewardTotalCapped = total > type(uint128).max ? type(uint128).max : uint128(total);
        emit RootActivated(active.epoch, active.root);
    }

    /// @dev A settlement token's active total, once a due root was activated: its last posted total unless that
    /// post is still pending or was vetoed.
    function _tokenActiveTotal(TokenRecord storage r) internal view returns (uint256) {
        uint64 postId = r.postId;
        if (_vetoed[postId]) return r.previous;
        if (postId == _postCount && _pending.root != bytes32(0)) return r.previous;
        return r.posted;
    }

    /// @dev {_tokenActiveTotal} for views, counting a pending root whose challenge period is over as active.
    function _tokenActiveTotalView(TokenRecord storage r) internal view returns (uint256) {
        uint64 postId = r.postId;
        if (_vetoed[postId]) return r.previous;
        PostedRoot storage pending = _pending;
        if (postId == _postCount && pending.root != bytes32(0) && block.timestamp < pending.validAt) {
            return r.previous;
        }
        return r.posted;
    }

    /// @dev A settlement token's last posted total, pending or not, unless that post was vetoed.
    function _tokenPostedTotal(TokenRecord storage r) internal view returns (uint256) {
        return _vetoed[r.postId] ? r.previous : r.posted;
    }

    /// @dev The root claims are paid against, counting a pending root whose challenge period is over.
    function _effectiveActive() internal view returns (PostedRoot memory) {
        PostedRoot storage pending = _pending;
        if (pending.root != bytes32(0) && block.timestamp >= pending.validAt) return pending;
        return _active;
    }

    /// @dev The last posted root: the pending one if any, else the active one.
    function _lastPosted() internal view returns (PostedRoot storage) {
        return _pending.root != bytes32(0) ? _pending : _active;
    }

    /// @dev Sets the reward token's epoch cap.
    function _setEpochCap(uint256 cap) internal {
        _epochCap = cap;
        emit EpochCapUpdated(cap);
    }

    /// @dev Sets the challenge period, within its bound.
    function _setChallengePeriod(uint64 period) internal {
        if (period > MAX_CHALLENGE_PERIOD) revert RewardDistributorChallengePeriodTooLong(period, MAX_CHALLENGE_PERIOD);
        _challengePeriod = period;
        emit ChallengePeriodUpdated(period);
    }

    /// @dev Records the message's settlement-token totals as post `postId`: each token strictly after the previous,
    /// neither zero nor the reward token; not below its active total, raised by at most its epoch cap, and covered by
    /// what this contract holds plus has paid out of it. Called with no root pending.
    function _postTokenTotals(OracleMessage calldata message, uint64 postId) private {
        TokenTotal[] calldata totals = message.tokenTotals;
        address previousToken = address(0);
        for (uint256 i = 0; i < totals.length; ++i) {
            address token_ = totals[i].token;
            uint256 total = totals[i].cumulativeTotal;
            if (token_ == address(0) || token_ == address(_token)) revert RewardDistributorInvalidToken(token_);
            if (token_ <= previousToken) revert RewardDistributorUnsortedTokens(previousToken, token_);
            previousToken = token_;
            TokenRecord storage r = _tokens[token_];
            uint256 active = _tokenActiveTotal(r);
            if (total < active) revert RewardDistributorDecreasingTokenTotal(token_, total, active);
            if (total - active > r.epochCap) {
                revert RewardDistributorTokenEpochCapExceeded(token_, total - active, r.epochCap);
            }
            uint256 available = IERC20(token_).balanceOf(address(this)) + r.claimed;
            if (total > available) revert RewardDistributorUnderfunded(token_, total, available);
            r.previous = active;
            r.posted = total;
            r.postId = postId;
            emit TokenTotalPosted(message.epoch, token_, total);
        }
    }

    /// @dev Reverts unless the message's epoch and first block follow the last posted ones.
    function _checkContiguous(OracleMessage calldata message, uint64 lastEpoch_, uint64 lastToBlock_) private pure {
        if (message.epoch <= lastEpoch_) revert RewardDistributorStaleEpoch(message.epoch, lastEpoch_);
        if (message.epoch != lastEpoch_ + 1) revert RewardDistributorEpochGap(message.epoch, lastEpoch_ + 1);
        // The first epoch may start anywhere; every later one right after the last. Compared in 256 bits, so a
        // range ending at the largest block makes the next post impossible instead of overflowing (a guardian vetoes
        // such a root).
        uint256 expected = uint256(lastToBlock_) + 1;
        if (lastEpoch_ != 0 && message.fromBlock != expected) {
            revert RewardDistributorBlockRangeGap(message.fromBlock, expected);
        }
    }
}
