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

    /// @notice Thrown when a directly submitted reading's sequence number is not above the device's last one.
    /// @param device The device id.
    /// @param seq The reading's sequence number.
    /// @param lastSeq The device's last submitted sequence number.
    error ReadingAnchorStaleSequence(address device, uint64 seq, uint64 lastSeq);

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

    /// @notice The role allowed to anchor batches.
    function RELAYER_ROLE() external view returns (bytes32);

    /// @notice How far, in seconds, a reading's timestamp may be ahead of the time it is checked against.
    function MAX_CLOCK_SKEW() external view returns (uint64);

    /// @notice The device registry that holds the device keys and statuses.
    function registry() external view returns (IDeviceRegistry);

    /// @notice Anchors the Merkle root of a batch of readings.
    /// @dev Only the relayer.
    /// @param root The Merkle root; neither zero nor already anchored.
    /// @param leafCount The number of leaves; not zero.
    /// @param manifestHash The keccak256 hash of the batch manifest.
    /// @return batchId The id of the new batch: 1, 2, 3…
    function anchorBatch(bytes32 root, uint32 leafCount, bytes32 manifestHash) external returns (uint256 batchId);

    /// @notice Submits one reading directly, relayed by anyone. The reading must be signed by its device's key, the
    /// device active at the reading's time and not revoked now, the timestamp not more than {MAX_CLOCK_SKEW} ahead of
    /// the block, and the sequence number above the device's last submitted one.
    /// @param reading The reading.
    /// @param signature The device's signature over {readingDigest}.
    function submitReading(Reading calldata reading, bytes calldata signature) external;

    /// @notice Checks that a reading is in an anchored batch, signed by its device's key, that the device was active
    /// at the reading's time and not revoked when the batch was anchored, and that the reading's timestamp is not
    /// more than {MAX_CLOCK_SKEW} after the anchoring.
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

    /// @notice Returns the sequence number of a device's last directly submitted reading, or zero.
    /// @param device The device id.
    function lastSequence(address device) external view returns (uint64);
}
