// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDeviceRegistry} from "./IDeviceRegistry.sol";

/// @title IReadingAnchor
/// @notice Anchors Merkle roots of batches of device-signed readings on the audit chain, accepts single readings
/// directly, and lets anyone check that a reading is in an anchored batch, signed by a device that was active.
/// @dev A reading is signed as EIP-712 `Reading(address device,uint64 seq,uint64 timestamp,bytes32 dataHash)` in the
/// domain `{name: "SensorSeal", version: "1", chainId, verifyingContract: this}`. A batch leaf is the
/// OpenZeppelin StandardMerkleTree leaf `keccak256(bytes.concat(keccak256(abi.encode(device, seq, timestamp,
/// dataHash))))`, with sorted-pair hashing.
interface IReadingAnchor {
    /// @notice A sensor reading, as signed by its device.
    /// @param device The device id.
    /// @param seq The per-device sequence number, from 1, increasing by 1 per reading.
    /// @param timestamp The time of the reading, in seconds, as claimed by the device.
    /// @param dataHash The keccak256 hash of the raw payload bytes.
    struct Reading {
        address device;
        uint64 seq;
        uint64 timestamp;
        bytes32 dataHash;
    }

    /// @notice An anchored batch.
    /// @param root The Merkle root of the batch's leaves.
    /// @param manifestHash The keccak256 hash of the batch manifest (its readings with their signatures).
    /// @param leafCount The number of leaves of the batch.
    /// @param anchoredAt The block timestamp of the anchoring.
    /// @param blockNumber The block number of the anchoring.
    struct Batch {
        bytes32 root;
        bytes32 manifestHash;
        uint32 leafCount;
        uint64 anchoredAt;
        uint64 blockNumber;
    }

    /// @notice Thrown when anchoring a zero root.
    error ReadingAnchorZeroRoot();

    /// @notice Thrown when anchoring a batch without leaves.
    error ReadingAnchorEmptyBatch();

    /// @notice Thrown when anchoring a root that is already anchored.
    /// @param root The root.
    /// @param batchId The batch that anchored it.
    error ReadingAnchorRootAlreadyAnchored(bytes32 root, uint256 batchId);

    /// @notice Thrown when referring to a batch that was never anchored.
    /// @param batchId The batch id.
    error ReadingAnchorUnknownBatch(uint256 batchId);

    /// @notice Thrown when a Merkle proof does not lead from a reading's leaf to its batch's root.
    /// @param batchId The batch id.
    /// @param leaf The leaf of the reading.
    error ReadingAnchorInvalidProof(uint256 batchId, bytes32 leaf);

    /// @notice Thrown when a reading's signature was not made by its device's key.
    /// @param device The device id.
    error ReadingAnchorInvalidSignature(address device);

    /// @notice Thrown when a device was not active when it had to be: at the reading's time, now, or when the
    /// reading's batch was anchored.
    /// @param device The device id.
    /// @param at The timestamp at which the device had to be active.
    error ReadingAnchorDeviceNotActive(address device, uint64 at);

    /// @notice Thrown when a reading with this device and sequence number was already submitted directly.
    /// @param device The device id.
    /// @param seq The reading's sequence number.
    error ReadingAnchorAlreadySubmitted(address device, uint64 seq);

    /// @notice Thrown when a directly submitted reading has sequence number zero; sequence numbers start at 1.
    /// @param device The device id.
    error ReadingAnchorZeroSequence(address device);

    /// @notice Thrown when a reading is anchored more than the maximum anchoring delay after its timestamp.
    /// @param timestamp The reading's timestamp.
    /// @param anchoredAt The anchoring time: the block timestamp, or the batch's anchoring time.
    /// @param maxAnchorDelay The maximum anchoring delay in force at the anchoring time.
    error ReadingAnchorAnchoredTooLate(uint64 timestamp, uint64 anchoredAt, uint64 maxAnchorDelay);

    /// @notice Thrown when anchoring a batch of more than {MAX_LEAF_COUNT} leaves.
    /// @param leafCount The number of leaves.
    /// @param maxLeafCount The maximum.
    error ReadingAnchorBatchTooLarge(uint32 leafCount, uint32 maxLeafCount);

    /// @notice Thrown when a relayer role holder anchors without having been registered by {registerRelayer}.
    /// @param relayer The account.
    error ReadingAnchorUnregisteredRelayer(address relayer);

    /// @notice Thrown when registering a relayer with an empty manifest URL or one over {MAX_URL_LENGTH} bytes.
    /// @param length The URL's length in bytes.
    error ReadingAnchorInvalidManifestUrl(uint256 length);

