// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {DeviceStatus, IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {IReadingAnchor} from "../interfaces/IReadingAnchor.sol";

/// @title ReadingAnchor
/// @notice Anchors the Merkle roots of batches of device-signed readings, takes single readings directly, and
/// verifies a reading against an anchored batch.
/// @dev Trust assumptions:
/// - The relayer (RELAYER_ROLE) is trusted for liveness only. It chooses what it anchors, but cannot forge or alter a
///   reading: {verifyReading} checks every reading against its device's key in the registry. A batch whose manifest
///   or tree is wrong only fails its own readings.
/// - The device registry is trusted for keys and statuses; it is fixed at deployment.
/// - A device's clock is not trusted: a reading is judged by the device status at its claimed time, and also by the
///   status when its batch was anchored (or now, for a direct submission), so a key stolen and then revoked cannot
///   back-date readings into later batches. Readings may be at most {MAX_CLOCK_SKEW} ahead of the chain's clock.
/// - {submitReading} is open to anyone: the signature is the authorization. Its sequence check makes a reading
///   submittable once, and older readings of the device no longer submittable after a newer one; gaps are allowed
///   and visible.
contract ReadingAnchor is IReadingAnchor, AccessControl, EIP712 {
    /// @dev The per-root record: the batch id with the batch's fixed-size fields, packed in one slot.
    struct RootRecord {
        uint64 batchId;
        uint32 leafCount;
        uint64 anchoredAt;
        uint64 blockNumber;
    }

    /// @inheritdoc IReadingAnchor
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");

    /// @inheritdoc IReadingAnchor
    uint64 public constant MAX_CLOCK_SKEW = 300;

    bytes32 private constant READING_TYPEHASH =
        keccak256("Reading(address device,uint64 seq,uint64 timestamp,bytes32 dataHash)");

    IDeviceRegistry private immutable _registry;

    // A batch takes three fresh slots: its root, its manifest hash, and the record keyed by its root (which both
    // rejects a repeated root and maps it back to the batch id).
    uint64 private _batchCount;
    mapping(uint256 batchId => bytes32 root) private _roots;
    mapping(uint256 batchId => bytes32 manifestHash) private _manifestHashes;
    mapping(bytes32 root => RootRecord) private _records;
    mapping(address device => uint64 seq) private _lastSequences;

    /// @param registry_ The device registry.
    /// @param admin The account granted DEFAULT_ADMIN_ROLE, which grants RELAYER_ROLE.
    constructor(IDeviceRegistry registry_, address admin) EIP712("SensorSeal", "1") {
        _registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IReadingAnchor
    function anchorBatch(
        bytes32 root,
        uint32 leafCount,
        bytes32 manifestHash
    ) external onlyRole(RELAYER_ROLE) returns (uint256 batchId) {
        if (root == bytes32(0)) revert ReadingAnchorZeroRoot();
        if (leafCount == 0) revert ReadingAnchorEmptyBatch();
        RootRecord storage record = _records[root];
        if (record.batchId != 0) revert ReadingAnchorRootAlreadyAnchored(root, record.batchId);

        uint64 id = ++_batchCount;
        _roots[id] = root;
        _manifestHashes[id] = manifestHash;
        _records[root] = RootRecord({
            batchId: id,
            leafCount: leafCount,
            anchoredAt: uint64(block.timestamp),
            blockNumber: uint64(block.number)
        });
        emit BatchAnchored(id, root, leafCount, manifestHash, msg.sender);
        batchId = id;
    }

    /// @inheritdoc IReadingAnchor
    /// @dev A reading up to {MAX_CLOCK_SKEW} ahead is judged by the device's latest status; a revocation that falls
    /// between its acceptance and its claimed time does not undo the acceptance, so verifiers recheck with
    /// {IDeviceRegistry-statusAt}, as {verifyReading} does.
    function submitReading(Reading calldata reading, bytes calldata signature) external {
        uint64 nowTs = uint64(block.timestamp);
        if (reading.timestamp > nowTs + MAX_CLOCK_SKEW) revert ReadingAnchorFutureTimestamp(reading.timestamp, nowTs);
        uint64 lastSeq = _lastSequences[reading.device];
        if (reading.seq <= lastSeq) revert ReadingAnchorStaleSequence(reading.device, reading.seq, lastSeq);
        _checkSignedByActiveDevice(reading, signature);
        if (_registry.statusOf(reading.device) == DeviceStatus.Revoked) {
            revert ReadingAnchorDeviceNotActive(reading.device, nowTs);
        }

        _lastSequences[reading.device] = reading.seq;
        emit ReadingSubmitted(reading.device, reading.seq, reading.timestamp, reading.dataHash);
    }

    /// @inheritdoc IReadingAnchor
    function verifyReading(
        uint256 batchId,
        Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _roots[batchId];
        if (root == bytes32(0)) revert ReadingAnchorUnknownBatch(batchId);
        bytes32 leaf = readingLeaf(reading);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert ReadingAnchorInvalidProof(batchId, leaf);

        uint64 anchoredAt = _records[root].anchoredAt;
        if (reading.timestamp > anchoredAt + MAX_CLOCK_SKEW) {
            revert ReadingAnchorFutureTimestamp(reading.timestamp, anchoredAt);
        }
        _checkSignedByActiveDevice(reading, signature);
        if (_registry.statusAt(reading.device, anchoredAt) == DeviceStatus.Revoked) {
            revert ReadingAnchorDeviceNotActive(reading.device, anchoredAt);
        }
        return true;
    }

    /// @inheritdoc IReadingAnchor
    function readingDigest(Reading calldata reading) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(READING_TYPEHASH, reading.device, reading.seq, reading.timestamp, reading.dataHash)
                )
            );
    }

    /// @inheritdoc IReadingAnchor
    function readingLeaf(Reading calldata reading) public pure returns (bytes32) {
        return
            keccak256(
                bytes.concat(keccak256(abi.encode(reading.device, reading.seq, reading.timestamp, reading.dataHash)))
            );
    }

    /// @inheritdoc IReadingAnchor
    function registry() external view returns (IDeviceRegistry) {
        return _registry;
    }

    /// @inheritdoc IReadingAnchor
    function getBatch(uint256 batchId) external view returns (Batch memory) {
        bytes32 root = _roots[batchId];
        // A zero root is never anchored, so an unknown batch reads an all-zero record.
        RootRecord storage record = _records[root];
        return
            Batch({
                root: root,
                manifestHash: _manifestHashes[batchId],
                leafCount: record.leafCount,
                anchoredAt: record.anchoredAt,
                blockNumber: record.blockNumber
            });
    }

    /// @inheritdoc IReadingAnchor
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc IReadingAnchor
    function batchIdOfRoot(bytes32 root) external view returns (uint256) {
        return _records[root].batchId;
    }

    /// @inheritdoc IReadingAnchor
    function lastSequence(address device) external view returns (uint64) {
        return _lastSequences[device];
    }

    /// @dev Reverts unless `reading` is signed by its device's key and the device was active at the reading's time.
    function _checkSignedByActiveDevice(Reading calldata reading, bytes calldata signature) private view {
        if (!_registry.isValidDeviceSignature(reading.device, readingDigest(reading), signature)) {
            revert ReadingAnchorInvalidSignature(reading.device);
        }
        if (!_registry.isActiveAt(reading.device, reading.timestamp)) {
            revert ReadingAnchorDeviceNotActive(reading.device, reading.timestamp);
        }
    }
}
