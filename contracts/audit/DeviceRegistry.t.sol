// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {DeviceStatus, IDeviceRegistry, KeyScheme} from "../interfaces/IDeviceRegistry.sol";
import {AuditFixture, DeviceKey} from "./AuditFixture.t.sol";

contract DeviceRegistryTest is AuditFixture {
    bytes32 internal constant METADATA = keccak256("metadata");

    DeviceKey internal secp;
    DeviceKey internal p256;

    function setUp() public override {
        super.setUp();
        secp = secpKey(0xA11CE);
        p256 = p256Key(0xB0B);
    }

    // ---------------------------------------------------------------- registerDevice

    function test_registerDevice_secp256k1_succeeds() public {
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceRegistered(secp.id, KeyScheme.Secp256k1, beneficiary, METADATA, secp.publicKey);
        vm.prank(registrar);
        address device = registry.registerDevice(KeyScheme.Secp256k1, secp.publicKey, beneficiary, METADATA);

        assertEq(device, vm.addr(secp.privateKey), "secp256k1 device id is the key's Ethereum address");
        IDeviceRegistry.Device memory d = registry.getDevice(device);
        assertEq(uint256(d.scheme), uint256(KeyScheme.Secp256k1), "scheme");
        assertEq(uint256(d.status), uint256(DeviceStatus.Active), "status");
        assertEq(d.registeredAt, T0, "registeredAt");
        assertEq(d.beneficiary, beneficiary, "beneficiary");
        assertEq(d.metadataHash, METADATA, "metadataHash");
        assertEq(abi.encodePacked(d.keyX, d.keyY), secp.publicKey, "key");
        assertEq(d.rotatedFrom, address(0), "rotatedFrom");
        assertEq(d.rotatedTo, address(0), "rotatedTo");
        assertEq(uint256(registry.statusOf(device)), uint256(DeviceStatus.Active), "statusOf");
        assertTrue(registry.isActiveAt(device, uint64(T0)), "active from registration");
        assertEq(registry.nonces(device), 0, "nonce");
    }

    function test_registerDevice_p256_succeeds() public {
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceRegistered(p256.id, KeyScheme.P256, beneficiary, METADATA, p256.publicKey);
        vm.prank(registrar);
        address device = registry.registerDevice(KeyScheme.P256, p256.publicKey, beneficiary, METADATA);

        assertEq(device, address(uint160(uint256(keccak256(p256.publicKey)))), "device id");
        IDeviceRegistry.Device memory d = registry.getDevice(device);
        assertEq(uint256(d.scheme), uint256(KeyScheme.P256), "scheme");
        assertEq(uint256(d.status), uint256(DeviceStatus.Active), "status");
        assertEq(abi.encodePacked(d.keyX, d.keyY), p256.publicKey, "key");
    }

    function test_registerDevice_notRegistrar_reverts() public {
        bytes32 role = registry.REGISTRAR_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        registry.registerDevice(KeyScheme.Secp256k1, secp.publicKey, beneficiary, METADATA);
    }

    function test_registerDevice_adminWithoutRegistrarRole_reverts() public {
        bytes32 role = registry.REGISTRAR_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, role));
        vm.prank(admin);
        registry.registerDevice(KeyScheme.Secp256k1, secp.publicKey, beneficiary, METADATA);
    }

    function test_registerDevice_wrongKeyLength_reverts() public {
        bytes memory short = abi.encodePacked(bytes32(uint256(1)), bytes31(0));
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidPublicKey.selector, KeyScheme.Secp256k1)
        );
        vm.prank(registrar);
        registry.registerDevice(KeyScheme.Secp256k1, short, beneficiary, METADATA);

        bytes memory prefixed = abi.encodePacked(hex"04", p256.publicKey);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidPublicKey.selector, KeyScheme.P256));
        vm.prank(registrar);
        registry.registerDevice(KeyScheme.P256, prefixed, beneficiary, METADATA);
    }

    function test_registerDevice_offCurveKey_reverts() public {
        bytes memory tweaked = abi.encodePacked(bytes32(uint256(bytes32(secp.publicKey)) ^ 1), _y(secp));
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidPublicKey.selector, KeyScheme.Secp256k1)
        );
        vm.prank(registrar);
        registry.registerDevice(KeyScheme.Secp256k1, tweaked, beneficiary, METADATA);

        // A valid key of one curve is not a point of the other.
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidPublicKey.selector, KeyScheme.P256));
        vm.prank(registrar);
        registry.registerDevice(KeyScheme.P256, secp.publicKey, beneficiary, METADATA);

        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidPublicKey.selector, KeyScheme.Secp256k1)
        );
        vm.prank(registrar);
        registry.registerDevice(KeyScheme.Secp256k1, new bytes(64), beneficiary, METADATA);

        // A coordinate at or above the field prime is not canonical: x = p would alias x = 0.
        bytes memory aliased = abi.encodePacked(
            bytes32(0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f),
            _y(secp)
        );
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidPublicKey.selector, KeyScheme.Secp256k1)
        );
        vm.prank(registrar);
        registry.registerDevice(KeyScheme.Secp256k1, aliased, beneficiary, METADATA);
    }

    function test_registerDevice_zeroBeneficiary_reverts() public {
        vm.expectRevert(IDeviceRegistry.DeviceRegistryZeroBeneficiary.selector);
        vm.prank(registrar);
        registry.registerDevice(KeyScheme.Secp256k1, secp.publicKey, address(0), METADATA);
    }

    function test_registerDevice_alreadyRegistered_reverts() public {
        register(secp);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryAlreadyRegistered.selector, secp.id));
        vm.prank(registrar);
        registry.registerDevice(KeyScheme.Secp256k1, secp.publicKey, beneficiary, METADATA);
    }

    function test_registerDevice_afterRevocation_reverts() public {
        register(p256);
        vm.prank(registrar);
        registry.revokeDevice(p256.id);

        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryAlreadyRegistered.selector, p256.id));
        vm.prank(registrar);
        registry.registerDevice(KeyScheme.P256, p256.publicKey, beneficiary, METADATA);
    }

    // ---------------------------------------------------------------- suspend / resume / revoke

    function test_suspendDevice_active_succeeds() public {
        register(secp);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceSuspended(secp.id);
        vm.prank(registrar);
        registry.suspendDevice(secp.id);
        assertEq(uint256(registry.statusOf(secp.id)), uint256(DeviceStatus.Suspended), "status");
    }

    function test_suspendDevice_suspended_reverts() public {
        register(secp);
        vm.prank(registrar);
        registry.suspendDevice(secp.id);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDeviceRegistry.DeviceRegistryInvalidStatus.selector,
                secp.id,
                DeviceStatus.Suspended
            )
        );
        vm.prank(registrar);
        registry.suspendDevice(secp.id);
    }

    function test_suspendDevice_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, secp.id));
        vm.prank(registrar);
        registry.suspendDevice(secp.id);
    }

    function test_suspendDevice_notRegistrar_reverts() public {
        register(secp);
        bytes32 role = registry.REGISTRAR_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        registry.suspendDevice(secp.id);
    }

    function test_resumeDevice_suspended_succeeds() public {
        register(p256);
        vm.prank(registrar);
        registry.suspendDevice(p256.id);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceResumed(p256.id);
        vm.prank(registrar);
        registry.resumeDevice(p256.id);
        assertEq(uint256(registry.statusOf(p256.id)), uint256(DeviceStatus.Active), "status");
    }

    function test_resumeDevice_active_reverts() public {
        register(p256);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidStatus.selector, p256.id, DeviceStatus.Active)
        );
        vm.prank(registrar);
        registry.resumeDevice(p256.id);
    }

    function test_resumeDevice_revoked_reverts() public {
        register(p256);
        vm.startPrank(registrar);
        registry.suspendDevice(p256.id);
        registry.revokeDevice(p256.id);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidStatus.selector, p256.id, DeviceStatus.Revoked)
        );
        registry.resumeDevice(p256.id);
        vm.stopPrank();
    }

    function test_resumeDevice_notRegistrar_reverts() public {
        register(p256);
        vm.prank(registrar);
        registry.suspendDevice(p256.id);
        bytes32 role = registry.REGISTRAR_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        registry.resumeDevice(p256.id);
    }

    function test_revokeDevice_active_succeeds() public {
        register(secp);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceRevoked(secp.id);
        vm.prank(registrar);
        registry.revokeDevice(secp.id);
        assertEq(uint256(registry.statusOf(secp.id)), uint256(DeviceStatus.Revoked), "status");
    }

    function test_revokeDevice_suspended_succeeds() public {
        register(secp);
        vm.startPrank(registrar);
        registry.suspendDevice(secp.id);
        registry.revokeDevice(secp.id);
        vm.stopPrank();
        assertEq(uint256(registry.statusOf(secp.id)), uint256(DeviceStatus.Revoked), "status");
    }

    function test_revokeDevice_rotated_succeeds() public {
        register(secp);
        _rotate(secp, p256);
        vm.prank(registrar);
        registry.revokeDevice(secp.id);
        assertEq(uint256(registry.statusOf(secp.id)), uint256(DeviceStatus.Revoked), "old key revoked");
        assertEq(uint256(registry.statusOf(p256.id)), uint256(DeviceStatus.Active), "new key untouched");
    }

    function test_revokeDevice_revoked_reverts() public {
        register(secp);
        vm.startPrank(registrar);
        registry.revokeDevice(secp.id);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidStatus.selector, secp.id, DeviceStatus.Revoked)
        );
        registry.revokeDevice(secp.id);
        vm.stopPrank();
    }

    function test_revokeDevice_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, secp.id));
        vm.prank(registrar);
        registry.revokeDevice(secp.id);
    }

    function test_revokeDevice_notRegistrar_reverts() public {
        register(secp);
        bytes32 role = registry.REGISTRAR_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, relayer, role));
        vm.prank(relayer);
        registry.revokeDevice(secp.id);
    }

    // ---------------------------------------------------------------- statusAt

    function test_statusAt_beforeAndAfterEachChange_succeeds() public {
        register(secp); // T0
        vm.warp(T0 + 100);
        vm.prank(registrar);
        registry.suspendDevice(secp.id);
        vm.warp(T0 + 200);
        vm.prank(registrar);
        registry.resumeDevice(secp.id);
        vm.warp(T0 + 300);
        vm.prank(registrar);
        registry.revokeDevice(secp.id);
        vm.warp(T0 + 10_000);

        _assertStatusAt(secp.id, T0 - 1, DeviceStatus.Unknown);
        _assertStatusAt(secp.id, T0, DeviceStatus.Active);
        _assertStatusAt(secp.id, T0 + 99, DeviceStatus.Active);
        _assertStatusAt(secp.id, T0 + 100, DeviceStatus.Suspended);
        _assertStatusAt(secp.id, T0 + 199, DeviceStatus.Suspended);
        _assertStatusAt(secp.id, T0 + 200, DeviceStatus.Active);
        _assertStatusAt(secp.id, T0 + 299, DeviceStatus.Active);
        _assertStatusAt(secp.id, T0 + 300, DeviceStatus.Revoked);
        _assertStatusAt(secp.id, T0 + 20_000, DeviceStatus.Revoked);
        _assertStatusAt(secp.id, type(uint64).max, DeviceStatus.Revoked);
        _assertStatusAt(secp.id, 0, DeviceStatus.Unknown);

        assertFalse(registry.isActiveAt(secp.id, uint64(T0 - 1)), "not active before registration");
        assertTrue(registry.isActiveAt(secp.id, uint64(T0 + 99)), "active before suspension");
        assertFalse(registry.isActiveAt(secp.id, uint64(T0 + 150)), "not active while suspended");
        assertTrue(registry.isActiveAt(secp.id, uint64(T0 + 250)), "active after resumption");
        assertFalse(registry.isActiveAt(secp.id, uint64(T0 + 300)), "not active from revocation");
    }

    function test_statusAt_rotation_succeeds() public {
        register(secp);
        vm.warp(T0 + 50);
        _rotate(secp, p256);

        _assertStatusAt(secp.id, T0 + 49, DeviceStatus.Active);
        _assertStatusAt(secp.id, T0 + 50, DeviceStatus.Rotated);
        _assertStatusAt(p256.id, T0 + 49, DeviceStatus.Unknown);
        _assertStatusAt(p256.id, T0 + 50, DeviceStatus.Active);
    }

    function test_statusAt_sameSecondChanges_succeeds() public {
        register(secp);
        vm.warp(T0 + 10);
        vm.startPrank(registrar);
        registry.suspendDevice(secp.id);
        registry.resumeDevice(secp.id);
        registry.suspendDevice(secp.id);
        vm.stopPrank();
        _assertStatusAt(secp.id, T0 + 9, DeviceStatus.Active);
        _assertStatusAt(secp.id, T0 + 10, DeviceStatus.Suspended);
    }

    function test_statusAt_unknownDevice_succeeds() public view {
        _assertStatusAt(stranger, T0, DeviceStatus.Unknown);
        assertFalse(registry.isActiveAt(stranger, uint64(T0)), "unknown is not active");
        assertEq(uint256(registry.statusOf(stranger)), uint256(DeviceStatus.Unknown), "statusOf");
        assertEq(registry.getDevice(stranger).beneficiary, address(0), "zero device");
    }

    // ---------------------------------------------------------------- rotateKey

    function test_rotateKey_secp256k1ToP256_succeeds() public {
        register(secp);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, p256, 0, deadline));

        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceRegistered(p256.id, KeyScheme.P256, beneficiary, METADATA, p256.publicKey);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceKeyRotated(secp.id, p256.id, KeyScheme.P256);
        vm.prank(stranger); // anyone relays
        address newDevice = registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, sig);

        assertEq(newDevice, p256.id, "new device id");
        IDeviceRegistry.Device memory oldD = registry.getDevice(secp.id);
        IDeviceRegistry.Device memory newD = registry.getDevice(p256.id);
        assertEq(uint256(oldD.status), uint256(DeviceStatus.Rotated), "old rotated");
        assertEq(oldD.rotatedTo, p256.id, "old -> new");
        assertEq(uint256(newD.status), uint256(DeviceStatus.Active), "new active");
        assertEq(uint256(newD.scheme), uint256(KeyScheme.P256), "new scheme");
        assertEq(newD.rotatedFrom, secp.id, "new -> old");
        assertEq(newD.beneficiary, beneficiary, "beneficiary carried over");
        assertEq(newD.metadataHash, METADATA, "metadata carried over");
        assertEq(registry.nonces(secp.id), 1, "old nonce used");
        assertEq(registry.nonces(p256.id), 0, "new nonce fresh");
    }

    function test_rotateKey_p256ToSecp256k1_succeeds() public {
        register(p256);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(p256, rotateDigest(p256.id, secp, 0, deadline));
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceKeyRotated(p256.id, secp.id, KeyScheme.Secp256k1);
        address newDevice = registry.rotateKey(p256.id, KeyScheme.Secp256k1, secp.publicKey, deadline, sig);

        assertEq(newDevice, secp.id, "new device id");
        assertEq(uint256(registry.statusOf(p256.id)), uint256(DeviceStatus.Rotated), "old rotated");
        assertEq(uint256(registry.statusOf(secp.id)), uint256(DeviceStatus.Active), "new active");
        assertEq(registry.getDevice(secp.id).rotatedFrom, p256.id, "link");
    }

    function test_rotateKey_chainOfRotations_succeeds() public {
        DeviceKey memory third = p256Key(0xC0FFEE);
        register(secp);
        _rotate(secp, p256);
        _rotate(p256, third);
        assertEq(registry.getDevice(third.id).rotatedFrom, p256.id, "third <- second");
        assertEq(registry.getDevice(p256.id).rotatedTo, third.id, "second -> third");
        assertEq(registry.getDevice(p256.id).rotatedFrom, secp.id, "second <- first");
        assertEq(registry.getDevice(third.id).beneficiary, beneficiary, "beneficiary carried over twice");
    }

    function test_rotateKey_expiredDeadline_reverts() public {
        register(secp);
        uint256 deadline = T0 + 60;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, p256, 0, deadline));
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryExpiredSignature.selector, deadline));
        registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, sig);
    }

    function test_rotateKey_atDeadline_succeeds() public {
        register(secp);
        uint256 deadline = T0 + 60;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, p256, 0, deadline));
        vm.warp(deadline);
        assertEq(registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, sig), p256.id, "rotated");
    }

    function test_rotateKey_replayed_reverts() public {
        register(secp);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, p256, 0, deadline));
        registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, sig);

        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotActive.selector, secp.id, uint64(T0))
        );
        registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, sig);
    }

    function test_rotateKey_usedNonce_reverts() public {
        register(secp);
        uint256 deadline = T0 + 1 hours;
        bytes memory rotateSig = signDigest(secp, rotateDigest(secp.id, p256, 0, deadline));
        // Nonce 0 goes to a metadata update first.
        bytes memory updateSig = signDigest(secp, metadataDigest(secp.id, bytes32("v2"), 0, deadline));
        registry.updateMetadata(secp.id, bytes32("v2"), deadline, updateSig);

        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, secp.id));
        registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, rotateSig);
    }

    function test_rotateKey_wrongSigner_reverts() public {
        register(secp);
        DeviceKey memory other = secpKey(0xBAD);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(other, rotateDigest(secp.id, p256, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, secp.id));
        registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, sig);
    }

    function test_rotateKey_otherNewKeyThanSigned_reverts() public {
        register(secp);
        DeviceKey memory other = p256Key(0xE11E);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, p256, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, secp.id));
        registry.rotateKey(secp.id, KeyScheme.P256, other.publicKey, deadline, sig);
    }

    function test_rotateKey_wrongChainId_reverts() public {
        register(p256);
        uint256 deadline = T0 + 1 hours;
        bytes32 digest = typedDigest(
            domainSeparator("SensorSeal Registry", block.chainid + 1, address(registry)),
            keccak256(
                abi.encode(ROTATE_KEY_TYPEHASH, p256.id, uint8(secp.scheme), keccak256(secp.publicKey), 0, deadline)
            )
        );
        bytes memory sig = signDigest(p256, digest);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, p256.id));
        registry.rotateKey(p256.id, KeyScheme.Secp256k1, secp.publicKey, deadline, sig);
    }

    function test_rotateKey_suspended_reverts() public {
        register(secp);
        vm.prank(registrar);
        registry.suspendDevice(secp.id);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, p256, 0, deadline));
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotActive.selector, secp.id, uint64(T0))
        );
        registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, sig);
    }

    function test_rotateKey_unknownDevice_reverts() public {
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, p256, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, secp.id));
        registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, sig);
    }

    function test_rotateKey_toRegisteredKey_reverts() public {
        register(secp);
        register(p256);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, p256, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryAlreadyRegistered.selector, p256.id));
        registry.rotateKey(secp.id, KeyScheme.P256, p256.publicKey, deadline, sig);
    }

    function test_rotateKey_toSameKey_reverts() public {
        register(secp);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, secp, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryAlreadyRegistered.selector, secp.id));
        registry.rotateKey(secp.id, KeyScheme.Secp256k1, secp.publicKey, deadline, sig);
    }

    function test_rotateKey_invalidNewKey_reverts() public {
        register(secp);
        DeviceKey memory bad = p256;
        bad.publicKey = new bytes(64);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, rotateDigest(secp.id, bad, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidPublicKey.selector, KeyScheme.P256));
        registry.rotateKey(secp.id, KeyScheme.P256, bad.publicKey, deadline, sig);
    }

    function test_rotateKey_highS_reverts() public {
        register(p256);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = highS(p256, signDigest(p256, rotateDigest(p256.id, secp, 0, deadline)));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, p256.id));
        registry.rotateKey(p256.id, KeyScheme.Secp256k1, secp.publicKey, deadline, sig);
    }

    // ---------------------------------------------------------------- updateMetadata

    function test_updateMetadata_secp256k1_succeeds() public {
        _assertUpdateMetadataSucceeds(secp);
    }

    function test_updateMetadata_p256_succeeds() public {
        _assertUpdateMetadataSucceeds(p256);
    }

    function test_updateMetadata_expiredDeadline_reverts() public {
        register(p256);
        uint256 deadline = T0 - 1;
        bytes memory sig = signDigest(p256, metadataDigest(p256.id, bytes32("v2"), 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryExpiredSignature.selector, deadline));
        registry.updateMetadata(p256.id, bytes32("v2"), deadline, sig);
    }

    function test_updateMetadata_replayedNonce_reverts() public {
        register(p256);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(p256, metadataDigest(p256.id, bytes32("v2"), 0, deadline));
        registry.updateMetadata(p256.id, bytes32("v2"), deadline, sig);

        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, p256.id));
        registry.updateMetadata(p256.id, bytes32("v2"), deadline, sig);
    }

    function test_updateMetadata_replayedNonceSecp256k1_reverts() public {
        register(secp);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, metadataDigest(secp.id, bytes32("v2"), 0, deadline));
        registry.updateMetadata(secp.id, bytes32("v2"), deadline, sig);

        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, secp.id));
        registry.updateMetadata(secp.id, bytes32("v2"), deadline, sig);
    }

    function test_updateMetadata_futureNonce_reverts() public {
        register(secp);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, metadataDigest(secp.id, bytes32("v2"), 1, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, secp.id));
        registry.updateMetadata(secp.id, bytes32("v2"), deadline, sig);
    }

    function test_updateMetadata_wrongSigner_reverts() public {
        register(secp);
        register(p256);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(p256, metadataDigest(secp.id, bytes32("v2"), 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, secp.id));
        registry.updateMetadata(secp.id, bytes32("v2"), deadline, sig);
    }

    function test_updateMetadata_otherHashThanSigned_reverts() public {
        register(secp);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, metadataDigest(secp.id, bytes32("v2"), 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, secp.id));
        registry.updateMetadata(secp.id, bytes32("v3"), deadline, sig);
    }

    function test_updateMetadata_revoked_reverts() public {
        register(secp);
        vm.prank(registrar);
        registry.revokeDevice(secp.id);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, metadataDigest(secp.id, bytes32("v2"), 0, deadline));
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotActive.selector, secp.id, uint64(T0))
        );
        registry.updateMetadata(secp.id, bytes32("v2"), deadline, sig);
    }

    function test_updateMetadata_wrongContract_reverts() public {
        register(secp);
        uint256 deadline = T0 + 1 hours;
        bytes32 digest = typedDigest(
            domainSeparator("SensorSeal Registry", block.chainid, address(anchor)),
            keccak256(abi.encode(UPDATE_METADATA_TYPEHASH, secp.id, bytes32("v2"), 0, deadline))
        );
        bytes memory sig = signDigest(secp, digest);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, secp.id));
        registry.updateMetadata(secp.id, bytes32("v2"), deadline, sig);
    }

    // ---------------------------------------------------------------- isValidDeviceSignature

    function test_isValidDeviceSignature_bothSchemes_succeeds() public {
        register(secp);
        register(p256);
        bytes32 digest = keccak256("digest");
        assertTrue(registry.isValidDeviceSignature(secp.id, digest, signDigest(secp, digest)), "secp256k1");
        assertTrue(registry.isValidDeviceSignature(p256.id, digest, signDigest(p256, digest)), "p256");
    }

    function test_isValidDeviceSignature_invalidSignature_succeeds() public {
        register(secp);
        register(p256);
        bytes32 digest = keccak256("digest");
        bytes memory secpSig = signDigest(secp, digest);
        bytes memory p256Sig = signDigest(p256, digest);

        assertFalse(registry.isValidDeviceSignature(secp.id, digest, highS(secp, secpSig)), "secp256k1 high-s");
        assertFalse(registry.isValidDeviceSignature(p256.id, digest, highS(p256, p256Sig)), "p256 high-s");
        assertFalse(registry.isValidDeviceSignature(secp.id, digest, p256Sig), "64 bytes for secp256k1");
        assertFalse(registry.isValidDeviceSignature(p256.id, digest, secpSig), "65 bytes for p256");
        assertFalse(registry.isValidDeviceSignature(secp.id, keccak256("other"), secpSig), "other digest");
        assertFalse(registry.isValidDeviceSignature(p256.id, keccak256("other"), p256Sig), "other digest p256");
        assertFalse(registry.isValidDeviceSignature(secp.id, digest, ""), "empty");
        assertFalse(registry.isValidDeviceSignature(p256.id, digest, new bytes(64)), "zero p256");
        assertFalse(registry.isValidDeviceSignature(secp.id, digest, new bytes(65)), "zero secp256k1");
    }

    function test_isValidDeviceSignature_unknownDevice_succeeds() public view {
        bytes32 digest = keccak256("digest");
        // A valid secp256k1 signature of an unregistered key does not count.
        assertFalse(registry.isValidDeviceSignature(secp.id, digest, signDigest(secp, digest)), "unknown");
    }

    function test_isValidDeviceSignature_revokedKey_succeeds() public {
        register(secp);
        vm.prank(registrar);
        registry.revokeDevice(secp.id);
        bytes32 digest = keccak256("digest");
        // Key check only: the status is the caller's business.
        assertTrue(registry.isValidDeviceSignature(secp.id, digest, signDigest(secp, digest)), "key still matches");
    }

    function test_supportsInterface_succeeds() public view {
        assertTrue(registry.supportsInterface(type(IDeviceRegistry).interfaceId), "IDeviceRegistry");
        assertTrue(registry.supportsInterface(type(IAccessControl).interfaceId), "IAccessControl");
        assertFalse(registry.supportsInterface(0xffffffff), "invalid id");
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_registerDevice_secp256k1IdIsAddress(uint256 privateKey) public {
        privateKey = bound(privateKey, 1, SECP256K1_N - 1);
        DeviceKey memory key = secpKey(privateKey); // checks the id against vm.addr
        vm.assume(registry.statusOf(key.id) == DeviceStatus.Unknown);
        assertEq(register(key), vm.addr(privateKey), "device id");
        bytes32 digest = keccak256(abi.encode(privateKey));
        assertTrue(registry.isValidDeviceSignature(key.id, digest, signDigest(key, digest)), "signature");
    }

    function testFuzz_registerDevice_p256(uint256 privateKey) public {
        privateKey = bound(privateKey, 1, P256_N - 1);
        DeviceKey memory key = p256Key(privateKey);
        register(key);
        bytes32 digest = keccak256(abi.encode(privateKey));
        assertTrue(registry.isValidDeviceSignature(key.id, digest, signDigest(key, digest)), "signature");
        assertFalse(registry.isValidDeviceSignature(key.id, digest, highS(key, signDigest(key, digest))), "high-s");
    }

    function testFuzz_registerDevice_offCurveKey_reverts(bytes32 x, bytes32 y, bool isP256) public {
        KeyScheme scheme = isP256 ? KeyScheme.P256 : KeyScheme.Secp256k1;
        // The chance that random coordinates are a curve point is negligible.
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidPublicKey.selector, scheme));
        vm.prank(registrar);
        registry.registerDevice(scheme, abi.encodePacked(x, y), beneficiary, METADATA);
    }

    /// @dev A random timeline of status changes; statusAt at, just before and long after each change matches.
    function testFuzz_statusAt_matchesHistory(uint8[6] memory actions, uint16[6] memory gaps) public {
        register(secp);
        uint256[] memory times = new uint256[](7);
        DeviceStatus[] memory statuses = new DeviceStatus[](7);
        times[0] = T0;
        statuses[0] = DeviceStatus.Active;
        uint256 count = 1;
        uint256 t = T0;
        for (uint256 i = 0; i < actions.length; ++i) {
            t += 1 + uint256(gaps[i]);
            vm.warp(t);
            DeviceStatus current = registry.statusOf(secp.id);
            DeviceStatus next = current;
            vm.startPrank(registrar);
            uint256 a = actions[i] % 3;
            if (a == 0 && current == DeviceStatus.Active) {
                registry.suspendDevice(secp.id);
                next = DeviceStatus.Suspended;
            } else if (a == 1 && current == DeviceStatus.Suspended) {
                registry.resumeDevice(secp.id);
                next = DeviceStatus.Active;
            } else if (a == 2 && current != DeviceStatus.Revoked && actions[i] % 2 == 0) {
                registry.revokeDevice(secp.id);
                next = DeviceStatus.Revoked;
            }
            vm.stopPrank();
            if (next != current) {
                times[count] = t;
                statuses[count] = next;
                ++count;
            }
        }
        _assertStatusAt(secp.id, T0 - 1, DeviceStatus.Unknown);
        for (uint256 i = 0; i < count; ++i) {
            _assertStatusAt(secp.id, times[i], statuses[i]);
            if (i > 0) _assertStatusAt(secp.id, times[i] - 1, statuses[i - 1]);
        }
        _assertStatusAt(secp.id, t + 1_000_000, statuses[count - 1]);
    }

    function testFuzz_revokeDevice_neverActiveAgain(uint32 revokeAfter, uint32 probeAfter, uint32 laterAfter) public {
        register(p256);
        uint256 revokedAt = T0 + revokeAfter;
        vm.warp(revokedAt);
        vm.prank(registrar);
        registry.revokeDevice(p256.id);
        vm.warp(revokedAt + uint256(laterAfter));

        assertFalse(registry.isActiveAt(p256.id, uint64(revokedAt + probeAfter)), "inactive from revocation");
        vm.startPrank(registrar);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidStatus.selector, p256.id, DeviceStatus.Revoked)
        );
        registry.resumeDevice(p256.id);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidStatus.selector, p256.id, DeviceStatus.Revoked)
        );
        registry.suspendDevice(p256.id);
        vm.stopPrank();
    }

    function testFuzz_updateMetadata_onlyCurrentNonce(uint256 nonce, bytes32 metadataHash) public {
        register(secp);
        uint256 deadline = T0 + 1 hours;
        bytes memory sig = signDigest(secp, metadataDigest(secp.id, metadataHash, nonce, deadline));
        if (nonce != 0) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, secp.id));
        }
        registry.updateMetadata(secp.id, metadataHash, deadline, sig);
        assertEq(registry.nonces(secp.id), nonce == 0 ? 1 : 0, "nonce consumed only on success");
    }

    function testFuzz_updateMetadata_deadline(uint32 deadlineOffset, uint32 submitOffset) public {
        register(p256);
        uint256 deadline = T0 + deadlineOffset;
        bytes memory sig = signDigest(p256, metadataDigest(p256.id, bytes32("v2"), 0, deadline));
        vm.warp(T0 + submitOffset);
        if (T0 + submitOffset > deadline) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryExpiredSignature.selector, deadline));
        }
        registry.updateMetadata(p256.id, bytes32("v2"), deadline, sig);
    }

    function testFuzz_isValidDeviceSignature_randomBytes_returnsFalse(bytes memory signature, bytes32 digest) public {
        register(secp);
        register(p256);
        assertFalse(registry.isValidDeviceSignature(secp.id, digest, signature), "secp256k1");
        assertFalse(registry.isValidDeviceSignature(p256.id, digest, signature), "p256");
    }

    // ---------------------------------------------------------------- helpers

    function _rotate(DeviceKey memory from, DeviceKey memory to) internal {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signDigest(from, rotateDigest(from.id, to, registry.nonces(from.id), deadline));
        registry.rotateKey(from.id, to.scheme, to.publicKey, deadline, sig);
    }

    function _assertUpdateMetadataSucceeds(DeviceKey memory key) internal {
        register(key);
        uint256 deadline = T0 + 1 hours;
        bytes32 v2 = keccak256("metadata v2");
        bytes memory sig = signDigest(key, metadataDigest(key.id, v2, 0, deadline));
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceMetadataUpdated(key.id, v2);
        vm.prank(stranger);
        registry.updateMetadata(key.id, v2, deadline, sig);
        assertEq(registry.getDevice(key.id).metadataHash, v2, "metadata");
        assertEq(registry.nonces(key.id), 1, "nonce");

        bytes32 v3 = keccak256("metadata v3");
        sig = signDigest(key, metadataDigest(key.id, v3, 1, deadline));
        registry.updateMetadata(key.id, v3, deadline, sig);
        assertEq(registry.getDevice(key.id).metadataHash, v3, "metadata v3");
        assertEq(registry.nonces(key.id), 2, "nonce 2");
    }

    function _assertStatusAt(address device, uint256 timestamp, DeviceStatus expected) internal view {
        assertEq(uint256(registry.statusAt(device, uint64(timestamp))), uint256(expected), "statusAt");
    }

    function _y(DeviceKey memory key) internal pure returns (bytes32 y) {
        bytes memory pub = key.publicKey;
        assembly ("memory-safe") {
            y := mload(add(pub, 0x40))
        }
    }
}
