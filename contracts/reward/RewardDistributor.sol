// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {IRewardToken} from "../interfaces/IRewardToken.sol";

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
contract RewardDistributor is IRewardDistributor, AccessControl, EIP712, Nonces, Pausable {
    /// @dev A version of the oracle set; its members live in `_isOracle` and `_oracles`. One slot.
    struct OracleSetRecord {
        uint32 threshold;
        uint64 expiresAt;
    }

    /// @inheritdoc IRewardDistributor
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @inheritdoc IRewardDistributor
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @inheritdoc IRewardDistributor
    bytes32 public constant BATCH_CLAIMER_ROLE = keccak256("BATCH_CLAIMER_ROLE");

    /// @inheritdoc IRewardDistributor
    uint64 public constant MAX_CHALLENGE_PERIOD = 7 days;

    /// @dev A settlement token's totals. `posted` was set by post `postId`; while that post is pending or was vetoed,
    /// the active total is `previous` (lazy: nothing iterates tokens when a root activates or is vetoed).
    struct TokenRecord {
        uint256 posted;
        uint256 previous;
        uint256 claimed;
        uint256 epochCap;
        uint64 postId;
    }

    bytes32 private constant ORACLE_MESSAGE_TYPEHASH =
        keccak256(
            "OracleMessage(uint256 sourceChainId,uint256 destinationChainId,address distributor,uint64 epoch,"
            "bytes32 root,uint256 cumulativeTotal,uint64 fromBlock,uint64 toBlock,uint32 rulesVersion,"
            "uint32 oracleSetVersion,TokenTotal[] tokenTotals)TokenTotal(address token,uint256 cumulativeTotal)"
        );

    bytes32 private constant TOKEN_TOTAL_TYPEHASH = keccak256("TokenTotal(address token,uint256 cumulativeTotal)");

    bytes32 private constant CLAIM_TYPEHASH =
        keccak256(
            "Claim(address account,address token,uint256 cumulative,address recipient,uint256 nonce,uint256 deadline)"
        );

    IRewardToken private immutable _token;
    uint256 private immutable _sourceChainId;
    uint64 private immutable _oracleSetGracePeriod;

    // The root claims are paid against, and the one in its challenge period (zero root: none).
    PostedRoot private _active;
    PostedRoot private _pending;
    uint64 private _challengePeriod;
    uint32 private _oracleSetVersion;
    // Every accepted post, vetoed or not, numbered from 1; the pending root, if any, is the last.
    uint64 private _postCount;
    uint256 private _totalClaimed;
    uint256 private _epochCap;
    mapping(address account => mapping(address token => uint256)) private _claimed;
    mapping(address token => TokenRecord) private _tokens;
    mapping(uint64 postId => bool) private _vetoed;

    mapping(uint32 version => OracleSetRecord) private _sets;
    mapping(uint32 version => address[]) private _oracles;
    mapping(uint32 version => mapping(address account => bool)) private _isOracle;

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
    ) EIP712("SensorSeal Rewards", "1") {
        if (address(token_) == address(0)) revert RewardDistributorZeroToken();
        _token = token_;
        _sourceChainId = sourceChainId_;
        _oracleSetGracePeriod = oracleSetGracePeriod_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _installOracleSet(oracles, threshold);
        _epochCap = epochCap_;
        emit EpochCapUpdated(epochCap_);
        _setChallengePeriod(challengePeriod_);
    }

    // ---------------------------------------------------------------- posting

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
        _checkOracleSignatures(message, signatures);

        uint64 postId = ++_postCount;
        _postTokenTotals(message, postId);
        _pending = PostedRoot({
            root: message.root,
            cumulativeTotal: message.cumulativeTotal,
            epoch: message.epoch,
            toBlock: message.toBlock,
            validAt: uint64(block.timestamp) + _challengePeriod
        });
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

    // ---------------------------------------------------------------- claiming

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
        for (uint256 i = 0; i < claims.length; ++i) {
            BatchClaim calldata c = claims[i];
            address account = c.account;
            uint256 cumulative = c.cumulative;
            if (!MerkleProof.verifyCalldata(c.proof, root, rewardLeaf(account, token_, cumulative))) {
                revert RewardDistributorInvalidProof(account, token_, cumulative);
            }
            uint256 already = _claimed[account][token_];
            if (cumulative <= already) continue;
            uint256 amount = cumulative - already;
            _claimed[account][token_] = cumulative;
            paid += amount;
            _pay(token_, account, account, amount, cumulative);
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
        _checkClaimSignature(digest, account, signature);
        return _claim(account, token_, cumulative, proof, recipient);
    }

    // ---------------------------------------------------------------- administration

    /// @inheritdoc IRewardDistributor
    function rotateOracleSet(
        address[] calldata oracles,
        uint32 threshold
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint32 version) {
        uint32 previous = _oracleSetVersion;
        uint64 nowTs = uint64(block.timestamp);
        if (previous > 1) {
            // The set superseded by the last rotation may still be in its grace period: end it now.
            OracleSetRecord storage older = _sets[previous - 1];
            if (older.expiresAt > nowTs) {
                older.expiresAt = nowTs;
                emit OracleSetExpirySet(previous - 1, nowTs);
            }
        }
        uint256 end = block.timestamp + _oracleSetGracePeriod;
        uint64 expiresAt = end > type(uint64).max ? type(uint64).max : uint64(end);
        _sets[previous].expiresAt = expiresAt;
        emit OracleSetExpirySet(previous, expiresAt);
        return _installOracleSet(oracles, threshold);
    }

    /// @inheritdoc IRewardDistributor
    function setEpochCap(uint256 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _epochCap = cap;
        emit EpochCapUpdated(cap);
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
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IRewardDistributor
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IRewardDistributor
    function token() external view returns (IRewardToken) {
        return _token;
    }

    /// @inheritdoc IRewardDistributor
    function tokenState(address token_) external view returns (TokenState memory) {
        if (token_ == address(_token)) {
            return TokenState(_lastPosted().cumulativeTotal, _effectiveActive().cumulativeTotal, _totalClaimed, _epochCap);
        }
        TokenRecord storage r = _tokens[token_];
        uint256 posted = _vetoed[r.postId] ? r.previous : r.posted;
        return TokenState(posted, _tokenActiveTotalView(r), r.claimed, r.epochCap);
    }

    /// @inheritdoc IRewardDistributor
    function claimedOf(address account, address token_) external view returns (uint256) {
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
    function sourceChainId() external view returns (uint256) {
        return _sourceChainId;
    }

    /// @inheritdoc IRewardDistributor
    function oracleSetGracePeriod() external view returns (uint64) {
        return _oracleSetGracePeriod;
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
    function totalClaimed() external view returns (uint256) {
        return _totalClaimed;
    }

    /// @inheritdoc IRewardDistributor
    function claimed(address account) external view returns (uint256) {
        return _claimed[account][address(_token)];
    }

    /// @inheritdoc IRewardDistributor
    function oracleSetVersion() external view returns (uint32) {
        return _oracleSetVersion;
    }

    /// @inheritdoc IRewardDistributor
    function getOracleSet(uint32 version) external view returns (OracleSet memory) {
        OracleSetRecord storage set = _sets[version];
        return OracleSet({oracles: _oracles[version], threshold: set.threshold, expiresAt: set.expiresAt});
    }

    /// @inheritdoc IRewardDistributor
    function isOracle(uint32 version, address account) external view returns (bool) {
        return _isOracle[version][account];
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

    // ---------------------------------------------------------------- internals

    /// @dev Reverts unless the message names an accepted oracle set and carries at least its threshold of valid
    /// signatures by distinct members, in strictly ascending order of signer.
    function _checkOracleSignatures(OracleMessage calldata message, bytes[] calldata signatures) private view {
        uint32 version = message.oracleSetVersion;
        if (version == 0 || version > _oracleSetVersion) revert RewardDistributorUnknownOracleSet(version);
        OracleSetRecord memory set = _sets[version];
        if (set.expiresAt != 0 && block.timestamp >= set.expiresAt) {
            revert RewardDistributorOracleSetExpired(version, set.expiresAt);
        }
        if (signatures.length < set.threshold) {
            revert RewardDistributorInsufficientSignatures(signatures.length, set.threshold);
        }

        bytes32 digest = oracleMessageDigest(message);
        mapping(address account => bool) storage members = _isOracle[version];
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert RewardDistributorInvalidSignature(i);
            if (!members[signer]) revert RewardDistributorUnknownSigner(version, signer);
            if (signer <= previous) revert RewardDistributorUnsortedSigners(previous, signer);
            previous = signer;
        }
    }

    /// @dev Reverts unless `signature` is the account's over `digest` (ECDSA for an EOA, ERC-1271 for a contract).
    function _checkClaimSignature(bytes32 digest, address account, bytes calldata signature) private view {
        if (!SignatureChecker.isValidSignatureNowCalldata(account, digest, signature)) {
            revert RewardDistributorInvalidClaimSignature(account);
        }
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
        bytes32 root = _currentRootForClaims();
        if (!MerkleProof.verifyCalldata(proof, root, rewardLeaf(account, token_, cumulative))) {
            revert RewardDistributorInvalidProof(account, token_, cumulative);
        }
        uint256 already = _claimed[account][token_];
        if (cumulative <= already) revert RewardDistributorNothingToClaim(account, token_, cumulative, already);
        amount = cumulative - already;
        _claimed[account][token_] = cumulative;
        _pay(token_, account, recipient, amount, cumulative);
    }

    /// @dev Activates a due root and returns the root claims are checked against; reverts when there is none.
    function _currentRootForClaims() private returns (bytes32 root) {
        _activateDueRoot();
        root = _active.root;
        if (root == bytes32(0)) revert RewardDistributorNoRoot();
    }

    /// @dev Counts `amount` against the token's active total (reverting above it), then pays it: mints the reward
    /// token, transfers a settlement token. The account's claimed amount is already written.
    function _pay(address token_, address account, address recipient, uint256 amount, uint256 cumulative) private {
        uint256 newTotal;
        uint256 posted;
        bool isReward = token_ == address(_token);
        if (isReward) {
            newTotal = _totalClaimed + amount;
            posted = _active.cumulativeTotal;
            _totalClaimed = newTotal;
        } else {
            TokenRecord storage r = _tokens[token_];
            newTotal = r.claimed + amount;
            posted = _tokenActiveTotal(r);
            r.claimed = newTotal;
        }
        if (newTotal > posted) revert RewardDistributorExceedsPostedTotal(token_, newTotal, posted);
        emit Claimed(account, token_, recipient, amount, cumulative);
        if (isReward) _token.mint(recipient, amount);
        else SafeERC20.safeTransfer(IERC20(token_), recipient, amount);
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

    /// @dev A settlement token's active total, once a due root was activated: its last posted total unless that
    /// post is still pending or was vetoed.
    function _tokenActiveTotal(TokenRecord storage r) private view returns (uint256) {
        uint64 postId = r.postId;
        if (_vetoed[postId]) return r.previous;
        if (postId == _postCount && _pending.root != bytes32(0)) return r.previous;
        return r.posted;
    }

    /// @dev {_tokenActiveTotal} for views, counting a pending root whose challenge period is over as active.
    function _tokenActiveTotalView(TokenRecord storage r) private view returns (uint256) {
        uint64 postId = r.postId;
        if (_vetoed[postId]) return r.previous;
        PostedRoot storage pending = _pending;
        if (postId == _postCount && pending.root != bytes32(0) && block.timestamp < pending.validAt) {
            return r.previous;
        }
        return r.posted;
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

    /// @dev Makes the pending root the active one once its challenge period is over.
    function _activateDueRoot() private {
        PostedRoot storage pending = _pending;
        if (pending.root == bytes32(0) || block.timestamp < pending.validAt) return;
        _active = pending;
        delete _pending;
        emit RootActivated(_active.epoch, _active.root);
    }

    /// @dev The root claims are paid against, counting a pending root whose challenge period is over.
    function _effectiveActive() private view returns (PostedRoot memory) {
        PostedRoot storage pending = _pending;
        if (pending.root != bytes32(0) && block.timestamp >= pending.validAt) return pending;
        return _active;
    }

    /// @dev The last posted root: the pending one if any, else the active one.
    function _lastPosted() private view returns (PostedRoot storage) {
        return _pending.root != bytes32(0) ? _pending : _active;
    }

    /// @dev Sets the challenge period, within its bound.
    function _setChallengePeriod(uint64 period) private {
        if (period > MAX_CHALLENGE_PERIOD) revert RewardDistributorChallengePeriodTooLong(period, MAX_CHALLENGE_PERIOD);
        _challengePeriod = period;
        emit ChallengePeriodUpdated(period);
    }

    /// @dev Installs the next oracle set version as the current one.
    function _installOracleSet(address[] memory oracles, uint32 threshold) private returns (uint32 version) {
        uint256 count = oracles.length;
        if (count == 0) revert RewardDistributorEmptyOracleSet();
        if (threshold == 0 || threshold > count) revert RewardDistributorInvalidThreshold(threshold, count);
        version = _oracleSetVersion + 1;
        mapping(address account => bool) storage members = _isOracle[version];
        for (uint256 i = 0; i < count; ++i) {
            address oracle = oracles[i];
            if (oracle == address(0)) revert RewardDistributorZeroOracle();
            if (members[oracle]) revert RewardDistributorDuplicateOracle(oracle);
            members[oracle] = true;
        }
        _oracles[version] = oracles;
        _sets[version] = OracleSetRecord({threshold: threshold, expiresAt: 0});
        _oracleSetVersion = version;
        emit OracleSetRotated(version, oracles, threshold);
    }
}