    /// @notice Thrown when registering a relayer without a receipt signer.
    error ReadingAnchorZeroReceiptSigner();

    /// @notice Thrown when registering the zero address as a relayer.
    error ReadingAnchorZeroRelayer();

    /// @notice Thrown when setting the maximum anchoring delay out of its bounds.
    /// @param maxAnchorDelay The value given.
    /// @param min The lower bound, {MIN_ANCHOR_DELAY}.
    /// @param max The upper bound, {MAX_ANCHOR_DELAY}.
    error ReadingAnchorInvalidMaxAnchorDelay(uint64 maxAnchorDelay, uint64 min, uint64 max);

    /// @notice Thrown when setting the manifest availability window out of its bounds.
    /// @param blocks The value given.
    /// @param max The upper bound, {MAX_MANIFEST_AVAILABILITY_BLOCKS}; the lower bound is 1.
    error ReadingAnchorInvalidManifestAvailability(uint64 blocks, uint64 max);

    /// @notice Thrown when a reading's timestamp is more than {MAX_CLOCK_SKEW} after the time it is checked against.
    /// @param timestamp The reading's timestamp.
    /// @param nowTs The time it is checked against: the block timestamp, or the batch's anchoring time.
    error ReadingAnchorFutureTimestamp(uint64 timestamp, uint64 nowTs);

    /// @notice Emitted when a batch is anchored.
    /// @param batchId The batch id, from 1.
    /// @param root The Merkle root of the batch.
    /// @param leafCount The number of leaves of the batch.
    /// @param manifestHash The keccak256 hash of the batch manifest.
    /// @param relayer The account that anchored it.
    event BatchAnchored(
        uint256 indexed batchId,
        bytes32 indexed root,
        uint32 leafCount,
        bytes32 manifestHash,
        address indexed relayer
    );

    /// @notice Emitted when a reading is submitted directly.
    /// @param device The device id.
    /// @param seq The reading's sequence number.
    /// @param timestamp The reading's timestamp.
    /// @param dataHash The hash of the reading's raw payload.
    event ReadingSubmitted(address indexed device, uint64 indexed seq, uint64 timestamp, bytes32 dataHash);

    /// @notice Emitted when a relayer is registered, or its record updated; it then holds {RELAYER_ROLE}.
    /// @param relayer The relayer account, which anchors batches.
    /// @param manifestUrl The base URL of its manifests: a batch's manifest is `<manifestUrl>/<manifestHash>`.
    /// @param receiptSigner The key that signs its inclusion receipts.
    event RelayerRegistered(address indexed relayer, string manifestUrl, address indexed receiptSigner);

    /// @notice Emitted when the maximum anchoring delay changes.
    /// @param maxAnchorDelay The new maximum, in seconds.
    event MaxAnchorDelayUpdated(uint64 maxAnchorDelay);

    /// @notice Emitted when the manifest availability window changes.
    /// @param blocks The new window, in audit-chain blocks after a batch's anchoring block.
    event ManifestAvailabilityUpdated(uint64 blocks);

    /// @notice The registered record of a relayer.
    /// @param manifestUrl The base URL of its manifests.
    /// @param receiptSigner The key that signs its inclusion receipts.
    struct RelayerInfo {
        string manifestUrl;
        address receiptSigner;
    }

    /// @notice The role allowed to anchor batches.
    function RELAYER_ROLE() external view returns (bytes32);

    /// @notice How far, in seconds, a reading's timestamp may be ahead of the time it is checked against.
    function MAX_CLOCK_SKEW() external view returns (uint64);

    /// @notice The largest number of leaves of a batch.
    function MAX_LEAF_COUNT() external view returns (uint32);

    /// @notice The lower bound of the maximum anchoring delay, in seconds.
    function MIN_ANCHOR_DELAY() external view returns (uint64);

    /// @notice The upper bound of the maximum anchoring delay, in seconds.
    function MAX_ANCHOR_DELAY() external view returns (uint64);

    /// @notice The upper bound of the manifest availability window, in blocks.
    function MAX_MANIFEST_AVAILABILITY_BLOCKS() external view returns (uint64);

    /// @notice The longest manifest URL, in bytes.
    function MAX_URL_LENGTH() external view returns (uint256);

    /// @notice The device registry that holds the device keys and statuses.
    function registry() external view returns (IDeviceRegistry);

