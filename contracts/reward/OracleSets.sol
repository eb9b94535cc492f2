// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";

/// @title OracleSets
/// @notice The RewardDistributor's versioned M-of-N oracle sets: installing and rotating them, and checking that a
/// digest carries the threshold of a set's signatures. See {RewardDistributor} for the trust assumptions.
/// @dev A rotation keeps the superseded set valid for {oracleSetGracePeriod} seconds and expires every older one at
/// once, so at most two sets are accepted at any time. Signatures are checked in one pass over strictly ascending
/// signers, which also rejects a signer counted twice (Hyperlane's multisig ISM idea).
abstract contract OracleSets is IRewardDistributor, AccessControl {
    /// @dev A version of the oracle set; its members live in `_isOracle` and `_oracles`. One slot.
    struct OracleSetRecord {
        uint32 threshold;
        uint64 expiresAt;
    }

    uint64 private immutable _oracleSetGracePeriod;
    uint32 private _oracleSetVersion;
    mapping(uint32 version => OracleSetRecord) private _sets;
    mapping(uint32 version => address[]) private _oracles;
    mapping(uint32 version => mapping(address account => bool)) private _isOracle;

    /// @param oracleSetGracePeriod_ How long a superseded oracle set stays accepted after a rotation, in seconds.
    /// @dev The deriving contract installs the first set with {_installOracleSet}.
    constructor(uint64 oracleSetGracePeriod_) {
        _oracleSetGracePeriod = oracleSetGracePeriod_;
    }

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
    function oracleSetGracePeriod() external view returns (uint64) {
        return _oracleSetGracePeriod;
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

    /// @dev Reverts unless `version` names an accepted oracle set and `signatures` holds at least its threshold of
    /// valid signatures over `digest` by distinct members, in strictly ascending order of signer.
    function _checkOracleSignatures(uint32 version, bytes32 digest, bytes[] calldata signatures) internal view {
        if (version == 0 || version > _oracleSetVersion) revert RewardDistributorUnknownOracleSet(version);
        OracleSetRecord memory set = _sets[version];
        if (set.expiresAt != 0 && block.timestamp >= set.expiresAt) {
            revert RewardDistributorOracleSetExpired(version, set.expiresAt);
        }
        if (signatures.length < set.threshold) {
            revert RewardDistributorInsufficientSignatures(signatures.length, set.threshold);
        }
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

    /// @dev Installs the next oracle set version as the current one.
    function _installOracleSet(address[] memory oracles, uint32 threshold) internal returns (uint32 version) {
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
