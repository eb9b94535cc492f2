// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {StandardMerkleTree} from "../test/StandardMerkleTree.t.sol";
import {DeviceStatus, IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {IReadingAnchor} from "../interfaces/IReadingAnchor.sol";
import {AuditFixture, DeviceKey} from "./AuditFixture.t.sol";

/// @dev The audit-chain attacks of ISSUE-11 (docs/TRUST-MODEL.md), each written as the attack; every one of them
/// succeeded on the contracts before the trust-model change. Also the new parameters and relayer registration.
contract TrustModelTest is AuditFixture {
    bytes32 internal constant MANIFEST = keccak256("manifest");

    DeviceKey internal secp;
    DeviceKey internal p256;

    function setUp() public override {
        super.setUp();
        secp = secpKey(0xA11CE);
        p256 = p256Key(0xB0B);
        register(secp);
        register(p256);
        vm.warp(T0 + 1 hours);
    }

    // ---------------------------------------------------------------- attack 2: future and stale readings

    /// @dev A reading pre-signed far ahead of the clock, anchored once its time has come, still verifies: the
    /// anchoring is what counts, and only up to {MAX_CLOCK_SKEW} ahead.
    function test_verifyReading_preSignedAnchoredInTime_succeeds() public {
        (IReadingAnchor.Reading memory r, bytes32[] memory tree) = _pair(secp, block.timestamp + 365 days);
        vm.warp(r.timestamp);
        uint256 batchId = _anchor(tree);
        assertTrue(_verify(batchId, secp, r, tree), "verifies at its time");
    }

    /// @dev Back-dating: a reading anchored more than the maximum delay after its time does not verify.
    function test_verifyReading_anchoredTooLate_reverts() public {
        uint256 ts = block.timestamp;
        (IReadingAnchor.Reading memory r, bytes32[] memory tree) = _pair(secp, ts);
        vm.warp(ts + MAX_ANCHOR_DELAY + 1);
        uint256 batchId = _anchor(tree);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorAnchoredTooLate.selector,
                uint64(ts),
                uint64(block.timestamp),
                MAX_ANCHOR_DELAY
            )
        );
        _verify(batchId, secp, r, tree);
    }

    function test_verifyReading_anchoredAtMaxDelay_succeeds() public {
        uint256 ts = block.timestamp;
        (IReadingAnchor.Reading memory r, bytes32[] memory tree) = _pair(secp, ts);
        vm.warp(ts + MAX_ANCHOR_DELAY);
        assertTrue(_verify(_anchor(tree), secp, r, tree), "verifies");
    }

    function test_submitReading_tooOld_reverts() public {
        uint256 ts = block.timestamp - MAX_ANCHOR_DELAY - 1;
        IReadingAnchor.Reading memory r = makeReading(secp, 1, ts);
        bytes memory sig = signReading(secp, r);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorAnchoredTooLate.selector,
                uint64(ts),
                uint64(block.timestamp),
                MAX_ANCHOR_DELAY
            )
        );
        anchor.submitReading(r, sig);
    }

    /// @dev The delay in force at the anchoring judges a batch, whatever it is set to later.
    function test_verifyReading_delayChangedAfterAnchoring_succeeds() public {
        uint256 ts = block.timestamp;
        (IReadingAnchor.Reading memory r, bytes32[] memory tree) = _pair(secp, ts);
        vm.warp(ts + 20 hours);
        uint256 batchId = _anchor(tree);
        vm.warp(block.timestamp + 1);
        vm.prank(admin);
        anchor.setMaxAnchorDelay(1 hours);
        assertEq(anchor.maxAnchorDelayAt(uint64(block.timestamp - 1)), MAX_ANCHOR_DELAY, "delay at anchoring");
        assertTrue(_verify(batchId, secp, r, tree), "judged by the delay at its anchoring");
    }

    // ---------------------------------------------------------------- attack 3: old, suspended and stolen keys

    /// @dev A rotated-away key back-dates a reading to just before its rotation and has it anchored much later.
    function test_verifyReading_rotatedKeyBackdatedAfterDelay_reverts() public {
        uint256 rotatedAt = block.timestamp;
        _rotate(secp, p256Key(0x2E7));
        (IReadingAnchor.Reading memory r, bytes32[] memory tree) = _pair(secp, rotatedAt - 1);
        vm.warp(rotatedAt + 365 days);
        uint256 batchId = _anchor(tree);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorAnchoredTooLate.selector,
                uint64(rotatedAt - 1),
                uint64(block.timestamp),
                MAX_ANCHOR_DELAY
            )
        );
        _verify(batchId, secp, r, tree);
    }

    /// @dev The same, directly: the old key cannot submit back-dated readings once the delay has passed.
    function test_submitReading_rotatedKeyBackdatedAfterDelay_reverts() public {
        uint256 rotatedAt = block.timestamp;
        _rotate(secp, p256Key(0x2E7));
        vm.warp(rotatedAt + MAX_ANCHOR_DELAY + 2);
        IReadingAnchor.Reading memory r = makeReading(secp, 1, rotatedAt - 1);
        bytes memory sig = signReading(secp, r);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorAnchoredTooLate.selector,
                uint64(rotatedAt - 1),
                uint64(block.timestamp),
                MAX_ANCHOR_DELAY
            )
        );
        anchor.submitReading(r, sig);
    }

    /// @dev A suspended device back-dates readings to before its suspension, long after it.
    function test_submitReading_suspendedBackdatedAfterDelay_reverts() public {
        uint256 suspendedAt = block.timestamp;
        vm.prank(registrar);
        registry.suspendDevice(p256.id);
        vm.warp(suspendedAt + 30 days);
        IReadingAnchor.Reading memory r = makeReading(p256, 1, suspendedAt - 1);
        bytes memory sig = signReading(p256, r);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorAnchoredTooLate.selector,
                uint64(suspendedAt - 1),
                uint64(block.timestamp),
                MAX_ANCHOR_DELAY
            )
        );
        anchor.submitReading(r, sig);
    }

    /// @dev A key stolen at C anchored readings before the theft was noticed and revoked at V > C: with the
    /// compromise time declared, those batches stop verifying (even a genuine older reading in them, since the thief
    /// could have back-dated it), while batches anchored before C still verify.
    function test_verifyReading_anchoredBeforeCompromiseDeclared_reverts() public {
        (IReadingAnchor.Reading memory honest, bytes32[] memory honestTree) = _pair(secp, block.timestamp - 10);
        uint256 honestBatch = _anchor(honestTree);
        uint256 stolenAt = block.timestamp + 100;
        IReadingAnchor.Reading[] memory rs = new IReadingAnchor.Reading[](2);
        rs[0] = makeReading(secp, 2, stolenAt + 10); // forged by the thief
        rs[1] = makeReading(secp, 3, stolenAt - 10); // back-dated by the thief, or genuine: nobody can tell
        bytes32[] memory tree = _treeOf(rs);
        vm.warp(stolenAt + 60);
        uint256 batchId = _anchor(tree);
        assertTrue(_verify(batchId, secp, rs[0], tree), "verifies before the compromise is declared");

        vm.warp(stolenAt + 2 hours);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceCompromised(secp.id, uint64(stolenAt));
        vm.prank(registrar);
        registry.revokeDeviceCompromised(secp.id, uint64(stolenAt));

        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorDeviceNotActive.selector, secp.id, uint64(stolenAt + 10))
        );
        _verify(batchId, secp, rs[0], tree);
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorDeviceNotActive.selector, secp.id, uint64(stolenAt + 60))
        );
        _verify(batchId, secp, rs[1], tree);
        assertTrue(_verify(honestBatch, secp, honest, honestTree), "batches anchored before C still verify");
    }

    function test_revokeDeviceCompromised_statusAt_succeeds() public {
        uint256 since = block.timestamp - 30 minutes;
        vm.warp(block.timestamp + 1);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceRevoked(secp.id);
        vm.prank(registrar);
        registry.revokeDeviceCompromised(secp.id, uint64(since));
        assertEq(registry.compromisedSince(secp.id), since, "compromisedSince");
        assertEq(uint256(registry.statusOf(secp.id)), uint256(DeviceStatus.Revoked), "revoked now");
        assertEq(uint256(registry.statusAt(secp.id, uint64(since))), uint256(DeviceStatus.Revoked), "from since");
        assertEq(uint256(registry.statusAt(secp.id, uint64(since - 1))), uint256(DeviceStatus.Active), "before");
        assertFalse(registry.isActiveAt(secp.id, uint64(since + 1)), "not active after since");
    }

    function test_revokeDeviceCompromised_beforeRegistration_succeeds() public {
        vm.prank(registrar);
        registry.revokeDeviceCompromised(secp.id, 1);
        assertEq(registry.compromisedSince(secp.id), T0, "clamped to the registration");
        assertEq(uint256(registry.statusAt(secp.id, uint64(T0 - 1))), uint256(DeviceStatus.Unknown), "unknown");
        assertEq(uint256(registry.statusAt(secp.id, uint64(T0))), uint256(DeviceStatus.Revoked), "revoked");
    }

    function test_revokeDeviceCompromised_earlierOnRevoked_succeeds() public {
        vm.startPrank(registrar);
        registry.revokeDevice(secp.id);
        registry.revokeDeviceCompromised(secp.id, uint64(block.timestamp - 20 minutes));
        registry.revokeDeviceCompromised(secp.id, uint64(block.timestamp - 40 minutes));
        vm.stopPrank();
        assertEq(registry.compromisedSince(secp.id), block.timestamp - 40 minutes, "moved earlier");
    }

    function test_revokeDeviceCompromised_later_reverts() public {
        uint64 first = uint64(block.timestamp - 40 minutes);
        vm.startPrank(registrar);
        registry.revokeDeviceCompromised(secp.id, first);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDeviceRegistry.DeviceRegistryInvalidCompromiseTime.selector,
                secp.id,
                first + 1,
                first
            )
        );
        registry.revokeDeviceCompromised(secp.id, first + 1);
        vm.stopPrank();
    }

    function test_revokeDeviceCompromised_future_reverts() public {
        uint64 nowTs = uint64(block.timestamp);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDeviceRegistry.DeviceRegistryInvalidCompromiseTime.selector,
                secp.id,
                nowTs + 1,
                nowTs
            )
        );
        vm.prank(registrar);
        registry.revokeDeviceCompromised(secp.id, nowTs + 1);
    }

    function test_revokeDeviceCompromised_unknown_reverts() public {
        address unknown = makeAddr("unknown");
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, unknown));
        vm.prank(registrar);
        registry.revokeDeviceCompromised(unknown, 0);
    }

    function test_revokeDeviceCompromised_notRegistrar_reverts() public {
        bytes32 role = registry.REGISTRAR_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        registry.revokeDeviceCompromised(secp.id, 0);
    }

    // ---------------------------------------------------------------- attack 1: oversized batches, relayers

    function test_anchorBatch_tooLarge_reverts() public {
        uint32 max = anchor.MAX_LEAF_COUNT();
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorBatchTooLarge.selector, max + 1, max)
        );
        vm.prank(relayer);
        anchor.anchorBatch(keccak256("root"), max + 1, MANIFEST);
        vm.prank(relayer);
        anchor.anchorBatch(keccak256("root"), max, MANIFEST);
    }

    /// @dev A role holder granted without registration has no manifest URL bound to it and cannot anchor.
    function test_anchorBatch_unregisteredRelayer_reverts() public {
        address other = makeAddr("other");
        bytes32 role = anchor.RELAYER_ROLE();
        vm.prank(admin);
        anchor.grantRole(role, other);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorUnregisteredRelayer.selector, other));
        vm.prank(other);
        anchor.anchorBatch(keccak256("root"), 1, MANIFEST);
    }

    function test_registerRelayer_succeeds() public {
        address other = makeAddr("other");
        address signer = makeAddr("signer");
        vm.expectEmit(address(anchor));
        emit IReadingAnchor.RelayerRegistered(other, "https://other.example/m", signer);
        vm.prank(admin);
        anchor.registerRelayer(other, "https://other.example/m", signer);
        IReadingAnchor.RelayerInfo memory info = anchor.relayerInfo(other);
        assertEq(keccak256(bytes(info.manifestUrl)), keccak256("https://other.example/m"), "url");
        assertEq(info.receiptSigner, signer, "signer");
        assertTrue(anchor.hasRole(anchor.RELAYER_ROLE(), other), "role");
        vm.prank(other);
        anchor.anchorBatch(keccak256("root"), 1, MANIFEST);
        assertEq(anchor.relayerInfo(relayer).receiptSigner, receiptSigner, "fixture relayer");
    }

    function test_registerRelayer_invalid_reverts() public {
        vm.startPrank(admin);
        vm.expectRevert(IReadingAnchor.ReadingAnchorZeroRelayer.selector);
        anchor.registerRelayer(address(0), MANIFEST_URL, receiptSigner);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidManifestUrl.selector, 0));
        anchor.registerRelayer(relayer, "", receiptSigner);
        string memory longUrl = string(new bytes(257));
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidManifestUrl.selector, 257));
        anchor.registerRelayer(relayer, longUrl, receiptSigner);
        vm.expectRevert(IReadingAnchor.ReadingAnchorZeroReceiptSigner.selector);
        anchor.registerRelayer(relayer, MANIFEST_URL, address(0));
        vm.stopPrank();
    }

    function test_registerRelayer_notAdmin_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, relayer, bytes32(0))
        );
        vm.prank(relayer);
        anchor.registerRelayer(relayer, "https://evil.example", relayer);
    }

    // ---------------------------------------------------------------- parameters

    function test_setMaxAnchorDelay_succeeds() public {
        vm.expectEmit(address(anchor));
        emit IReadingAnchor.MaxAnchorDelayUpdated(2 hours);
        vm.prank(admin);
        anchor.setMaxAnchorDelay(2 hours);
        assertEq(anchor.maxAnchorDelay(), 2 hours, "now");
        assertEq(anchor.maxAnchorDelayAt(uint64(T0)), MAX_ANCHOR_DELAY, "before");
    }

    function test_setMaxAnchorDelay_outOfBounds_reverts() public {
        uint64 min = anchor.MIN_ANCHOR_DELAY();
        uint64 max = anchor.MAX_ANCHOR_DELAY();
        vm.startPrank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidMaxAnchorDelay.selector, min - 1, min, max)
        );
        anchor.setMaxAnchorDelay(min - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidMaxAnchorDelay.selector, max + 1, min, max)
        );
        anchor.setMaxAnchorDelay(max + 1);
        vm.stopPrank();
    }

    function test_setMaxAnchorDelay_notAdmin_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0))
        );
        vm.prank(stranger);
        anchor.setMaxAnchorDelay(1 hours);
    }

    function test_setManifestAvailabilityBlocks_succeeds() public {
        assertEq(anchor.manifestAvailabilityBlocks(), AVAILABILITY_BLOCKS, "initial");
        vm.expectEmit(address(anchor));
        emit IReadingAnchor.ManifestAvailabilityUpdated(500);
        vm.prank(admin);
        anchor.setManifestAvailabilityBlocks(500);
        assertEq(anchor.manifestAvailabilityBlocks(), 500, "updated");
    }

    function test_setManifestAvailabilityBlocks_outOfBounds_reverts() public {
        uint64 max = anchor.MAX_MANIFEST_AVAILABILITY_BLOCKS();
        vm.startPrank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidManifestAvailability.selector, 0, max)
        );
        anchor.setManifestAvailabilityBlocks(0);
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidManifestAvailability.selector, max + 1, max)
        );
        anchor.setManifestAvailabilityBlocks(max + 1);
        vm.stopPrank();
    }

    function test_setManifestAvailabilityBlocks_notAdmin_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0))
        );
        vm.prank(stranger);
        anchor.setManifestAvailabilityBlocks(5);
    }

    // ---------------------------------------------------------------- fuzz: the one timestamp rule

    /// @dev verifyReading accepts a reading of an active device iff `t ≤ A + skew` and `A ≤ t + maxAnchorDelay`.
    /// hardhat-config: fuzz.runs = 512
    function testFuzz_verifyReading_timestampWindow(uint32 readingOffset, uint32 anchorOffset) public {
        uint256 ts = block.timestamp + bound(readingOffset, 0, 3 days);
        uint256 anchoredAt = block.timestamp + bound(anchorOffset, 0, 3 days);
        (IReadingAnchor.Reading memory r, bytes32[] memory tree) = _pair(secp, ts);
        vm.warp(anchoredAt);
        uint256 batchId = _anchor(tree);
        bool inWindow = ts <= anchoredAt + anchor.MAX_CLOCK_SKEW() &&
            anchoredAt <= ts + MAX_ANCHOR_DELAY;
        if (!inWindow) vm.expectRevert();
        bool ok = _verify(batchId, secp, r, tree);
        if (inWindow) assertTrue(ok, "in the window");
    }

    // ---------------------------------------------------------------- helpers

    function _rotate(DeviceKey memory key, DeviceKey memory next) internal {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signDigest(key, rotateDigest(key.id, next, registry.nonces(key.id), deadline));
        registry.rotateKey(key.id, next.scheme, next.publicKey, deadline, sig);
    }

    /// @dev A reading of `key` at `ts` paired with a reading of the other fixture device, and their tree.
    function _pair(
        DeviceKey memory key,
        uint256 ts
    ) internal view returns (IReadingAnchor.Reading memory r, bytes32[] memory tree) {
        IReadingAnchor.Reading[] memory rs = new IReadingAnchor.Reading[](2);
        rs[0] = makeReading(key, 1, ts);
        rs[1] = makeReading(key.id == secp.id ? p256 : secp, 1, T0 + 1);
        r = rs[0];
        tree = _treeOf(rs);
    }

    function _treeOf(IReadingAnchor.Reading[] memory rs) internal pure returns (bytes32[] memory) {
        bytes32[] memory leaves = new bytes32[](rs.length);
        for (uint256 i = 0; i < rs.length; ++i) leaves[i] = readingLeafOf(rs[i]);
        return StandardMerkleTree.build(leaves);
    }

    function _anchor(bytes32[] memory tree) internal returns (uint256 batchId) {
        vm.prank(relayer);
        batchId = anchor.anchorBatch(tree[0], 2, MANIFEST);
    }

    function _verify(
        uint256 batchId,
        DeviceKey memory key,
        IReadingAnchor.Reading memory r,
        bytes32[] memory tree
    ) internal view returns (bool) {
        return anchor.verifyReading(batchId, r, signReading(key, r), StandardMerkleTree.proofOf(tree, readingLeafOf(r)));
    }
}
