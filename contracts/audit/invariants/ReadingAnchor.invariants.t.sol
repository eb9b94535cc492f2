// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

import {Test} from "../../test/Test.t.sol";
import {DeviceStatus, IDeviceRegistry} from "../../interfaces/IDeviceRegistry.sol";
import {IReadingAnchor} from "../../interfaces/IReadingAnchor.sol";
import {DeviceRegistry} from "../DeviceRegistry.sol";
import {ReadingAnchor} from "../ReadingAnchor.sol";
import {AuditKeys, DeviceKey} from "../AuditFixture.t.sol";

// The handler lives in the same file as its invariant suite: Hardhat emits artifacts only for the test files it
// builds as roots, and the invariant runner needs the handler's artifact to call it.

/// @dev Drives a ReadingAnchor as its relayer and as anyone submitting readings of three devices (both schemes),
/// and suspends, resumes, rotates, revokes and declares compromised devices now and then, keeping a model of batches,
/// submitted sequences and status histories. Each action predicts its
/// outcome from the model: an allowed action must succeed (the invariant runs fail on any revert) and a forbidden one
/// must revert with the exact error.
contract ReadingAnchorHandler is AuditKeys {
    struct ModelBatch {
        bytes32 root;
        bytes32 manifestHash;
        uint32 leafCount;
        uint64 anchoredAt;
        uint64 blockNumber;
    }

    struct AnchoredReading {
        uint256 batchId;
        IReadingAnchor.Reading reading;
        bytes signature;
        bytes32 sibling; // the proof: every tree made here has two leaves
    }

    struct Submission {
        address device;
        uint64 timestamp;
        DeviceStatus registryStatusWhenAccepted;
    }

    DeviceRegistry public immutable registry;
    ReadingAnchor public immutable anchor;

    DeviceKey[] internal _keys;
    mapping(address device => uint64) public registeredAt;
    mapping(address device => uint64) public revokedAt; // 0: not revoked
    mapping(address device => uint64) public compromisedAt; // 0: not declared compromised
    mapping(address device => mapping(uint64 seq => bool)) public modelSubmitted;
    mapping(address device => uint64[]) internal _statusTimes;
    mapping(address device => DeviceStatus[]) internal _statuses;
    uint256 internal _spareKeySeed = 0xD000;

    ModelBatch[] internal _batches; // batch id = index + 1
    mapping(bytes32 root => uint256) internal _modelBatchIdOf;
    AnchoredReading[] internal _anchoredReadings;
    Submission[] internal _submissions;
    uint64 internal _uniqueSeq;

    constructor(DeviceRegistry registry_, ReadingAnchor anchor_) {
        registry = registry_;
        anchor = anchor_;
        _keys.push(secpKey(0xA1));
        _keys.push(p256Key(0xB2));
        _keys.push(secpKey(0xC3));
    }

    /// @dev Set-up, not a fuzzed action: registers the devices (the handler is the registrar).
    function registerDevices(address beneficiary) external {
        for (uint256 i = 0; i < _keys.length; ++i) {
            registry.registerDevice(_keys[i].scheme, _keys[i].publicKey, beneficiary, bytes32(0));
            registeredAt[_keys[i].id] = uint64(block.timestamp);
            _recordStatus(_keys[i].id, DeviceStatus.Active);
        }
    }

    // ---------------------------------------------------------------- actions

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 1 days));
        vm.roll(block.number + 1);
    }

    /// @dev Anchors an arbitrary root, often zero, repeated or empty.
    function anchorBatch(uint256 rootPick, uint256 leafCountPick) external {
        bytes32 root = rootPick % 16 == 0 ? bytes32(0) : keccak256(abi.encode("root", rootPick % 64));
        uint32 leafCount = leafCountPick % 8 == 0 ? 0 : uint32(bound(leafCountPick, 1, 100_000));
        bytes32 manifestHash = keccak256(abi.encode("manifest", rootPick));
        if (root == bytes32(0)) {
            vm.expectRevert(IReadingAnchor.ReadingAnchorZeroRoot.selector);
        } else if (leafCount == 0) {
            vm.expectRevert(IReadingAnchor.ReadingAnchorEmptyBatch.selector);
        } else if (leafCount > anchor.MAX_LEAF_COUNT()) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IReadingAnchor.ReadingAnchorBatchTooLarge.selector,
                    leafCount,
                    anchor.MAX_LEAF_COUNT()
                )
            );
        } else if (_modelBatchIdOf[root] != 0) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IReadingAnchor.ReadingAnchorRootAlreadyAnchored.selector,
                    root,
                    _modelBatchIdOf[root]
                )
            );
        } else {
            _anchor(root, leafCount, manifestHash);
            return;
        }
        anchor.anchorBatch(root, leafCount, manifestHash);
    }

    /// @dev Anchors a real two-reading batch: a reading of one device, at a past or slightly future time, and a
    /// reading of another device now.
    function anchorReadings(uint256 devicePick, uint256 timePick) external {
        DeviceKey memory key = _keys[devicePick % _keys.length];
        DeviceKey memory other = _keys[(devicePick % _keys.length + 1) % _keys.length];
        uint64 seq = ++_uniqueSeq;
        IReadingAnchor.Reading memory a = makeReading(key, seq, _pickTime(timePick));
        IReadingAnchor.Reading memory b = makeReading(other, seq, block.timestamp);
        bytes32 leafA = readingLeafOf(a);
        bytes32 leafB = readingLeafOf(b);
        uint256 batchId = _anchor(Hashes.commutativeKeccak256(leafA, leafB), 2, keccak256(abi.encode(a, b)));
        _anchoredReadings.push(AnchoredReading(batchId, a, signDigest(key, readingDigestAt(address(anchor), a)), leafB));
        _anchoredReadings.push(AnchoredReading(batchId, b, signDigest(other, readingDigestAt(address(anchor), b)), leafA));
    }

    /// @dev Submits a reading directly, with a sequence number that is sometimes already submitted, a time that is
    /// sometimes ahead or too far behind, and now and then a malleated (high-s) signature.
    function submitReading(uint256 devicePick, uint256 seqPick, uint256 timePick, uint8 flags) external {
        DeviceKey memory key = _keys[devicePick % _keys.length];
        uint64 seq = uint64(bound(seqPick, 0, 12));
        IReadingAnchor.Reading memory r = makeReading(key, seq, _pickTime(timePick));
        bytes memory sig = signDigest(key, readingDigestAt(address(anchor), r));
        bool malleated = flags % 8 == 0;
        if (malleated) sig = highS(key, sig);

        uint64 nowTs = uint64(block.timestamp);
        bytes memory expected = seq == 0
            ? abi.encodeWithSelector(IReadingAnchor.ReadingAnchorZeroSequence.selector, key.id)
            : modelSubmitted[key.id][seq]
            ? abi.encodeWithSelector(IReadingAnchor.ReadingAnchorAlreadySubmitted.selector, key.id, seq)
            : _modelCheck(r, nowTs, malleated);
        if (expected.length == 0 && registry.statusOf(key.id) == DeviceStatus.Revoked) {
            expected = abi.encodeWithSelector(IReadingAnchor.ReadingAnchorDeviceNotActive.selector, key.id, nowTs);
        }
        if (expected.length != 0) {
            vm.expectRevert(expected);
            anchor.submitReading(r, sig);
            return;
        }
        anchor.submitReading(r, sig);
        modelSubmitted[key.id][seq] = true;
        _submissions.push(Submission(key.id, r.timestamp, registry.statusOf(key.id)));
    }

    /// @dev Revocation is made rarer than the other actions (1 in 4), so that campaigns keep live devices.
    function revokeDevice(uint256 devicePick) external {
        if (devicePick % 4 != 0) return;
        address device = _keys[(devicePick / 4) % _keys.length].id;
        if (revokedAt[device] != 0) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDeviceRegistry.DeviceRegistryInvalidStatus.selector,
                    device,
                    DeviceStatus.Revoked
                )
            );
            registry.revokeDevice(device);
            return;
        }
        registry.revokeDevice(device);
        revokedAt[device] = uint64(block.timestamp);
        _recordStatus(device, DeviceStatus.Revoked);
    }

    /// @dev Declares a device compromised since up to two hours back (1 in 4 calls), possibly already revoked.
    function revokeDeviceCompromised(uint256 devicePick, uint256 backPick) external {
        if (devicePick % 4 != 0) return;
        address device = _keys[(devicePick / 4) % _keys.length].id;
        uint64 since = uint64(block.timestamp - bound(backPick, 0, 2 hours));
        uint64 effective = since < registeredAt[device] ? registeredAt[device] : since;
        uint64 previous = compromisedAt[device];
        if (previous != 0 && effective >= previous) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDeviceRegistry.DeviceRegistryInvalidCompromiseTime.selector,
                    device,
                    since,
                    previous
                )
            );
            registry.revokeDeviceCompromised(device, since);
            return;
        }
        registry.revokeDeviceCompromised(device, since);
        compromisedAt[device] = effective;
        if (revokedAt[device] == 0) {
            revokedAt[device] = uint64(block.timestamp);
            _recordStatus(device, DeviceStatus.Revoked);
        }
    }

    /// @dev Suspends an active device or resumes a suspended one; anything else must revert.
    function toggleSuspension(uint256 devicePick) external {
        address device = _keys[devicePick % _keys.length].id;
        DeviceStatus status = registry.statusOf(device);
        if (status == DeviceStatus.Active) {
            registry.suspendDevice(device);
            _recordStatus(device, DeviceStatus.Suspended);
        } else if (status == DeviceStatus.Suspended) {
            registry.resumeDevice(device);
            _recordStatus(device, DeviceStatus.Active);
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidStatus.selector, device, status)
            );
            registry.suspendDevice(device);
        }
    }

    /// @dev Rotates an active device to a fresh key (1 in 4 calls); the old key keeps being used by the other actions.
    function rotateKey(uint256 devicePick) external {
        if (devicePick % 4 != 0) return;
        DeviceKey memory key = _keys[(devicePick / 4) % _keys.length];
        if (registry.statusOf(key.id) != DeviceStatus.Active) return;
        DeviceKey memory next = (_spareKeySeed % 2 == 0) ? secpKey(_spareKeySeed) : p256Key(_spareKeySeed);
        ++_spareKeySeed;
        uint256 deadline = block.timestamp;
        bytes32 digest = rotateDigestAt(address(registry), key.id, next, registry.nonces(key.id), deadline);
        registry.rotateKey(key.id, next.scheme, next.publicKey, deadline, signDigest(key, digest));
        _recordStatus(key.id, DeviceStatus.Rotated);
        _keys.push(next);
        registeredAt[next.id] = uint64(block.timestamp);
        _recordStatus(next.id, DeviceStatus.Active);
    }

    // ---------------------------------------------------------------- model views

    function deviceCount() external view returns (uint256) {
        return _keys.length;
    }

    function deviceAt(uint256 index) external view returns (address) {
        return _keys[index].id;
    }

    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    function batchAt(uint256 batchId) external view returns (ModelBatch memory) {
        return _batches[batchId - 1];
    }

    function anchoredReadingCount() external view returns (uint256) {
        return _anchoredReadings.length;
    }

    function anchoredReadingAt(uint256 index) external view returns (AnchoredReading memory) {
        return _anchoredReadings[index];
    }

    function submissionCount() external view returns (uint256) {
        return _submissions.length;
    }

    function submissionAt(uint256 index) external view returns (Submission memory) {
        return _submissions[index];
    }

    /// @dev The model's status of a device at `timestamp`: Revoked from its compromise time on, otherwise the last
    /// status recorded at or before it (the last one of that second), Unknown before the registration.
    function modelStatusAt(address device, uint64 timestamp) public view returns (DeviceStatus status) {
        uint64 since = compromisedAt[device];
        if (since != 0 && timestamp >= since) return DeviceStatus.Revoked;
        uint64[] storage times = _statusTimes[device];
        for (uint256 i = 0; i < times.length && times[i] <= timestamp; ++i) status = _statuses[device][i];
    }

    /// @dev Whether the model has the device active at `timestamp`.
    function modelActiveAt(address device, uint64 timestamp) public view returns (bool) {
        return modelStatusAt(device, timestamp) == DeviceStatus.Active;
    }

    /// @dev What verifyReading must answer for an anchored reading: true, or the exact revert data.
    function modelVerifyOutcome(uint256 index) external view returns (bool valid, bytes memory expectedError) {
        AnchoredReading storage ar = _anchoredReadings[index];
        expectedError = _modelCheck(ar.reading, _batches[ar.batchId - 1].anchoredAt, false);
        valid = expectedError.length == 0;
    }

    // ---------------------------------------------------------------- internals

    /// @dev The timestamp rule, as the model sees it: the revert data for a reading anchored at `anchoredAt`, or
    /// nothing when it is valid.
    function _modelCheck(
        IReadingAnchor.Reading memory r,
        uint64 anchoredAt,
        bool malleated
    ) internal view returns (bytes memory) {
        if (r.timestamp > anchoredAt + anchor.MAX_CLOCK_SKEW()) {
            return abi.encodeWithSelector(IReadingAnchor.ReadingAnchorFutureTimestamp.selector, r.timestamp, anchoredAt);
        }
        uint64 maxDelay = anchor.maxAnchorDelayAt(anchoredAt);
        if (anchoredAt > r.timestamp && anchoredAt - r.timestamp > maxDelay) {
            return
                abi.encodeWithSelector(
                    IReadingAnchor.ReadingAnchorAnchoredTooLate.selector,
                    r.timestamp,
                    anchoredAt,
                    maxDelay
                );
        }
        if (malleated) return abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, r.device);
        if (!modelActiveAt(r.device, r.timestamp)) {
            return abi.encodeWithSelector(IReadingAnchor.ReadingAnchorDeviceNotActive.selector, r.device, r.timestamp);
        }
        if (modelStatusAt(r.device, anchoredAt) == DeviceStatus.Revoked) {
            return abi.encodeWithSelector(IReadingAnchor.ReadingAnchorDeviceNotActive.selector, r.device, anchoredAt);
        }
        return "";
    }

    /// @dev Records a status change now; a second change in the same second replaces the first, as the registry does.
    function _recordStatus(address device, DeviceStatus status) internal {
        uint64[] storage times = _statusTimes[device];
        uint64 nowTs = uint64(block.timestamp);
        if (times.length != 0 && times[times.length - 1] == nowTs) {
            _statuses[device][times.length - 1] = status;
            return;
        }
        times.push(nowTs);
        _statuses[device].push(status);
    }

    function _anchor(bytes32 root, uint32 leafCount, bytes32 manifestHash) internal returns (uint256 batchId) {
        batchId = anchor.anchorBatch(root, leafCount, manifestHash);
        vm.assertEq(batchId, _batches.length + 1, "sequential batch id");
        _batches.push(ModelBatch(root, manifestHash, leafCount, uint64(block.timestamp), uint64(block.number)));
        _modelBatchIdOf[root] = batchId;
    }

    /// @dev Mostly a past time (up to two hours back, so sometimes before a registration or a revocation), one time
    /// in eight a future one (up to 15 minutes ahead, so sometimes beyond the allowed clock skew).
    function _pickTime(uint256 timePick) internal view returns (uint256) {
        if (timePick % 8 == 0) return block.timestamp + bound(timePick >> 8, 1, 15 minutes);
        return block.timestamp - bound(timePick >> 8, 0, 2 hours);
    }
}

