// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {DeviceStatus, IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {IReadingAnchor} from "../interfaces/IReadingAnchor.sol";

/// @title ReadingAnchor
/// @notice Anchors the Merkle roots of batches of device-signed readings, takes single readings directly, and
/// verifies a reading against an anchored batch.
/// @dev Trust assumptions:
/// - Relayers are registered by the admin with the URL of their manifests and their receipt-signing key
///   ({registerRelayer}), so that off-chain parts fetch a batch's manifest only from its relayer and a relayer
///   cannot disown its receipts. The admin is trusted for these records and the two parameters below.
/// - The relayer (RELAYER_ROLE) is trusted for liveness only. It chooses what it anchors, but cannot forge or alter a
///   reading: {verifyReading} checks every reading against its device's key in the registry. A batch whose manifest
///   or tree is wrong only fails its own readings.
/// - The device registry is trusted for keys and statuses; it is fixed at deployment.
/// - A device's clock is not trusted: a reading is judged by the device status at its claimed time, and also by the
///   status when its batch was anchored (or now, for a direct submission), so a key stolen and then revoked cannot
///   back-date readings into later batches. Readings may be at most {MAX_CLOCK_SKEW} ahead of their anchoring and
///   at most {maxAnchorDelayAt} the anchoring behind it, which bounds how long a rotated or suspended key stays
///   useful for readings dated before the change. See docs/TRUST-MODEL.md.
/// - {submitReading} is open to anyone: the signature is the authorization. Each (device, seq) is submittable
///   once, in any order, so replaying a device's public signed reading only submits that same reading.
contract ReadingAnchor is IReadingAnchor, AccessControl, EIP712 {
    using Checkpoints for Checkpoints.Trace208;

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

    /// @inheritdoc IReadingAnchor
    uint32 public constant MAX_LEAF_COUNT = 65_536;

    /// @inheritdoc IReadingAnchor
    uint64 public constant MIN_ANCHOR_DELAY = 600;

    /// @inheritdoc IReadingAnchor
    uint64 public constant MAX_ANCHOR_DELAY = 30 days;

    /// @inheritdoc IReadingAnchor
    uint64 public constant MAX_MANIFEST_AVAILABILITY_BLOCKS = 100_000;

    /// @inheritdoc IReadingAnchor
    uint256 public constant MAX_URL_LENGTH = 256;

    bytes32 private constant READING_TYPEHASH =
        keccak256("Reading(address device,uint64 seq,uint64 timestamp,bytes32 dataHash)");

    IDeviceRegistry private immutable _registry;

    // A batch takes three fresh slots: its root, its manifest hash, and the record keyed by its root (which both
    // rejects a repeated root and maps it back to the batch id).
    uint64 private _batchCount;
    mapping(uint256 batchId => bytes32 root) private _roots;
    mapping(uint256 batchId => bytes32 manifestHash) private _manifestHashes;
    mapping(bytes32 root => RootRecord) private _records;
    mapping(address device => mapping(uint64 seq => bool)) private _submitted;
    mapping(address relayer => RelayerInfo) private _relayers;
    Checkpoints.Trace208 private _maxAnchorDelays;
    uint64 private _manifestAvailabilityBlocks;

    /// @param registry_ The device registry.
    /// @param admin The account granted DEFAULT_ADMIN_ROLE, which registers relayers and sets the parameters.
    /// @param maxAnchorDelay_ The maximum delay between a reading's timestamp and its anchoring, in seconds.
    /// @param manifestAvailabilityBlocks_ The manifest availability window, in blocks.
    constructor(
        IDeviceRegistry registry_,
        address admin,
        uint64 maxAnchorDelay_,
        uint64 manifestAvailabilityBlocks_
    ) EIP712("SensorSeal", "1") {
        _registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setMaxAnchorDelay(maxAnchorDelay_);
        _setManifestAvailabilityBlocks(manifestAvailabilityBlocks_);
    }

    /// @inheritdoc IReadingAnchor
    function registerRelayer(
        address relayer,
        string calldata manifestUrl,
        address receiptSigner
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (relayer == address(0)) revert ReadingAnchorZeroRelayer();
        uint256 length = bytes(manifestUrl).length;
        if (length == 0 || length > MAX_URL_LENGTH) revert ReadingAnchorInvalidManifestUrl(length);
        if (receiptSigner == address(0)) revert ReadingAnchorZeroReceiptSigner();
        _relayers[relayer] = RelayerInfo({manifestUrl: manifestUrl, receiptSigner: receiptSigner});
        emit RelayerRegistered(relayer, manifestUrl, receiptSigner);
        _grantRole(RELAYER_ROLE, relayer);
    }

    /// @inheritdoc IReadingAnchor
    function setMaxAnchorDelay(uint64 maxAnchorDelay_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxAnchorDelay(maxAnchorDelay_);
    }

    /// @inheritdoc IReadingAnchor
    function setManifestAvailabilityBlocks(uint64 blocks) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setManifestAvailabilityBlocks(blocks);
    }

    /// @inheritdoc IReadingAnchor
    function anchorBatch(
        bytes32 root,
        uint32 leafCount,
        bytes32 manifestHash
    ) external onlyRole(RELAYER_ROLE) returns (uint256 batchId) {
        if (root == bytes32(0)) revert ReadingAnchorZeroRoot();
        if (leafCount == 0) revert ReadingAnchorEmptyBatch();
        if (leafCount > MAX_LEAF_COUNT) revert ReadingAnchorBatchTooLarge(leafCount, MAX_LEAF_COUNT);
        if (_relayers[msg.sender].receiptSigner == address(0)) revert ReadingAnchorUnregisteredRelayer(msg.sender);
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
        if (reading.seq == 0) revert ReadingAnchorZeroSequence(reading.device);
        if (_submitted[reading.device][reading.seq]) revert ReadingAnchorAlreadySubmitted(reading.device, reading.seq);
        _checkReading(reading, signature, nowTs); // anchored now: this also refuses a device revoked now

        _submitted[reading.device][reading.seq] = true;
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

        _checkReading(reading, signature, _records[root].anchoredAt);
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
    function isSubmitted(address device, uint64 seq) external view returns (bool) {
        return _submitted[device][seq];
    }

    /// @inheritdoc IReadingAnchor
    function relayerInfo(address relayer) external view returns (RelayerInfo memory) {
        return _relayers[relayer];
    }

    /// @inheritdoc IReadingAnchor
    function maxAnchorDelay() external view returns (uint64) {
        return uint64(_maxAnchorDelays.latest());
    }

    /// @inheritdoc IReadingAnchor
    function maxAnchorDelayAt(uint64 timestamp) public view returns (uint64) {
        uint48 key = timestamp > type(uint48).max ? type(uint48).max : uint48(timestamp);
        return uint64(_maxAnchorDelays.upperLookupRecent(key));
    }

    /// @inheritdoc IReadingAnchor
    function manifestAvailabilityBlocks() external view returns (uint64) {
        return _manifestAvailabilityBlocks;
    }

    /// @dev Applies the timestamp rule to a reading anchored at `anchoredAt`: not more than {MAX_CLOCK_SKEW} ahead of
    /// it, not more than the maximum anchoring delay behind it, signed by its device's key, the device active at the
    /// reading's time and not revoked at the anchoring.
    function _checkReading(Reading calldata reading, bytes calldata signature, uint64 anchoredAt) private view {
        uint64 timestamp = reading.timestamp;
        if (timestamp > anchoredAt + MAX_CLOCK_SKEW) revert ReadingAnchorFutureTimestamp(timestamp, anchoredAt);
        uint64 maxDelay = maxAnchorDelayAt(anchoredAt);
        if (anchoredAt > timestamp && anchoredAt - timestamp > maxDelay) {
            revert ReadingAnchorAnchoredTooLate(timestamp, anchoredAt, maxDelay);
        }
        if (!_registry.isValidDeviceSignature(reading.device, readingDigest(reading), signature)) {
            revert ReadingAnchorInvalidSignature(reading.device);
        }
        if (!_registry.isActiveAt(reading.device, timestamp)) {
            revert ReadingAnchorDeviceNotActive(reading.device, timestamp);
        }
        if (_registry.statusAt(reading.device, anchoredAt) == DeviceStatus.Revoked) {
            revert ReadingAnchorDeviceNotActive(reading.device, anchoredAt);
        }
    }

    /// @dev Sets and checkpoints the maximum anchoring delay, within its bounds.
    function _setMaxAnchorDelay(uint64 maxAnchorDelay_) private {
        if (maxAnchorDelay_ < MIN_ANCHOR_DELAY || maxAnchorDelay_ > MAX_ANCHOR_DELAY) {
            revert ReadingAnchorInvalidMaxAnchorDelay(maxAnchorDelay_, MIN_ANCHOR_DELAY, MAX_ANCHOR_DELAY);
        }
        _maxAnchorDelays.push(uint48(block.timestamp), maxAnchorDelay_);
        emit MaxAnchorDelayUpdated(maxAnchorDelay_);
    }

    /// @dev Sets the manifest availability window, within its bounds.
    function _setManifestAvailabilityBlocks(uint64 blocks) private {
        if (blocks == 0 || blocks > MAX_MANIFEST_AVAILABILITY_BLOCKS) {
            revert ReadingAnchorInvalidManifestAvailability(blocks, MAX_MANIFEST_AVAILABILITY_BLOCKS);
        }
        _manifestAvailabilityBlocks = blocks;
        emit ManifestAvailabilityUpdated(blocks);
    }
}