    /// @notice Anchors the Merkle root of a batch of readings.
    /// @dev Only a relayer registered by {registerRelayer} that holds {RELAYER_ROLE}.
    /// @param root The Merkle root; neither zero nor already anchored.
    /// @param leafCount The number of leaves; not zero, at most {MAX_LEAF_COUNT}.
    /// @param manifestHash The keccak256 hash of the batch manifest.
    /// @return batchId The id of the new batch: 1, 2, 3…
    function anchorBatch(bytes32 root, uint32 leafCount, bytes32 manifestHash) external returns (uint256 batchId);

    /// @notice Submits one reading directly, relayed by anyone. The reading must be signed by its device's key, the
    /// device active at the reading's time and not revoked now, the timestamp not more than {MAX_CLOCK_SKEW} ahead of
    /// the block nor more than the maximum anchoring delay behind it, and its (device, seq) not submitted before.
    /// @param reading The reading.
    /// @param signature The device's signature over {readingDigest}.
    function submitReading(Reading calldata reading, bytes calldata signature) external;

    /// @notice Checks that a reading is in an anchored batch, signed by its device's key, that the device was active
    /// at the reading's time and not revoked when the batch was anchored, and that the reading's timestamp is not
    /// more than {MAX_CLOCK_SKEW} after the anchoring nor more than {maxAnchorDelayAt} the anchoring before it.
    /// @param batchId The batch id.
    /// @param reading The reading.
    /// @param signature The device's signature over {readingDigest}.
    /// @param proof The Merkle proof of the reading's leaf in the batch.
    /// @return True; otherwise it reverts with the reason.
    function verifyReading(
        uint256 batchId,
        Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice Returns the EIP-712 digest that a device signs for a reading.
    /// @param reading The reading.
    function readingDigest(Reading calldata reading) external view returns (bytes32);

    /// @notice Returns the Merkle leaf of a reading: `keccak256(bytes.concat(keccak256(abi.encode(device, seq,
    /// timestamp, dataHash))))`.
    /// @param reading The reading.
    function readingLeaf(Reading calldata reading) external pure returns (bytes32);

    /// @notice Returns an anchored batch; all fields are zero for an unknown batch id.
    /// @param batchId The batch id.
    function getBatch(uint256 batchId) external view returns (Batch memory);

    /// @notice Returns the number of anchored batches, which is also the id of the last one.
    function batchCount() external view returns (uint256);

    /// @notice Returns the id of the batch that anchored a root, or zero.
    /// @param root The root.
    function batchIdOfRoot(bytes32 root) external view returns (uint256);

    /// @notice Returns whether a reading of a device with a sequence number was submitted directly.
    /// @param device The device id.
    /// @param seq The sequence number.
    function isSubmitted(address device, uint64 seq) external view returns (bool);

    /// @notice Registers a relayer, or updates its record, and grants it {RELAYER_ROLE}.
    /// @dev Only the admin. Manifests of its batches are fetched only from `manifestUrl`; receipts signed by
    /// `receiptSigner` bind it.
    /// @param relayer The relayer account.
    /// @param manifestUrl The base URL of its manifests; 1 to {MAX_URL_LENGTH} bytes.
    /// @param receiptSigner The key that signs its inclusion receipts; not zero.
    function registerRelayer(address relayer, string calldata manifestUrl, address receiptSigner) external;

    /// @notice Returns the record of a relayer; empty for an unregistered one.
    /// @param relayer The relayer account.
    function relayerInfo(address relayer) external view returns (RelayerInfo memory);

    /// @notice Sets the maximum delay between a reading's timestamp and its anchoring, from now on.
    /// @dev Only the admin. Between {MIN_ANCHOR_DELAY} and {MAX_ANCHOR_DELAY}.
    /// @param maxAnchorDelay_ The new maximum, in seconds.
    function setMaxAnchorDelay(uint64 maxAnchorDelay_) external;

    /// @notice Returns the maximum anchoring delay in force now, in seconds.
    function maxAnchorDelay() external view returns (uint64);

    /// @notice Returns the maximum anchoring delay in force at a timestamp, in seconds.
    /// @param timestamp The timestamp.
    function maxAnchorDelayAt(uint64 timestamp) external view returns (uint64);

    /// @notice Sets the number of audit-chain blocks after its anchoring block within which a batch's manifest must
    /// be retrievable from its relayer's URL; a manifest that is not is excluded by every oracle.
    /// @dev Only the admin. From 1 to {MAX_MANIFEST_AVAILABILITY_BLOCKS}.
    /// @param blocks The new window.
    function setManifestAvailabilityBlocks(uint64 blocks) external;

    /// @notice Returns the manifest availability window, in blocks.
    function manifestAvailabilityBlocks() external view returns (uint64);
}