/// @dev Invariant campaigns over a ReadingAnchor driven by ReadingAnchorHandler. See PROPERTIES.md.
contract ReadingAnchorInvariants is Test {
    DeviceRegistry internal registry;
    ReadingAnchor internal anchor;
    ReadingAnchorHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        registry = new DeviceRegistry(address(this));
        anchor = new ReadingAnchor(registry, address(this), 1 hours, 100);
        handler = new ReadingAnchorHandler(registry, anchor);
        registry.grantRole(registry.REGISTRAR_ROLE(), address(handler));
        anchor.registerRelayer(address(handler), "https://relayer.example/v1/manifests", makeAddr("receiptSigner"));
        handler.registerDevices(makeAddr("beneficiary"));

        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = ReadingAnchorHandler.warp.selector;
        selectors[1] = ReadingAnchorHandler.anchorBatch.selector;
        selectors[2] = ReadingAnchorHandler.anchorReadings.selector;
        selectors[3] = ReadingAnchorHandler.submitReading.selector;
        selectors[4] = ReadingAnchorHandler.revokeDevice.selector;
        selectors[5] = ReadingAnchorHandler.revokeDeviceCompromised.selector;
        selectors[6] = ReadingAnchorHandler.toggleSuspension.selector;
        selectors[7] = ReadingAnchorHandler.rotateKey.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @custom:invariant Batch ids run 1..batchCount without gaps, and each batch keeps exactly the root, manifest
    /// hash, leaf count, time and block it was anchored with.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_batchesAreSequentialAndImmutable() public view {
        assertEq(anchor.batchCount(), handler.batchCount(), "batchCount");
        uint64 previousTime = 0;
        for (uint256 id = 1; id <= handler.batchCount(); ++id) {
            ReadingAnchorHandler.ModelBatch memory m = handler.batchAt(id);
            IReadingAnchor.Batch memory b = anchor.getBatch(id);
            assertEq(b.root, m.root, "root");
            assertEq(b.manifestHash, m.manifestHash, "manifestHash");
            assertEq(b.leafCount, m.leafCount, "leafCount");
            assertEq(b.anchoredAt, m.anchoredAt, "anchoredAt");
            assertEq(b.blockNumber, m.blockNumber, "blockNumber");
            assertGe(b.anchoredAt, previousTime, "anchoring times never go back");
            previousTime = b.anchoredAt;
        }
        assertEq(anchor.getBatch(handler.batchCount() + 1).root, bytes32(0), "no batch past the count");
    }

    /// @custom:invariant No anchored root is zero, and every anchored root maps back to its own batch id, so no root
    /// is ever anchored twice.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_rootsAreNonZeroAndUnique() public view {
        assertEq(anchor.batchIdOfRoot(bytes32(0)), 0, "zero root never anchored");
        for (uint256 id = 1; id <= anchor.batchCount(); ++id) {
            bytes32 root = anchor.getBatch(id).root;
            assertNotEq(root, bytes32(0), "non-zero root");
            assertEq(anchor.batchIdOfRoot(root), id, "root maps back to its batch");
        }
    }

    /// @custom:invariant Each (device, seq) is submitted directly at most once and in any order: isSubmitted is true
    /// exactly for the pairs the model accepted.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_eachSequenceSubmittedOnce() public view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            address device = handler.deviceAt(i);
            for (uint64 seq = 0; seq <= 12; ++seq) {
                assertEq(anchor.isSubmitted(device, seq), handler.modelSubmitted(device, seq), "isSubmitted");
            }
        }
    }

    /// @custom:invariant No verified reading was anchored more than the maximum anchoring delay after its time, and
    /// none was signed by a device that was not Active at its time (Suspended, Rotated, Revoked or compromised), so
    /// an old key is useless once the delay has passed since its rotation or suspension.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_verifiedReadingsObeyTimestampRule() public view {
        for (uint256 i = 0; i < handler.anchoredReadingCount(); ++i) {
            ReadingAnchorHandler.AnchoredReading memory ar = handler.anchoredReadingAt(i);
            if (!_verifies(ar)) continue;
            uint64 anchoredAt = anchor.getBatch(ar.batchId).anchoredAt;
            assertLe(anchoredAt, ar.reading.timestamp + anchor.maxAnchorDelayAt(anchoredAt), "anchored too late");
            assertLe(ar.reading.timestamp, anchoredAt + anchor.MAX_CLOCK_SKEW(), "future reading");
            assertTrue(registry.isActiveAt(ar.reading.device, ar.reading.timestamp), "key not valid at its time");
            uint64 compromised = handler.compromisedAt(ar.reading.device);
            assertTrue(compromised == 0 || ar.reading.timestamp < compromised, "compromised key verified");
        }
    }

    /// @custom:invariant A revoked key never verifies after its revocation: no reading of it timestamped at or after
    /// the revocation, or anchored at or after it, passes verifyReading, and submitReading accepts none of its
    /// readings once it is revoked.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_revokedKeyNeverVerifiesAfterRevocation() public view {
        for (uint256 i = 0; i < handler.anchoredReadingCount(); ++i) {
            ReadingAnchorHandler.AnchoredReading memory ar = handler.anchoredReadingAt(i);
            uint64 revokedAt = handler.revokedAt(ar.reading.device);
            if (revokedAt == 0) continue;
            uint64 anchoredAt = anchor.getBatch(ar.batchId).anchoredAt;
            if (ar.reading.timestamp < revokedAt && anchoredAt < revokedAt) continue;
            assertFalse(_verifies(ar), "a revoked key's reading verified");
        }
        for (uint256 i = 0; i < handler.submissionCount(); ++i) {
            ReadingAnchorHandler.Submission memory s = handler.submissionAt(i);
            assertTrue(
                s.registryStatusWhenAccepted != DeviceStatus.Revoked,
                "a reading was accepted while its device was revoked"
            );
        }
    }

    /// @custom:invariant verifyReading answers every anchored reading exactly as the model does: true, or the
    /// revert for a reading ahead of its batch, a device not active at the reading's time, or a device revoked by
    /// the batch's anchoring.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_verifyReadingMatchesModel() public view {
        for (uint256 i = 0; i < handler.anchoredReadingCount(); ++i) {
            ReadingAnchorHandler.AnchoredReading memory ar = handler.anchoredReadingAt(i);
            (bool expectedValid, bytes memory expectedError) = handler.modelVerifyOutcome(i);
            bytes32[] memory proof = new bytes32[](1);
            proof[0] = ar.sibling;
            try anchor.verifyReading(ar.batchId, ar.reading, ar.signature, proof) returns (bool ok) {
                assertTrue(ok && expectedValid, "verified a reading the model rejects");
            } catch (bytes memory reason) {
                assertFalse(expectedValid, "rejected a reading the model accepts");
                assertEq(reason, expectedError, "revert reason");
            }
        }
    }

    function _verifies(ReadingAnchorHandler.AnchoredReading memory ar) internal view returns (bool) {
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = ar.sibling;
        try anchor.verifyReading(ar.batchId, ar.reading, ar.signature, proof) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }
}
